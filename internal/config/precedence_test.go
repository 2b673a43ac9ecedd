package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/config"
)

// writeConfig writes a config file in a fresh directory and returns its path.
func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func source(t *testing.T, c *config.Config, key string) (string, any) {
	t.Helper()
	for _, s := range c.Settings() {
		if s.Key == key {
			return s.Source, s.Value
		}
	}
	t.Fatalf("no setting %q", key)
	return "", nil
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeConfig(t, dir, "fine_tuning:\n  lora:\n    rank: 16\n")
	tests := []struct {
		name       string
		path       string
		env        map[string]string
		flag       string // value for fine_tuning.lora.rank, "" = none
		wantRank   int
		wantSource string
	}{
		{name: "default", wantRank: 8, wantSource: "default"},
		{name: "file over default", path: file, wantRank: 16, wantSource: "file:" + file + ":3"},
		{name: "env over file", path: file, env: map[string]string{"VULNTUNE_FINE_TUNING_LORA_RANK": "32"},
			wantRank: 32, wantSource: "env:VULNTUNE_FINE_TUNING_LORA_RANK"},
		{name: "flag over env", path: file, env: map[string]string{"VULNTUNE_FINE_TUNING_LORA_RANK": "32"}, flag: "4",
			wantRank: 4, wantSource: "flag:--lora-rank"},
		{name: "empty env is unset", path: file, env: map[string]string{"VULNTUNE_FINE_TUNING_LORA_RANK": ""},
			wantRank: 16, wantSource: "file:" + file + ":3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(config.LoadOptions{Path: tt.path, Getenv: envOf(tt.env), HomeDir: t.TempDir(), GOOS: "linux"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.flag != "" {
				if err := c.SetFromFlag("fine_tuning.lora.rank", tt.flag); err != nil {
					t.Fatal(err)
				}
			}
			if c.FineTuning.LoRA.Rank != tt.wantRank {
				t.Errorf("rank = %d, want %d", c.FineTuning.LoRA.Rank, tt.wantRank)
			}
			if src, _ := source(t, c, "fine_tuning.lora.rank"); src != tt.wantSource {
				t.Errorf("source = %q, want %q", src, tt.wantSource)
			}
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		check   func(*config.Config) bool
		wantErr string
	}{
		{name: "path with tilde", env: map[string]string{"VULNTUNE_BASE_MODELS_DIR": "~/m"},
			check: func(c *config.Config) bool { return c.BaseModelsDir == "/home/test/m" }},
		{name: "relative env path resolves against the working directory", env: map[string]string{"VULNTUNE_DATA_DIR": "rel"},
			check: func(c *config.Config) bool {
				return c.DataDir == "/work/rel" && c.FineTuning.WorkspaceDir == "/work/rel/workspace"
			}},
		{name: "list comma separated", env: map[string]string{"VULNTUNE_FINE_TUNING_LORA_TARGET_MODULES": "q_proj, v_proj"},
			check: func(c *config.Config) bool {
				return strings.Join(c.FineTuning.LoRA.TargetModules, "|") == "q_proj|v_proj"
			}},
		{name: "list as YAML flow", env: map[string]string{"VULNTUNE_FINE_TUNING_LORA_TARGET_MODULES": `["q_proj"]`},
			check: func(c *config.Config) bool { return strings.Join(c.FineTuning.LoRA.TargetModules, "|") == "q_proj" }},
		{name: "bool", env: map[string]string{"VULNTUNE_FINE_TUNING_HUGGINGFACE_UPLOAD_ENABLED": "true"},
			check: func(c *config.Config) bool { return c.FineTuning.HuggingFace.UploadEnabled }},
		{name: "float", env: map[string]string{"VULNTUNE_FINE_TUNING_TRAINING_LEARNING_RATE": "2e-5"},
			check: func(c *config.Config) bool { return c.FineTuning.Training.LearningRate == 2e-5 }},
		{name: "mapping as JSON", env: map[string]string{"VULNTUNE_MULTI_DOMAIN_CATEGORY_WEIGHTS": `{"web": 1.5}`},
			check: func(c *config.Config) bool { return c.MultiDomain.CategoryWeights["web"] == 1.5 }},
		{name: "HF_TOKEN wins over HUGGING_FACE_HUB_TOKEN", env: map[string]string{"HF_TOKEN": "a", "HUGGING_FACE_HUB_TOKEN": "b"},
			check: func(c *config.Config) bool { return c.HFToken.Value() == "a" }},
		{name: "HF_ENDPOINT sets the Hub endpoint", env: map[string]string{"HF_ENDPOINT": "http://127.0.0.1:8080"},
			check: func(c *config.Config) bool { return c.FineTuning.HuggingFace.Endpoint == "http://127.0.0.1:8080" }},
		{name: "VULNTUNE_ endpoint wins over HF_ENDPOINT", env: map[string]string{"HF_ENDPOINT": "http://a", "VULNTUNE_FINE_TUNING_HUGGINGFACE_ENDPOINT": "http://b"},
			check: func(c *config.Config) bool { return c.FineTuning.HuggingFace.Endpoint == "http://b" }},
		{name: "HUGGING_FACE_HUB_TOKEN alone", env: map[string]string{"HUGGING_FACE_HUB_TOKEN": "b"},
			check: func(c *config.Config) bool { return c.HFToken.Value() == "b" }},
		{name: "GH_TOKEN wins over GITHUB_TOKEN", env: map[string]string{"GH_TOKEN": "g", "GITHUB_TOKEN": "h"},
			check: func(c *config.Config) bool { return c.GitHubToken.Value() == "g" }},
		{name: "GITHUB_TOKEN alone", env: map[string]string{"GITHUB_TOKEN": "h"},
			check: func(c *config.Config) bool { return c.GitHubToken.Value() == "h" }},
		{name: "bad integer names the variable", env: map[string]string{"VULNTUNE_FINE_TUNING_LORA_RANK": "eight"},
			wantErr: `environment variable VULNTUNE_FINE_TUNING_LORA_RANK (fine_tuning.lora.rank): expected an integer, got "eight"`},
		{name: "bad value names the variable", env: map[string]string{"VULNTUNE_ENGINE_BACKEND": "tpu"},
			wantErr: `environment variable VULNTUNE_ENGINE_BACKEND (engine.backend): must be one of auto, metal, cpu, cuda, got "tpu"`},
		{name: "bad bool", env: map[string]string{"VULNTUNE_FINE_TUNING_SKIP_IN_DAEMON": "sometimes"},
			wantErr: `environment variable VULNTUNE_FINE_TUNING_SKIP_IN_DAEMON (fine_tuning.skip_in_daemon): expected true or false`},
		{name: "NaN is not a number", env: map[string]string{"VULNTUNE_DATASET_VALID_FRACTION": "NaN"},
			wantErr: `VULNTUNE_DATASET_VALID_FRACTION (dataset.valid_fraction): expected a number`},
		{name: "split sum", env: map[string]string{"VULNTUNE_DATASET_VALID_FRACTION": "0.5", "VULNTUNE_DATASET_TEST_FRACTION": "0.5"},
			wantErr: "must be below 1"},
		{name: "augmentation defaults", env: nil,
			check: func(c *config.Config) bool {
				a := c.Dataset.Augment
				return a.Copies == 1 && a.MaxCopies == 3 && len(a.Packages.Maven) > 2 && len(a.Packages.Other) > 2 && len(a.CWEs) == 0
			}},
		{name: "augmentation off", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_COPIES": "0", "VULNTUNE_DATASET_AUGMENT_MAX_COPIES": "0"},
			check: func(c *config.Config) bool { return c.Dataset.Augment.Copies == 0 && c.Dataset.Augment.MaxCopies == 0 }},
		{name: "a replacement pool from the environment", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_PACKAGES_NPM": "@a/b, c-d"},
			check: func(c *config.Config) bool { return strings.Join(c.Dataset.Augment.Packages.NPM, "|") == "@a/b|c-d" }},
		{name: "CWE pool", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_CWES": "CWE-79,cwe-89"},
			check: func(c *config.Config) bool { return len(c.Dataset.Augment.CWEs) == 2 }},
		{name: "a CWE the catalogue lacks", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_CWES": "CWE-79,CWE-99999"},
			wantErr: `VULNTUNE_DATASET_AUGMENT_CWES (dataset.augment.cwes): "CWE-99999" is not a CWE id of the shipped catalogue`},
		{name: "a CWE category in the pool", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_CWES": "CWE-79,CWE-16"},
			wantErr: `VULNTUNE_DATASET_AUGMENT_CWES (dataset.augment.cwes): "CWE-16" is a category of the shipped catalogue (Configuration), not a weakness`},
		{name: "a deprecated CWE in the pool", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_CWES": "CWE-79,CWE-71"},
			wantErr: `VULNTUNE_DATASET_AUGMENT_CWES (dataset.augment.cwes): "CWE-71" is deprecated by MITRE (DEPRECATED: Apple '.DS_Store')`},
		{name: "a pool of one", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_DIRECTORIES": "api"},
			wantErr: `VULNTUNE_DATASET_AUGMENT_DIRECTORIES (dataset.augment.directories): must list at least two names, got 1`},
		{name: "ecosystem moves by default", env: nil,
			check: func(c *config.Config) bool {
				a := c.Dataset.Augment
				return a.EcosystemShare == 0.75 && a.FixShare == 0.5 && len(a.Ecosystems) == 8
			}},
		{name: "ecosystems in the ingesters' spellings", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_ECOSYSTEMS": "PyPI,crates.io", "VULNTUNE_DATASET_AUGMENT_ECOSYSTEM_SHARE": "1"},
			check: func(c *config.Config) bool {
				a := c.Dataset.Augment
				return strings.Join(a.Ecosystems, "|") == "PyPI|crates.io" && a.EcosystemShare == 1
			}},
		{name: "no ecosystem moves", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_ECOSYSTEM_SHARE": "0"},
			check: func(c *config.Config) bool { return c.Dataset.Augment.EcosystemShare == 0 }},
		{name: "an ecosystem no copy can move to", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_ECOSYSTEMS": "npm,debian"},
			wantErr: `VULNTUNE_DATASET_AUGMENT_ECOSYSTEMS (dataset.augment.ecosystems): "debian" is not one of cargo, composer, go, maven, npm, nuget, pypi, rubygems`},
		{name: "an ecosystem share above 1", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_ECOSYSTEM_SHARE": "1.5"},
			wantErr: `VULNTUNE_DATASET_AUGMENT_ECOSYSTEM_SHARE (dataset.augment.ecosystem_share): must be between 0 and 1, got 1.5`},
		{name: "max copies below copies", env: map[string]string{"VULNTUNE_DATASET_AUGMENT_COPIES": "2", "VULNTUNE_DATASET_AUGMENT_MAX_COPIES": "1"},
			wantErr: "dataset.augment.max_copies (1) must be 0 or at least dataset.augment.copies (2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(config.LoadOptions{Getenv: envOf(tt.env), HomeDir: home, GOOS: "linux", WorkDir: "/work"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("override not applied: %+v", c)
			}
		})
	}
}

func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	const token = "hf_ZZtopsecretZZ"
	c, err := config.Load(config.LoadOptions{Getenv: envOf(map[string]string{"HF_TOKEN": token}), HomeDir: home, GOOS: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	src, val := source(t, c, "hf_token")
	if src != "env:HF_TOKEN" || val != "(set)" {
		t.Errorf("hf_token = %v from %s, want (set) from env:HF_TOKEN", val, src)
	}
	if _, val := source(t, c, "github_token"); val != "(unset)" {
		t.Errorf("github_token = %v, want (unset)", val)
	}
	err = c.SetFromFlag("hf_token", token)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("SetFromFlag(hf_token) = %v; want an error that does not repeat the token", err)
	}
}

func TestSetFromFlag(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.LoadOptions{Getenv: noEnv, HomeDir: home, GOOS: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetFromFlag("data_dir", "~/elsewhere"); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/home/test/elsewhere" || c.FineTuning.WorkspaceDir != "/home/test/elsewhere/workspace" {
		t.Errorf("data_dir flag: data_dir %q workspace %q; the workspace default must follow data_dir", c.DataDir, c.FineTuning.WorkspaceDir)
	}
	err = c.SetFromFlag("fine_tuning.lora.rank", "-1")
	if err == nil || !strings.Contains(err.Error(), "flag --lora-rank (fine_tuning.lora.rank): must be greater than 0") {
		t.Errorf("bad flag error = %v", err)
	}
	if c.FineTuning.LoRA.Rank != 8 || c.DataDir != "/home/test/elsewhere" {
		t.Errorf("a rejected flag changed the config: rank %d data_dir %q", c.FineTuning.LoRA.Rank, c.DataDir)
	}
	if err := c.SetFromFlag("fine_tuning.lora.rnak", "4"); err == nil {
		t.Error("SetFromFlag accepted an unknown key")
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		goos     string
		file     string // relative to home; "" = none
		env      map[string]string
		path     string
		wantFile string // relative to home, "" = none
		wantErr  error
	}{
		{name: "no file anywhere", goos: "linux"},
		{name: "user config dir on linux", goos: "linux", file: ".config/vulntune/config.yaml", wantFile: ".config/vulntune/config.yaml"},
		{name: "XDG_CONFIG_HOME", goos: "linux", file: "xdg/vulntune/config.yaml",
			env: map[string]string{"XDG_CONFIG_HOME": "HOME/xdg"}, wantFile: "xdg/vulntune/config.yaml"},
		{name: "user config dir on macOS", goos: "darwin", file: "Library/Application Support/vulntune/config.yaml",
			wantFile: "Library/Application Support/vulntune/config.yaml"},
		{name: "VULNTUNE_CONFIG", goos: "linux", file: "elsewhere.yaml",
			env: map[string]string{"VULNTUNE_CONFIG": "HOME/elsewhere.yaml"}, wantFile: "elsewhere.yaml"},
		{name: "missing VULNTUNE_CONFIG is an error", goos: "linux",
			env: map[string]string{"VULNTUNE_CONFIG": "HOME/missing.yaml"}, wantErr: fs.ErrNotExist},
		{name: "missing --config is an error", goos: "linux", path: "HOME/missing.yaml", wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := t.TempDir()
			if tt.file != "" {
				writeConfig(t, filepath.Dir(filepath.Join(h, tt.file)), "")
				if filepath.Base(tt.file) != "config.yaml" {
					if err := os.Rename(filepath.Join(h, filepath.Dir(tt.file), "config.yaml"), filepath.Join(h, tt.file)); err != nil {
						t.Fatal(err)
					}
				}
			}
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = strings.Replace(v, "HOME", h, 1)
			}
			c, err := config.Load(config.LoadOptions{Path: strings.Replace(tt.path, "HOME", h, 1),
				Getenv: envOf(env), HomeDir: h, GOOS: tt.goos})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			if tt.wantFile != "" {
				want = filepath.Join(h, tt.wantFile)
			}
			if c.File() != want {
				t.Errorf("File() = %q, want %q", c.File(), want)
			}
		})
	}
}

func TestDataDirDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		goos string
		env  map[string]string
		want string
	}{
		{goos: "linux", want: "/home/test/.local/share/vulntune"},
		{goos: "linux", env: map[string]string{"XDG_DATA_HOME": "/xdg"}, want: "/xdg/vulntune"},
		{goos: "linux", env: map[string]string{"XDG_DATA_HOME": "relative"}, want: "/home/test/.local/share/vulntune"},
		{goos: "darwin", want: "/home/test/Library/Application Support/vulntune"},
		{goos: "freebsd", want: "/home/test/.local/share/vulntune"},
	}
	for _, tt := range tests {
		t.Run(tt.goos+"/"+tt.env["XDG_DATA_HOME"], func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(config.LoadOptions{Getenv: envOf(tt.env), HomeDir: home, GOOS: tt.goos})
			if err != nil {
				t.Fatal(err)
			}
			if c.DataDir != tt.want || c.FineTuning.WorkspaceDir != filepath.Join(tt.want, "workspace") {
				t.Errorf("data_dir %q workspace %q, want %q", c.DataDir, c.FineTuning.WorkspaceDir, tt.want)
			}
		})
	}
}

// Every problem is reported at once: the check across the split fractions
// runs beside a bad value elsewhere, and is skipped only when one of its
// own keys is bad.
func TestLoadReportsEveryProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want []string
		not  string
	}{
		{"fractions and another bad key", map[string]string{
			"VULNTUNE_DATASET_VALID_FRACTION": "0.6", "VULNTUNE_DATASET_TEST_FRACTION": "0.6", "VULNTUNE_FINE_TUNING_LORA_RANK": "-1"},
			[]string{"VULNTUNE_FINE_TUNING_LORA_RANK", "must be below 1"}, ""},
		{"a bad fraction skips the sum", map[string]string{
			"VULNTUNE_DATASET_VALID_FRACTION": "x", "VULNTUNE_DATASET_TEST_FRACTION": "0.6"},
			[]string{"VULNTUNE_DATASET_VALID_FRACTION"}, "must be below 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(config.LoadOptions{Getenv: envOf(tt.env), HomeDir: t.TempDir(), GOOS: "linux", Environ: func() []string { return nil }})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if tt.not != "" && strings.Contains(err.Error(), tt.not) {
				t.Errorf("error has %q:\n%v", tt.not, err)
			}
		})
	}
}

func TestUnknownEnvWarns(t *testing.T) {
	t.Parallel()
	environ := []string{
		"VULNTUNE_FINE_TUNNING_LORA_RANK=4", // a typo of a setting
		"VULNTUNE_BLASS=bundled",            // a typo of another package's switch
		"VULNTUNE_SOMETHING_ELSE=1",         // nothing close
		"VULNTUNE_BLAS=bundled",             // read by the engine
		"VULNTUNE_DATA_DIR=/d",              // a setting
		"VULNTUNE_TEST_BASE_MODEL=/m",       // the test suites'
		"HOME=/h",
	}
	c, err := config.Load(config.LoadOptions{Getenv: noEnv, HomeDir: t.TempDir(), GOOS: "linux",
		Environ: func() []string { return environ }, OtherEnv: []string{"VULNTUNE_BLAS"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"environment variable VULNTUNE_BLASS is not a vulntune setting and is ignored (did you mean VULNTUNE_BLAS?)",
		"environment variable VULNTUNE_FINE_TUNNING_LORA_RANK is not a vulntune setting and is ignored (did you mean VULNTUNE_FINE_TUNING_LORA_RANK?)",
		"environment variable VULNTUNE_SOMETHING_ELSE is not a vulntune setting and is ignored",
	}
	if strings.Join(c.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(c.Warnings, "\n"), strings.Join(want, "\n"))
	}
}
