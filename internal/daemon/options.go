package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vulntune/vulntune/internal/ghactions"
	"github.com/vulntune/vulntune/internal/ingest"
)

// Target is one listing the daemon polls: a repository, and optionally one
// workflow (file name or id) and one branch ("" = all).
type Target struct {
	Repo     string `json:"repo"`
	Workflow string `json:"workflow"`
	Branch   string `json:"branch"`
}

// Options configures a daemon. Zero values take the defaults noted.
type Options struct {
	// StateDir holds state.db, daemon.lock, findings.jsonl and dataset/.
	StateDir string
	// Repos are OWNER/NAME; Workflows and Branches narrow every repo's
	// listing (empty = all). Each repo × workflow × branch is one listing.
	Repos, Workflows, Branches []string
	// ArtifactPatterns select artifacts by name (path.Match globs; empty
	// = every artifact). Inside an artifact only scanner reports are read.
	ArtifactPatterns []string
	// AllowForks lists repos whose runs from forks are read anyway.
	AllowForks []string
	// Interval is the time between polls (default 5m).
	Interval time.Duration
	// Backfill is how far back the first poll of a listing looks (default
	// 7 days).
	Backfill time.Duration
	// FinetuneAfter is how many examples the dataset must have grown by
	// since the last model before the next fine-tune (default 50).
	FinetuneAfter int
	// SkipFineTuning and SkipPublishing are fine_tuning.skip_in_daemon and
	// fine_tuning.huggingface.skip_in_daemon.
	SkipFineTuning, SkipPublishing bool
	// ModelPrefix names models <prefix>-<UTC timestamp> (default
	// vulntune-security).
	ModelPrefix string
	// FinetuneLock is a lock file every fine-tune takes ("" = none), so
	// the daemon never trains while another fine-tune holding it runs.
	FinetuneLock string
	// MaxArtifactBytes caps one artifact's download (default 64 MiB);
	// Zip caps what is read from it.
	MaxArtifactBytes int64
	Zip              ingest.ZipLimits
	// Backoff is the wait after a run's first failure, doubling after each
	// further one up to MaxBackoff (defaults 1m and 6h); after MaxAttempts
	// (default 8) the run stays failed until someone looks.
	Backoff, MaxBackoff time.Duration
	MaxAttempts         int
	// Once polls once, processes what it found to the end and returns.
	Once bool

	GitHub   *ghactions.Client
	Pipeline Pipeline
	Clock    ghactions.Clock
	Log      *slog.Logger

	// hook is called after every committed state change (tests simulate
	// kill -9 between any two of them).
	hook func(event string)
}

func (o *Options) defaults() {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Minute
	}
	if o.Backfill <= 0 {
		o.Backfill = 7 * 24 * time.Hour
	}
	if o.FinetuneAfter <= 0 {
		o.FinetuneAfter = 50
	}
	if o.ModelPrefix == "" {
		o.ModelPrefix = "vulntune-security"
	}
	if o.MaxArtifactBytes <= 0 {
		o.MaxArtifactBytes = 64 << 20
	}
	if o.Zip.MaxArchive <= 0 || o.Zip.MaxArchive > o.MaxArtifactBytes {
		o.Zip.MaxArchive = o.MaxArtifactBytes
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Minute
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 6 * time.Hour
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Clock == nil {
		o.Clock = ghactions.SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Targets lists the daemon's listings: every repo × workflow × branch.
func (o *Options) Targets() []Target {
	wfs, brs := orAll(o.Workflows), orAll(o.Branches)
	var out []Target
	for _, r := range o.Repos {
		for _, w := range wfs {
			for _, b := range brs {
				out = append(out, Target{Repo: r, Workflow: w, Branch: b})
			}
		}
	}
	return out
}

func orAll(v []string) []string {
	if len(v) == 0 {
		return []string{""}
	}
	return v
}

// Pipeline runs the phases after ingest. The daemon calls it from one
// goroutine, never two methods at once.
type Pipeline interface {
	// BuildDataset builds the dataset directory outDir from a findings
	// file (findings.jsonl), replacing outDir atomically.
	BuildDataset(ctx context.Context, findingsPath, outDir string) (DatasetInfo, error)
	// FineTune trains, evaluates and validates a model named name on a
	// dataset. Called again with the same name after an interruption, it
	// resumes where it can. A model that trained but failed its quality
	// gate is returned with an error wrapping ErrRejected.
	FineTune(ctx context.Context, datasetDir, name string) (ModelInfo, error)
	// Publish publishes the dataset and, when model is non-nil, the
	// model. ErrUnavailable says publishing is not set up.
	Publish(ctx context.Context, datasetDir string, model *ModelInfo) (Publication, error)
}

// DatasetInfo describes a built dataset.
type DatasetInfo struct {
	Findings int
	Examples int
}

// ModelInfo describes a fine-tuned model.
type ModelInfo struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
}

// Publication says where a dataset and model were published.
type Publication struct {
	DatasetURL string `json:"dataset_url,omitempty"`
	ModelURL   string `json:"model_url,omitempty"`
}

// ErrRejected marks a model that failed its quality gate: it is kept
// and recorded, never published.
var ErrRejected = errors.New("model failed its quality gate")

// ErrUnavailable marks a phase the pipeline cannot run in this setup
// (publishing not configured); the daemon notes it and goes on.
var ErrUnavailable = errors.New("not available")
