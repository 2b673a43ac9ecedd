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
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/filehash"
	"github.com/vulntune/vulntune/internal/lockfile"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/train"
)

// RunOptions configures Run, the manual pipeline.
type RunOptions struct {
	// ArtifactPaths are the scanner artifacts (dirs, files, zips).
	ArtifactPaths []string
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
	// Strict makes a failing example fatal instead of dropped.
	Strict   bool
	Analysis *analyze.Options
	Finetune FinetuneHooks
	Force    bool
	Now      func() time.Time
	Log      *slog.Logger
	Events   func(phase, status, detail string)
	Progress func(phase string, done, total int)
}

// FinetuneHooks runs the model phases. They live behind functions so the
// pipeline's bookkeeping is testable without the engine; cmd wires the real
// train, evaluate and validate packages.
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

// RunResult reports a pipeline run.
type RunResult struct {
	Dir      string    `json:"dir"`
	Ran      []string  `json:"ran"`
	UpToDate []string  `json:"up_to_date"`
	Skipped  []string  `json:"skipped"`
	Model    string    `json:"model,omitempty"`
	ModelDir string    `json:"model_dir,omitempty"`
	Manifest *Manifest `json:"manifest"`
}

// Run executes parse → dataset → finetune → evaluate → validate in a run
// directory, recording each phase in run.json. Phases whose inputs did not
// change are not run again; a phase interrupted earlier is run again.
func Run(ctx context.Context, o RunOptions) (*RunResult, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.ArtifactPaths) == 0 {
		return nil, errors.New("no artifacts given")
	}
	inputs, err := HashInputs(o.ArtifactPaths)
	if err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		return nil, fmt.Errorf("no files under %v", o.ArtifactPaths)
	}
	inputKey := Key(inputs)
	dir := o.Dir
	if dir == "" {
		dir = filepath.Join(o.WorkspaceDir, "runs", inputKey[:12])
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
	m, err := LoadManifest(dir, o.Now())
	if err != nil {
		return nil, err
	}
	m.Inputs = inputs
	r := &Runner{Dir: dir, Manifest: m, Now: o.Now, Log: o.Log, Force: o.Force, Events: o.Events}
	res := &RunResult{Dir: dir, Ran: []string{}, UpToDate: []string{}, Skipped: []string{}, Manifest: m}
	track := func(name string, ran bool) {
		if ran {
			res.Ran = append(res.Ran, name)
		} else {
			res.UpToDate = append(res.UpToDate, name)
		}
	}

	findings := filepath.Join(dir, "findings.jsonl")
	ran, err := r.Do(ctx, PhaseParse, Key(PhaseParse, inputs), parsePhase(o.ArtifactPaths, findings))
	if err != nil && !errors.Is(err, ErrInputs) {
		return res, err
	}
	track(PhaseParse, ran)
	inputErr := err

	findingsHash, _, err := filehash.File(findings)
	if err != nil {
		return res, err
	}
	dsDir := filepath.Join(dir, "dataset")
	llm := ""
	if o.Analysis != nil {
		llm = o.Analysis.Model
	}
	dsOpts := DatasetOptions{FindingsPath: findings, OutDir: dsDir, Split: o.Split, MaxPerRule: o.MaxPerRule,
		Strict: o.Strict, Analysis: o.Analysis, Log: o.Log, Progress: o.Progress}
	ran, err = r.Do(ctx, PhaseDataset, Key(PhaseDataset, findingsHash, o.Split, o.MaxPerRule, o.Strict, llm, analyze.PromptVersion, narrate.Version), datasetPhase(dsOpts))
	if err != nil {
		return res, err
	}
	track(PhaseDataset, ran)

	if o.SkipFineTuning {
		for _, p := range []string{PhaseFinetune, PhaseEvaluate, PhaseValidate} {
			if err := r.Skip(p, "--skip-fine-tuning"); err != nil {
				return res, err
			}
			res.Skipped = append(res.Skipped, p)
		}
		return res, inputErr
	}
	h := o.Finetune
	if h.Train == nil || h.ModelDir == nil {
		return res, errors.New("fine-tuning requested but no trainer configured")
	}
	if m.Model == "" {
		m.Model = o.ModelName
		if m.Model == "" {
			m.Model = newModelName(o.DefaultOutputName, o.Now(), h.ModelDir)
		}
		if err := m.Save(dir, o.Now()); err != nil {
			return res, err
		}
	} else if o.ModelName != "" && o.ModelName != m.Model {
		m.Model = o.ModelName
	}
	dsHash, err := hashDir(dsDir)
	if err != nil {
		return res, err
	}
	ftKey := Key(PhaseFinetune, dsHash, h.Key, m.Model)
	// A finished model whose dataset or settings changed is kept, and the
	// new one gets a new default name: a run directory is rerun to refresh
	// it, not to overwrite a model that may already be published. A given
	// name, or a phase a crash left running, keeps its name.
	if p := m.Phases[PhaseFinetune]; o.ModelName == "" && p != nil && p.Status == StatusDone && p.Key != ftKey {
		if _, err := os.Stat(h.ModelDir(m.Model)); err == nil {
			m.Model = newModelName(o.DefaultOutputName, o.Now(), h.ModelDir)
			ftKey = Key(PhaseFinetune, dsHash, h.Key, m.Model)
			if err := m.Save(dir, o.Now()); err != nil {
				return res, err
			}
		}
	}
	res.Model = m.Model
	modelDir := h.ModelDir(m.Model)
	res.ModelDir = modelDir
	ran, err = r.Do(ctx, PhaseFinetune, ftKey, func(ctx context.Context) ([]string, map[string]any, error) {
		sum, err := h.Train(ctx, dsDir, m.Model, ftKey)
		return []string{modelDir}, sum, err
	})
	if err != nil {
		return res, err
	}
	track(PhaseFinetune, ran)

	modelHash, err := hashModel(modelDir)
	if err != nil {
		return res, err
	}
	if h.Evaluate != nil {
		ran, err = r.Do(ctx, PhaseEvaluate, Key(PhaseEvaluate, modelHash, dsHash, h.EvalKey), func(ctx context.Context) ([]string, map[string]any, error) {
			sum, err := h.Evaluate(ctx, modelDir, dsDir)
			return []string{filepath.Join(modelDir, "eval", "results.json")}, sum, err
		})
		if err != nil {
			return res, err
		}
		track(PhaseEvaluate, ran)
	}
	if h.Validate != nil {
		evalHash, _, _ := filehash.File(filepath.Join(modelDir, "eval", "results.json"))
		ran, err = r.Do(ctx, PhaseValidate, Key(PhaseValidate, modelHash, evalHash), func(ctx context.Context) ([]string, map[string]any, error) {
			sum, err := h.Validate(ctx, modelDir)
			return []string{}, sum, err
		})
		if err != nil {
			return res, err
		}
		track(PhaseValidate, ran)
	}
	return res, inputErr
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
