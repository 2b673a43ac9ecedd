package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vulntune/vulntune/internal/analyze"
	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/filehash"
	"github.com/vulntune/vulntune/internal/lockfile"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/report"
	"github.com/vulntune/vulntune/internal/train"
)

// RunOptions configures Run, the manual pipeline.
type RunOptions struct {
	// ArtifactPaths are the scanner artifacts (dirs, files, zips); or
	// DatasetDir is a dataset already built (the daemon's), and the run
	// starts at fine-tuning.
	ArtifactPaths []string
	DatasetDir    string
	// TempDir holds parse's spill files (config's TempDir; "" = the
	// system's temp dir).
	TempDir string
	// Dir is the run directory; empty means
	// <WorkspaceDir>/runs/<hash of the inputs>, so a repeated run over the
	// same inputs finds its earlier work.
	Dir          string
	WorkspaceDir string
	// SkipFineTuning stops after the dataset.
	SkipFineTuning bool
	// ModelName is the fine-tuned model's name; empty means
	// <DefaultOutputName>-<UTC timestamp>, fixed on the first run and kept
	// in run.json so a resumed or repeated run reuses it.
	ModelName         string
	DefaultOutputName string
	Split             dataset.SplitOptions
	MaxPerRule        int
	// Augment adds identifier-replaced copies to the training split.
	Augment Augmentation
	// Strict makes a failing example fatal instead of dropped.
	Strict   bool
	Analysis *analyze.Options
	Finetune FinetuneHooks
	// Extra phases plug into the run after the phase each names (After):
	// publishing the dataset after "dataset", the model after "validate".
	Extra []Phase
	Force bool
	Now   func() time.Time
	Log   *slog.Logger
	// Events receives one line per phase outcome for the user.
	Events   func(phase, status, detail string)
	Progress func(phase string, done, total int)
}

// FinetuneHooks runs the model phases. They live behind functions so the
// pipeline's bookkeeping is testable without the engine; ModelHooks builds
// the real ones over the train, evaluate and validate packages.
type FinetuneHooks struct {
	// Key identifies the training setup (base model, hyperparameters); a
	// change reruns training.
	Key any
	// EvalKey identifies the evaluation setup (scorer version, limits); a
	// change reruns evaluation and validation only.
	EvalKey any
	// ModelDir returns where the model named name lives.
	ModelDir func(name string) string
	// Train trains model name on datasetDir; key identifies the phase's
	// inputs, so checkpoints of a run with other data or settings are never
	// resumed into this one.
	Train    func(ctx context.Context, datasetDir, name, key string) (map[string]any, error)
	Evaluate func(ctx context.Context, modelDir, datasetDir string) (map[string]any, error)
	Validate func(ctx context.Context, modelDir string) (map[string]any, error)
}

// State is what the phases of one run hand each other: where the outputs
// of the phases before are, and their content hashes, from which the
// later phases' keys are made.
type State struct {
	Dir          string // the run directory
	FindingsPath string // parse's output
	DatasetDir   string
	DatasetHash  string
	Model        string // the fine-tuned model's name
	ModelDir     string
	ModelHash    string
	trainKey     string // the finetune phase's key, which names its checkpoints
	manifest     *Manifest
}

// done returns the record of a phase of this run that finished, or nil.
func (s *State) done(phase string) *PhaseRecord {
	if s.manifest == nil {
		return nil
	}
	if p := s.manifest.Phases[phase]; p != nil && p.Status == StatusDone {
		return p
	}
	return nil
}

// Phase is one step of a run: its key (a change of it, or of an output
// since, makes the phase run again), what it does, and why it is skipped
// this time ("" to run it). Key is called only once the phases before have
// run, so it may read their outputs through State.
type Phase struct {
	Name string
	// After names the phase this one follows (Extra phases only).
	After string
	// Check, when set, runs before the run's first phase: what would make
	// this phase fail after hours of work (a publish token that cannot
	// write) fails the run before anything is done.
	Check func(ctx context.Context) error
	Skip  func(*State) string
	Key   func(*State) (string, error)
	Run   func(ctx context.Context, s *State) (outputs []string, summary map[string]any, err error)
}

// RunResult reports a pipeline run.
type RunResult struct {
	Dir      string    `json:"dir"`
	Ran      []string  `json:"ran"`
	UpToDate []string  `json:"up_to_date"`
	Skipped  []string  `json:"skipped"`
	Model    string    `json:"model,omitempty"`
	ModelDir string    `json:"model_dir,omitempty"`
	Manifest *Manifest `json:"manifest"`
	// Report is the run's report.html ("" when it could not be written).
	Report string `json:"report,omitempty"`
}

// Run executes the run's phases in order — parse → dataset → finetune →
// evaluate → validate, with any Extra phases after the one each names
// (PublishPhases) — in a run directory, recording each phase in run.json.
// Every phase's Check runs before the first phase does. Phases whose inputs
// did not change are not run again; a phase interrupted earlier is run
// again. One process at a time holds a run directory.
func Run(ctx context.Context, o RunOptions) (*RunResult, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	var inputs []InputFile
	var err error
	switch {
	case o.DatasetDir != "":
		inputs, err = HashInputs([]string{o.DatasetDir})
	case len(o.ArtifactPaths) > 0:
		inputs, err = HashInputs(o.ArtifactPaths)
	default:
		return nil, errors.New("no artifacts given")
	}
	if err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		return nil, fmt.Errorf("no files under %v", append(o.ArtifactPaths, o.DatasetDir))
	}
	dir := o.Dir
	if dir == "" {
		dir = filepath.Join(o.WorkspaceDir, "runs", Key(inputs)[:12])
	}
	// Outputs are recorded as absolute paths; a relative run dir would make
	// them relative twice when checked on the next run.
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	lock, err := lockfile.AcquireDir(dir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	res, err := runLocked(ctx, o, dir, inputs)
	if res != nil {
		writeReport(o, res)
	}
	return res, err
}

// writeReport renders the run's report.html, whatever the run's outcome:
// it is no phase (it never makes a run out of date) and a report that
// cannot be written costs a warning, not the run.
func writeReport(o RunOptions, res *RunResult) {
	opts := report.Options{RunDir: res.Dir, DatasetDir: o.DatasetDir, ModelDir: res.ModelDir}
	path := filepath.Join(res.Dir, report.FileName)
	if err := report.WriteFile(path, opts); err != nil {
		if o.Log != nil {
			o.Log.Warn("run report not written", "err", err)
		}
		if o.Events != nil {
			o.Events("report", "failed", err.Error())
		}
		return
	}
	res.Report = path
}

// runLocked runs the phases of the run in dir, which the caller holds.
func runLocked(ctx context.Context, o RunOptions, dir string, inputs []InputFile) (*RunResult, error) {
	m, err := LoadManifest(dir, o.Now())
	if err != nil {
		return nil, err
	}
	m.Inputs = inputs
	r := &Runner{Dir: dir, Manifest: m, Now: o.Now, Log: o.Log, Force: o.Force, Events: o.Events}
	res := &RunResult{Dir: dir, Ran: []string{}, UpToDate: []string{}, Skipped: []string{}, Manifest: m}
	st := &State{Dir: dir, FindingsPath: filepath.Join(dir, "findings.jsonl"), DatasetDir: filepath.Join(dir, "dataset"), manifest: m}
	if o.DatasetDir != "" {
		st.DatasetDir = o.DatasetDir
	}

	// Phases check what they can before the first one runs.
	phases := runPhases(o, res, inputs)
	for _, p := range phases {
		if p.Check == nil {
			continue
		}
		if err := p.Check(ctx); err != nil {
			return res, fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	// A run that could read only some inputs goes on with the rest and
	// says so at the end (exit 5).
	var inputErr error
	for _, p := range phases {
		if why := skipReason(p, st); why != "" {
			if err := r.Skip(p.Name, why); err != nil {
				return res, err
			}
			res.Skipped = append(res.Skipped, p.Name)
			continue
		}
		key, err := p.Key(st)
		if err != nil {
			return res, err
		}
		ran, err := r.Do(ctx, p.Name, key, func(ctx context.Context) ([]string, map[string]any, error) { return p.Run(ctx, st) })
		if errors.Is(err, ErrInputs) {
			inputErr, err = err, nil
		}
		if err != nil {
			return res, err
		}
		if ran {
			res.Ran = append(res.Ran, p.Name)
		} else {
			res.UpToDate = append(res.UpToDate, p.Name)
		}
	}
	return res, inputErr
}

func skipReason(p Phase, st *State) string {
	if p.Skip == nil {
		return ""
	}
	return p.Skip(st)
}

// runPhases is the run's phase list: the built-in phases, each Extra phase
// after the one it names.
func runPhases(o RunOptions, res *RunResult, inputs []InputFile) []Phase {
	var base []Phase
	if o.DatasetDir == "" {
		base = append(base, parsePhase(o, inputs), datasetPhase(o))
	}
	base = append(base, modelPhases(o, res)...)
	var out []Phase
	for _, p := range base {
		out = append(out, p)
		for _, x := range o.Extra {
			if x.After == p.Name {
				out = append(out, x)
			}
		}
	}
	return out
}

func parsePhase(o RunOptions, inputs []InputFile) Phase {
	return Phase{
		Name: PhaseParse,
		Key:  func(*State) (string, error) { return Key(PhaseParse, inputs), nil },
		Run: func(ctx context.Context, s *State) ([]string, map[string]any, error) {
			return runParse(ctx, o.ArtifactPaths, s.FindingsPath, o.TempDir)
		},
	}
}

func datasetPhase(o RunOptions) Phase {
	llm := ""
	if o.Analysis != nil {
		llm = o.Analysis.Model
	}
	return Phase{
		Name: PhaseDataset,
		Key: func(s *State) (string, error) {
			h, _, err := filehash.File(s.FindingsPath)
			if err != nil {
				return "", err
			}
			k := []any{PhaseDataset, h, o.Split, o.MaxPerRule, o.Strict, llm, analyze.PromptVersion, narrate.Version}
			if o.Augment.on() {
				// Only when on, so a run without augmentation keeps the
				// key it had before augmentation existed.
				k = append(k, o.Augment, augment.Version)
			}
			return Key(k...), nil
		},
		Run: func(ctx context.Context, s *State) ([]string, map[string]any, error) {
			return runDataset(ctx, DatasetOptions{FindingsPath: s.FindingsPath, OutDir: s.DatasetDir, Split: o.Split,
				MaxPerRule: o.MaxPerRule, Augment: o.Augment, Strict: o.Strict, Analysis: o.Analysis, Log: o.Log, Progress: o.Progress})
		},
	}
}

// modelPhases are fine-tuning, evaluation and validation, skipped together
// with --skip-fine-tuning.
func modelPhases(o RunOptions, res *RunResult) []Phase {
	h := o.Finetune
	skip := func(*State) string {
		if o.SkipFineTuning {
			return "--skip-fine-tuning"
		}
		return ""
	}
	finetune := Phase{
		Name: PhaseFinetune, Skip: skip,
		Key: func(s *State) (string, error) {
			if h.Train == nil || h.ModelDir == nil {
				return "", errors.New("fine-tuning requested but no trainer configured")
			}
			var err error
			if s.DatasetHash, err = hashDir(s.DatasetDir); err != nil {
				return "", err
			}
			if err := chooseModelName(o, res.Manifest, s); err != nil {
				return "", err
			}
			res.Model, res.ModelDir = s.Model, s.ModelDir
			s.trainKey = Key(PhaseFinetune, s.DatasetHash, h.Key, s.Model)
			return s.trainKey, nil
		},
		Run: func(ctx context.Context, s *State) ([]string, map[string]any, error) {
			sum, err := h.Train(ctx, s.DatasetDir, s.Model, s.trainKey)
			return []string{s.ModelDir}, sum, err
		},
	}
	evaluate := Phase{
		Name: PhaseEvaluate, Skip: skip,
		Key: func(s *State) (string, error) {
			var err error
			if s.ModelHash, err = hashModel(s.ModelDir); err != nil {
				return "", err
			}
			return Key(PhaseEvaluate, s.ModelHash, s.DatasetHash, h.EvalKey), nil
		},
		Run: func(ctx context.Context, s *State) ([]string, map[string]any, error) {
			sum, err := h.Evaluate(ctx, s.ModelDir, s.DatasetDir)
			return []string{filepath.Join(s.ModelDir, "eval", "results.json")}, sum, err
		},
	}
	validate := Phase{
		Name: PhaseValidate, Skip: skip,
		Key: func(s *State) (string, error) {
			evalHash, _, _ := filehash.File(filepath.Join(s.ModelDir, "eval", "results.json"))
			return Key(PhaseValidate, s.ModelHash, evalHash), nil
		},
		Run: func(ctx context.Context, s *State) ([]string, map[string]any, error) {
			sum, err := h.Validate(ctx, s.ModelDir)
			return []string{}, sum, err
		},
	}
	// Without hooks for them, evaluation and validation are no phases of
	// this run, unless skipped, which run.json records either way.
	out := []Phase{finetune}
	if h.Evaluate != nil || o.SkipFineTuning {
		out = append(out, evaluate)
	}
	if h.Validate != nil || o.SkipFineTuning {
		out = append(out, validate)
	}
	return out
}

// chooseModelName fixes the fine-tuned model's name in the manifest: the
// one given, else the one a previous run chose. A finished model whose
// dataset or settings changed is kept, and the new one gets a new default
// name: a run directory is rerun to refresh it, not to overwrite a model
// that may already be published. A given name, or a phase a crash left
// running, keeps its name.
func chooseModelName(o RunOptions, m *Manifest, s *State) error {
	h := o.Finetune
	if m.Model == "" || (o.ModelName != "" && o.ModelName != m.Model) {
		m.Model = o.ModelName
		if m.Model == "" {
			m.Model = newModelName(o.DefaultOutputName, o.Now(), h.ModelDir)
		}
		if err := m.Save(s.Dir, o.Now()); err != nil {
			return err
		}
	}
	ftKey := Key(PhaseFinetune, s.DatasetHash, h.Key, m.Model)
	if p := m.Phases[PhaseFinetune]; o.ModelName == "" && p != nil && p.Status == StatusDone && p.Key != ftKey {
		if _, err := os.Stat(h.ModelDir(m.Model)); err == nil {
			m.Model = newModelName(o.DefaultOutputName, o.Now(), h.ModelDir)
			if err := m.Save(s.Dir, o.Now()); err != nil {
				return err
			}
		}
	}
	s.Model, s.ModelDir = m.Model, h.ModelDir(m.Model)
	return nil
}

// newModelName is the default model name, "<prefix>-<timestamp>" as
// `vulntune finetune` names models, or with the first "-N" suffix whose
// model directory does not exist yet: two runs in one second must not share
// one.
func newModelName(prefix string, now time.Time, dir func(string) string) string {
	name := train.DefaultName(prefix, now)
	out := name
	for i := 2; ; i++ {
		if _, err := os.Stat(dir(out)); errors.Is(err, fs.ErrNotExist) {
			return out
		}
		out = fmt.Sprintf("%s-%d", name, i)
	}
}
