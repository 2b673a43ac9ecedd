package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/hub"
	"github.com/vulntune/vulntune/internal/train"
	"github.com/vulntune/vulntune/internal/validate"
)

// Publish phase names: the dataset after the dataset phase (the plan's
// phase 4), the model after validation (phase 6).
const (
	PhasePublishDataset = "publish-dataset"
	PhasePublishModel   = "publish-model"
)

// PublishOptions configure publishing from a run (PublishPhases, placed
// with RunOptions.Extra) and after `vulntune finetune --upload`
// (PublishTrained): what cmd reads from flags and the config.
type PublishOptions struct {
	// SkipDataset and SkipModel say why each is not published ("" to
	// publish it): --skip-dataset-upload, --skip-model-upload, no model.
	SkipDataset, SkipModel string
	// DatasetRepo and ModelRepo are full repo ids (NAMESPACE/NAME); ""
	// composes Prefix (default_repo_prefix, else the token's account) and
	// the dataset's or model's name.
	DatasetRepo, ModelRepo string
	Prefix                 string
	// Private creates the repos private (private_repos).
	Private bool
	// DatasetRevision is the branch the dataset is committed to ("" = main).
	DatasetRevision string
	// Endpoint is the Hub ("" = the client's default).
	Endpoint string
	// Token is the configured token (HF_TOKEN, through config.HFToken);
	// "" falls back to the file the official client's login writes.
	Token string
	// Engine carries every Hub request.
	Engine hub.Engine
	// ValidateModel is the gate's validation; nil runs validate.Run with
	// the engine and RequireEval.
	ValidateModel func(ctx context.Context, dir string) (*validate.Report, error)
	// Identity is what the privacy scan looks for; nil is this machine's.
	Identity *hub.Identity
	// Progress receives upload progress; Published each publish's result
	// (dataset or model) for the user. Either may be nil.
	Progress  func(hub.Progress)
	Published func(*hub.Result)
	Log       *slog.Logger
}

// publisher is one run's publishing: the token resolved once, and each
// namespace's write access checked once.
type publisher struct {
	o       PublishOptions
	tok     hub.Token
	tokErr  error
	checked map[string]bool
}

func newPublisher(o PublishOptions) *publisher {
	home, _ := os.UserHomeDir()
	p := &publisher{o: o, checked: map[string]bool{}}
	p.tok, p.tokErr = hub.ResolveToken(o.Token, os.Getenv, home)
	return p
}

// PublishCheckError is a run or fine-tune that would publish but whose
// token cannot: found before any work is done.
type PublishCheckError struct{ Err error }

func (e *PublishCheckError) Error() string {
	return "publishing is on, but nothing can be published (checked before the run starts): " + e.Err.Error()
}

func (e *PublishCheckError) Unwrap() error { return e.Err }

// Hint says how to provide a token or leave publishing out.
func (e *PublishCheckError) Hint() string {
	var h interface{ Hint() string }
	fix := "export HF_TOKEN with a write token, or log in with `hf auth login` (`huggingface-cli login` with older clients)"
	if errors.As(e.Err, &h) {
		fix = h.Hint()
	}
	return fix + "; or run without publishing (--upload=false, --skip-dataset-upload, --skip-model-upload)"
}

// check asks the Hub, once per namespace, whether the token may write
// there.
func (p *publisher) check(ctx context.Context, repo string) error {
	if p.tokErr != nil {
		return &PublishCheckError{Err: p.tokErr}
	}
	ns := p.o.Prefix
	if repo != "" {
		ns, _, _ = strings.Cut(repo, "/")
	}
	if p.checked[ns] {
		return nil
	}
	if _, err := hub.CheckAccess(ctx, p.o.Engine, p.tok, p.o.Endpoint, ns); err != nil {
		return &PublishCheckError{Err: err}
	}
	p.checked[ns] = true
	return nil
}

func (p *publisher) planOptions(kind, dir string) hub.PlanOptions {
	po := hub.PlanOptions{Kind: kind, Dir: dir, Prefix: p.o.Prefix, Private: p.o.Private}
	if kind == hub.KindDataset {
		po.Repo, po.Revision = p.o.DatasetRepo, p.o.DatasetRevision
	} else {
		po.Repo = p.o.ModelRepo
	}
	return po
}

// key identifies one publish: the content (hub's plan hash over every
// file's path and SHA-256), where it goes and the version tag. The same
// content to the same repo is published once; anything else again.
func (p *publisher) key(phase, kind, dir string) (string, error) {
	plan, err := hub.NewPlan(p.planOptions(kind, dir))
	if err != nil {
		return "", err
	}
	return Key(phase, plan.ContentSHA256, plan.Repo, plan.Revision, plan.Private, plan.Tag, p.o.Endpoint), nil
}

// publish runs hub.Publish (plan, gate, token check, commit) and returns
// run.json's summary of it. The token appears in neither.
func (p *publisher) publish(ctx context.Context, kind, dir string) (*hub.Result, map[string]any, error) {
	if p.tokErr != nil {
		return nil, nil, p.tokErr
	}
	id := hub.LocalIdentity()
	if p.o.Identity != nil {
		id = *p.o.Identity
	}
	validateModel := p.o.ValidateModel
	if e, ok := p.o.Engine.(*engine.Engine); ok && validateModel == nil {
		validateModel = func(ctx context.Context, dir string) (*validate.Report, error) {
			return validate.Run(ctx, validate.Options{ModelDir: dir, Engine: e, RequireEval: true})
		}
	}
	res, err := hub.Publish(ctx, hub.Options{
		PlanOptions: p.planOptions(kind, dir),
		GateOptions: hub.GateOptions{ValidateModel: validateModel, Identity: id},
		Token:       p.tok, Endpoint: p.o.Endpoint, Engine: p.o.Engine, Progress: p.o.Progress, Log: p.o.Log,
	})
	if res != nil && p.o.Published != nil {
		p.o.Published(res)
	}
	if err != nil {
		return res, nil, err
	}
	pub := res.Published
	sum := map[string]any{"repo": pub.Repo, "url": pub.URL, "revision": pub.Revision, "commit": pub.Commit,
		"committed": pub.Committed, "private": pub.Private, "files": len(res.Plan.Files), "bytes": res.Plan.Bytes,
		"bytes_uploaded": pub.BytesUploaded, "content_sha256": res.Plan.ContentSHA256}
	if pub.Tag != "" {
		sum["tag"] = pub.Tag
	}
	return res, sum, nil
}

// PublishPhases are the publish phases of a run, for RunOptions.Extra:
// publish-dataset after the dataset phase and publish-model after
// validation. Each is keyed by the content it sends and where it sends it
// (so it is done once per content, and a run over unchanged content makes
// no new commit), and checks the token's write access before the run's
// first phase: a run does not train for an hour and then fail on a
// missing token.
func PublishPhases(o PublishOptions) []Phase {
	p := newPublisher(o)
	ds := Phase{
		Name: PhasePublishDataset, After: PhaseDataset,
		Check: func(ctx context.Context) error {
			if o.SkipDataset != "" {
				return nil
			}
			return p.check(ctx, o.DatasetRepo)
		},
		Skip: func(*State) string { return o.SkipDataset },
		Key:  func(s *State) (string, error) { return p.key(PhasePublishDataset, hub.KindDataset, s.DatasetDir) },
		Run: func(ctx context.Context, s *State) ([]string, map[string]any, error) {
			_, sum, err := p.publish(ctx, hub.KindDataset, s.DatasetDir)
			return []string{}, sum, err
		},
	}
	model := Phase{
		Name: PhasePublishModel, After: PhaseValidate,
		Check: func(ctx context.Context) error {
			if o.SkipModel != "" {
				return nil
			}
			return p.check(ctx, o.ModelRepo)
		},
		Skip: func(s *State) string {
			if o.SkipModel == "" && s.ModelDir == "" {
				return "no model in this run"
			}
			return o.SkipModel
		},
		Key: func(s *State) (string, error) {
			// The card names the dataset by the repo it was published to
			// in this run: part of the content the key is made from.
			if repo, _ := publishedDataset(s); repo != "" {
				if _, err := train.SetCardDatasets(s.ModelDir, []string{repo}); err != nil {
					return "", err
				}
			}
			return p.key(PhasePublishModel, hub.KindModel, s.ModelDir)
		},
		Run: func(ctx context.Context, s *State) ([]string, map[string]any, error) {
			res, sum, err := p.publish(ctx, hub.KindModel, s.ModelDir)
			if err != nil {
				return []string{}, sum, err
			}
			// The dataset's card lists the models trained on it. A failure
			// fails the phase; rerun, the model makes no new commit and the
			// card is linked then.
			if repo, rev := publishedDataset(s); repo != "" {
				l, err := hub.LinkModels(ctx, p.o.Engine, p.tok, p.o.Endpoint, repo, rev, res.Published.Repo)
				if err != nil {
					return []string{}, sum, fmt.Errorf("list %s on the card of dataset %s: %w", res.Published.Repo, repo, err)
				}
				sum["dataset_card"] = map[string]any{"repo": l.Repo, "commit": l.Commit, "committed": l.Committed}
			}
			return []string{}, sum, nil
		},
	}
	return []Phase{ds, model}
}

// publishedDataset is the repo and revision this run published its
// dataset to ("" when it did not).
func publishedDataset(s *State) (repo, revision string) {
	p := s.done(PhasePublishDataset)
	if p == nil {
		return "", ""
	}
	repo, _ = p.Summary["repo"].(string)
	revision, _ = p.Summary["revision"].(string)
	return repo, revision
}

// CheckToken reports, without a request, publishing with no token at
// all: the part of the check a command can make before it opens the
// engine or looks for models.
func CheckToken(o PublishOptions) error {
	if o.SkipDataset != "" && o.SkipModel != "" {
		return nil
	}
	if p := newPublisher(o); p.tokErr != nil {
		return &PublishCheckError{Err: p.tokErr}
	}
	return nil
}

// CheckPublish checks, before a fine-tune that will publish its model
// (`vulntune finetune --upload`), that the token may write to the model's
// repo: the same check a run makes before its first phase.
func CheckPublish(ctx context.Context, o PublishOptions) error {
	return newPublisher(o).check(ctx, o.ModelRepo)
}

// PublishTrained publishes a model `vulntune finetune --upload` has just
// trained: it evaluates the model on the dataset's held-out split first
// (the gate's validation needs eval/results.json, and the card its
// evaluation section), then publishes it through the same gate as
// `vulntune publish model`, which validates it, quality gate included.
func PublishTrained(ctx context.Context, mo ModelOptions, o PublishOptions, modelDir, datasetDir string) (*hub.Result, error) {
	if _, err := ModelHooks(mo).Evaluate(ctx, modelDir, datasetDir); err != nil {
		return nil, fmt.Errorf("evaluate before publishing: %w", err)
	}
	if o.Engine == nil && mo.Engine != nil {
		o.Engine = mo.Engine
	}
	res, _, err := newPublisher(o).publish(ctx, hub.KindModel, modelDir)
	return res, err
}
