// Package config holds vulntune's YAML configuration: the original plan's
// keys (config/olmo-security-config.yaml) read unchanged, vulntune's own
// additions, environment overrides and defaults (DESIGN.md §5).
package config

import "path/filepath"

// Config is the effective configuration. Field tags are the YAML keys.
type Config struct {
	BaseModelsDir      string     `yaml:"base_models_dir"`
	FineTunedModelsDir string     `yaml:"fine_tuned_models_dir"`
	DefaultBaseModel   string     `yaml:"default_base_model"`
	FineTuning         FineTuning `yaml:"fine_tuning"`

	// vulntune additions.

	// DataDir holds the engine virtual environment, caches and state
	// (XDG data dir on Linux, ~/Library/Application Support on macOS).
	DataDir  string   `yaml:"data_dir"`
	Engine   Engine   `yaml:"engine"`
	Dataset  Dataset  `yaml:"dataset"`
	Analysis Analysis `yaml:"analysis"`
	GitHub   GitHub   `yaml:"github"`
	Daemon   Daemon   `yaml:"daemon"`

	// Sections of the plan's file that vulntune accepts so an existing file
	// keeps loading, but does not use (see compat.go).
	KnowledgeBase  KnowledgeBase  `yaml:"knowledge_base"`
	PlanValidation PlanValidation `yaml:"validation"`
	MultiDomain    MultiDomain    `yaml:"multi_domain"`

	// Tokens come only from the environment, never from the file.
	HFToken     Secret `yaml:"-"`
	GitHubToken Secret `yaml:"-"`

	// st remembers where each value came from, so flags applied after Load
	// re-resolve against the same file and environment.
	// Warnings are problems that do not stop vulntune: VULNTUNE_* variables
	// nothing reads (with the likely intended one). Callers log them.
	Warnings []string `yaml:"-"`

	st *state
}

// FineTuning is the plan's fine_tuning section.
type FineTuning struct {
	SkipInDaemon      bool        `yaml:"skip_in_daemon"`
	WorkspaceDir      string      `yaml:"workspace_dir"`
	DefaultOutputName string      `yaml:"default_output_name"`
	Training          Training    `yaml:"training"`
	LoRA              LoRA        `yaml:"lora"`
	MLX               MLX         `yaml:"mlx"`
	Evaluation        Evaluation  `yaml:"evaluation"`
	HuggingFace       HuggingFace `yaml:"huggingface"`
	// Sequential is the plan's two-stage training section (compatibility).
	Sequential Sequential `yaml:"sequential"`
}

// Training holds optimiser and schedule settings.
type Training struct {
	LearningRate float64 `yaml:"learning_rate"`
	BatchSize    int     `yaml:"batch_size"`
	MaxEpochs    int     `yaml:"max_epochs"`
	// MaxSteps, when not 0, bounds training instead of MaxEpochs.
	MaxSteps    int `yaml:"max_steps"`
	WarmupSteps int `yaml:"warmup_steps"`
	SaveSteps   int `yaml:"save_steps"`
	EvalSteps   int `yaml:"eval_steps"`

	// The plan's two-stage schedule; accepted for compatibility.
	MaxStage1Iters     int     `yaml:"max_stage1_iters"`
	MaxStage2Iters     int     `yaml:"max_stage2_iters"`
	Stage1LearningRate float64 `yaml:"stage1_learning_rate"`
	Stage2LearningRate float64 `yaml:"stage2_learning_rate"`
	Stage1ReplayRatio  float64 `yaml:"stage1_replay_ratio"`
}

// Evaluation bounds the held-out evaluation after fine-tuning, for the
// runs that take no flags (the daemon's); a command's flags win.
type Evaluation struct {
	MaxExamples int `yaml:"max_examples"` // 0 = the whole held-out split
	MaxTokens   int `yaml:"max_tokens"`   // 0 = from the reference answers (evaluate.BoundFromReferences)
}

// LoRA holds adapter settings. mlx-lm's scale is Alpha/Rank.
type LoRA struct {
	Rank          int      `yaml:"rank"`
	Alpha         float64  `yaml:"alpha"`
	Dropout       float64  `yaml:"dropout"`
	TargetModules []string `yaml:"target_modules"`
	NumLayers     int      `yaml:"num_layers"`
}

// MLX holds backend settings.
type MLX struct {
	Quantization          string `yaml:"quantization"`
	MemoryEfficient       bool   `yaml:"memory_efficient"`
	GradientCheckpointing bool   `yaml:"gradient_checkpointing"`
}

// HuggingFace holds publishing settings.
type HuggingFace struct {
	UploadEnabled     bool   `yaml:"upload_enabled"`
	DefaultRepoPrefix string `yaml:"default_repo_prefix"`
	PrivateRepos      bool   `yaml:"private_repos"`
	// Endpoint is the Hub's URL (HF_ENDPOINT); a self-hosted Hub works.
	Endpoint string `yaml:"endpoint"`
	// SkipInDaemon keeps the daemon from publishing; manual runs still may.
	// The plan's file put skip_in_daemon here, where its code never read it.
	SkipInDaemon bool `yaml:"skip_in_daemon"`
	// UploadStagingDir is the plan's staging folder; accepted for
	// compatibility (vulntune stages next to the model instead).
	UploadStagingDir string `yaml:"upload_staging_dir"`
}

// Engine configures the Python engine.
type Engine struct {
	// Python is the interpreter used to create the venv ("" = search PATH).
	Python string `yaml:"python"`
	// Backend is "auto", "metal", "cpu" or "cuda".
	Backend string `yaml:"backend"`
}

// Dataset configures dataset building.
type Dataset struct {
	ValidFraction float64 `yaml:"valid_fraction"`
	TestFraction  float64 `yaml:"test_fraction"`
	Seed          int64   `yaml:"seed"`
	MaxPerRule    int     `yaml:"max_per_rule"`
	Strict        bool    `yaml:"strict"`
	Augment       Augment `yaml:"augment"`
}

// Augment configures identifier augmentation of the training split: how
// many identifier-replaced copies each training example gets, and the
// catalogue replacements are drawn from (internal/augment).
type Augment struct {
	// Copies every training example gets (0 with MaxCopies 0: none).
	Copies int `yaml:"copies"`
	// MaxCopies bounds the copies of examples of small kind/tool buckets,
	// which get more so the training mix is more even.
	MaxCopies   int             `yaml:"max_copies"`
	Packages    AugmentPackages `yaml:"packages"`
	Directories []string        `yaml:"directories"`
	FileStems   []string        `yaml:"file_stems"`
	RuleNames   []string        `yaml:"rule_names"`
	// RuleNamespaces and RuleNamespaceShare: the share of the copies of
	// code findings whose rule ids take a "namespace/" prefix, as ESLint's
	// and CodeQL's do.
	RuleNamespaces     []string `yaml:"rule_namespaces"`
	RuleNamespaceShare float64  `yaml:"rule_namespace_share"`
	// StemQualifiers and StemQualifierShare: the share of the copies of
	// code and config findings whose files take a second dot
	// (name.pb.go, name.min.js).
	StemQualifiers     []string `yaml:"stem_qualifiers"`
	StemQualifierShare float64  `yaml:"stem_qualifier_share"`
	// CWEs are the ids CWEs are replaced with (empty: every weakness of
	// the shipped catalogue that MITRE has not deprecated); a CWE takes a
	// relative among them when it has one (internal/augment).
	CWEs []string `yaml:"cwes"`
	// Ecosystems are the ecosystems a dependency copy may move to, and
	// EcosystemShare the share of dependency copies that move (issue 16:
	// the samples' dependencies are all Gradle's).
	Ecosystems     []string `yaml:"ecosystems"`
	EcosystemShare float64  `yaml:"ecosystem_share"`
	// EcosystemCopies are the copies each dependency example that can
	// move gets besides, every one moved to the ecosystem with the fewest
	// training examples so far, so no build system dominates the fix
	// snippets the model learns.
	EcosystemCopies int `yaml:"ecosystem_copies"`
	// FixShare is the share of the copies of operating-system package
	// findings without a fix that gain one (the samples' have none).
	FixShare float64 `yaml:"fix_share"`
	// LineMoveShare is the share of the copies of dependency findings
	// whose fix is on the installed release line that move it to a later
	// one (two thirds of the samples' fixes are on the installed line).
	LineMoveShare float64 `yaml:"line_move_share"`
	// CWEDropShare and LineDropShare are the shares of the copies of
	// findings with a CWE, or a line, that lose it (in the samples whether
	// a finding has either follows its tool and kind).
	CWEDropShare  float64 `yaml:"cwe_drop_share"`
	LineDropShare float64 `yaml:"line_drop_share"`
	// LinkDropShare is the share of the copies of findings with a rule's
	// page that lose it (the samples' ZAP alerts all have one).
	LinkDropShare float64 `yaml:"link_drop_share"`
	// DirectoryShare is the share of the copies moved out of a lock file
	// that are located at its directory (a package found in no build
	// file: the samples have none outside Maven).
	DirectoryShare float64 `yaml:"directory_share"`
}

// AugmentPackages are replacement package names per ecosystem, each in
// its ecosystem's shape; Other serves every ecosystem without a list.
type AugmentPackages struct {
	Maven    []string `yaml:"maven"`
	NPM      []string `yaml:"npm"`
	PyPI     []string `yaml:"pypi"`
	Go       []string `yaml:"go"`
	Cargo    []string `yaml:"cargo"`
	RubyGems []string `yaml:"rubygems"`
	NuGet    []string `yaml:"nuget"`
	Composer []string `yaml:"composer"`
	Other    []string `yaml:"other"`
}

// Analysis configures the optional LLM analysis.
type Analysis struct {
	Endpoint    string `yaml:"endpoint"`
	Model       string `yaml:"model"`
	Concurrency int    `yaml:"concurrency"`
}

// GitHub configures the daemon's GitHub Actions source.
type GitHub struct {
	// APIURL is the REST API base; GitHub Enterprise Server serves it
	// at https://HOST/api/v3.
	APIURL string `yaml:"api_url"`
	// TokenFile holds the token for a daemon run as a service, which does
	// not see the shell's GH_TOKEN; the file must be private (0600).
	TokenFile        string   `yaml:"token_file"`
	Repos            []string `yaml:"repos"`
	Workflows        []string `yaml:"workflows"`
	Branches         []string `yaml:"branches"`
	ArtifactPatterns []string `yaml:"artifact_patterns"`
	// AllowForks lists repos whose runs from forks are read anyway.
	AllowForks []string `yaml:"allow_forks"`
}

// Daemon configures the poll loop.
type Daemon struct {
	Interval       string `yaml:"interval"` // a Go duration, e.g. 5m
	Backfill       string `yaml:"backfill"`
	FinetuneAfter  int    `yaml:"finetune_after"`
	MaxArtifactMiB int    `yaml:"max_artifact_mib"`
}

// Secret is a credential. It prints as set/unset, never its value.
type Secret string

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string {
	if s == "" {
		return "(unset)"
	}
	return "(set)"
}

// Value returns the raw credential, for the one HTTP client that sends it.
func (s Secret) Value() string { return string(s) }

// TempDir is where vulntune keeps temporary files (ingest's spill files,
// zip entries too large for memory): under the data dir rather than the
// system's temp dir, which may be a small tmpfs, and where leftovers of a
// killed process are found and removed by the next.
func (c *Config) TempDir() string { return filepath.Join(c.DataDir, "tmp") }
