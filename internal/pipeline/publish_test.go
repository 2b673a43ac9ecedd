package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/hub"
	"github.com/vulntune/vulntune/internal/hub/hubtest"
	"github.com/vulntune/vulntune/internal/pipeline"
	"github.com/vulntune/vulntune/internal/validate"
)

// hubEngine is the engine venv's engine for publishing to the stand-in
// (VULNTUNE_TEST_ENGINE_PYTHON, or the venv in VULNTUNE_DATA_DIR), or nil
// when there is none.
func hubEngine(t *testing.T) *engine.Engine {
	t.Helper()
	py := os.Getenv("VULNTUNE_TEST_ENGINE_PYTHON")
	if dir := os.Getenv("VULNTUNE_DATA_DIR"); py == "" && dir != "" {
		if e, err := engine.Open(dir); err == nil {
			py = e.Python
		}
	}
	if py == "" {
		return nil
	}
	t.Setenv("HF_HUB_DISABLE_XET", "1")
	return engine.New(py, t.TempDir())
}

// validateNoEngine is validation's artifact checks and quality gate: what
// the publish gate sees of a model without loading it.
func validateNoEngine(ctx context.Context, dir string) (*validate.Report, error) {
	return validate.Run(ctx, validate.Options{ModelDir: dir, RequireEval: true})
}

// publishedModel stands in for training: a complete model directory
// (hubtest's fixture, with its card and evaluation), written by Train.
func publishedModel(t *testing.T, root string) pipeline.FinetuneHooks {
	return pipeline.FinetuneHooks{
		Key:      "fixture",
		ModelDir: func(name string) string { return filepath.Join(root, name) },
		Train: func(ctx context.Context, ds, name, key string) (map[string]any, error) {
			hubtest.WriteModel(t, filepath.Join(root, name), hubtest.ModelOptions{})
			return nil, nil
		},
		Evaluate: func(ctx context.Context, dir, ds string) (map[string]any, error) { return nil, nil },
		Validate: func(ctx context.Context, dir string) (map[string]any, error) { return nil, nil },
	}
}

// TestRunPublishes runs the pipeline with its publish phases against the
// Hub stand-in: the dataset (and a model) published once, nothing again
// on a rerun, no new commit for the same content from another run
// directory, skips recorded, and a missing or read-only token refused
// before the parse phase runs, with nothing written to the stand-in.
func TestRunPublishes(t *testing.T) {
	e := hubEngine(t)
	s := hubtest.New(t, hubtest.Options{})
	t.Setenv("HF_HOME", t.TempDir()) // no login token file
	t.Setenv("HF_TOKEN_PATH", "")
	arts := copySamples(t)
	models := t.TempDir()
	dsRepo := hubtest.DefaultUser + "/samples-dataset"
	noModel := []string{pipeline.PhaseFinetune, pipeline.PhaseEvaluate, pipeline.PhaseValidate, pipeline.PhasePublishModel}
	tests := []struct {
		name  string
		dir   string // run dir name; the same name reruns that run
		token string
		model bool // fine-tune (the fixture) and publish the model too
		skip  string
		// engine: the case talks to the stand-in through the official client.
		engine     bool
		wantErr    func(error) bool
		ran        []string
		upToDate   []string
		skipped    []string
		dsCommits  int // commits on the dataset repo afterwards (the Hub's initial one included)
		committed  bool
		modelRepos int
	}{
		{name: "no token: refused before parse", dir: "samples", wantErr: func(err error) bool { return errors.Is(err, hub.ErrNoToken) }},
		{name: "read-only token: refused before parse", dir: "samples", token: hubtest.DefaultReadToken, engine: true,
			wantErr: func(err error) bool { var ae *hub.AccessError; return errors.As(err, &ae) }},
		{name: "skip dataset upload", dir: "skipped", skip: "--skip-dataset-upload",
			ran: []string{pipeline.PhaseParse, pipeline.PhaseDataset}, skipped: append([]string{pipeline.PhasePublishDataset}, noModel...)},
		{name: "publish dataset", dir: "samples", token: hubtest.DefaultWriteToken, engine: true,
			ran: []string{pipeline.PhaseParse, pipeline.PhaseDataset, pipeline.PhasePublishDataset}, skipped: noModel, dsCommits: 2, committed: true},
		{name: "rerun is up to date", dir: "samples", token: hubtest.DefaultWriteToken, engine: true,
			upToDate: []string{pipeline.PhaseParse, pipeline.PhaseDataset, pipeline.PhasePublishDataset}, skipped: noModel, dsCommits: 2, committed: true},
		// The dataset's content makes no commit; its card listing the
		// model makes one.
		{name: "model too; the dataset card lists it", dir: "samples", token: hubtest.DefaultWriteToken, engine: true, model: true,
			upToDate: []string{pipeline.PhaseParse, pipeline.PhaseDataset, pipeline.PhasePublishDataset},
			ran:      []string{pipeline.PhaseFinetune, pipeline.PhaseEvaluate, pipeline.PhaseValidate, pipeline.PhasePublishModel}, dsCommits: 3, committed: true, modelRepos: 1},
		{name: "rerun with the model is up to date", dir: "samples", token: hubtest.DefaultWriteToken, engine: true, model: true,
			upToDate: []string{pipeline.PhaseParse, pipeline.PhaseDataset, pipeline.PhasePublishDataset,
				pipeline.PhaseFinetune, pipeline.PhaseEvaluate, pipeline.PhaseValidate, pipeline.PhasePublishModel}, dsCommits: 3, committed: true, modelRepos: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.engine && e == nil {
				t.Skip("no engine: run `make setup` (or export VULNTUNE_DATA_DIR / VULNTUNE_TEST_ENGINE_PYTHON) to publish to the Hub stand-in")
			}
			s.ResetLog()
			po := pipeline.PublishOptions{SkipDataset: tt.skip, Token: tt.token, Endpoint: s.URL,
				ValidateModel: validateNoEngine, Identity: &hub.Identity{User: "alicewonder", Home: "/home/alicewonder"}}
			if e != nil {
				po.Engine = e
			}
			var published []*hub.Result
			po.Published = func(r *hub.Result) { published = append(published, r) }
			if !tt.model {
				po.SkipModel = "--skip-fine-tuning"
			}
			dir := filepath.Join(filepath.Dir(arts), tt.dir)
			opts := pipeline.RunOptions{ArtifactPaths: []string{arts}, Dir: dir, SkipFineTuning: !tt.model,
				DefaultOutputName: "sec-model", Extra: pipeline.PublishPhases(po)}
			if tt.model {
				opts.Finetune = publishedModel(t, models)
			}
			res, err := pipeline.Run(context.Background(), opts)
			if tt.wantErr != nil {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("err = %v", err)
				}
				if strings.Contains(err.Error(), hubtest.DefaultReadToken) {
					t.Errorf("the token is in the error: %v", err)
				}
				if _, err := os.Stat(filepath.Join(dir, "findings.jsonl")); err == nil {
					t.Error("the parse phase ran")
				}
				if m, err := pipeline.LoadManifest(dir, time.Time{}); err != nil || len(m.Phases) != 0 {
					t.Errorf("run.json records phases: %v %v", err, m)
				}
				for _, w := range s.Writes() {
					t.Errorf("a refused run wrote to the Hub: %s %s", w.Method, w.Path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Ran, orEmpty(tt.ran)) || !slices.Equal(res.UpToDate, orEmpty(tt.upToDate)) ||
				!slices.Equal(res.Skipped, orEmpty(tt.skipped)) {
				t.Errorf("ran %v, up to date %v, skipped %v", res.Ran, res.UpToDate, res.Skipped)
			}
			if n := len(s.History("dataset", dsRepo, "main")); n != tt.dsCommits {
				t.Errorf("%d commits on %s, want %d", n, dsRepo, tt.dsCommits)
			}
			ph := res.Manifest.Phases[pipeline.PhasePublishDataset]
			switch {
			case tt.skip != "":
				if ph.Status != pipeline.StatusSkipped || ph.Notes["reason"] != tt.skip || len(s.Requests()) != 0 {
					t.Errorf("publish-dataset %+v; %d requests to the stand-in", ph, len(s.Requests()))
				}
			case ph.Status != pipeline.StatusDone || ph.Summary["repo"] != dsRepo || ph.Summary["committed"] != tt.committed:
				t.Errorf("publish-dataset in run.json: %+v", ph)
			}
			if tt.model {
				mp := res.Manifest.Phases[pipeline.PhasePublishModel]
				repo := hubtest.DefaultUser + "/" + res.Model
				mh := s.History("model", repo, "main")
				if mp.Status != pipeline.StatusDone || mp.Summary["repo"] != repo || mp.Summary["tag"] == nil || len(mh) != 2 {
					t.Errorf("publish-model in run.json: %+v", mp)
				}
				// The published model card names the dataset by its repo id.
				if card := string(mh[0].Files["README.md"]); !strings.Contains(card, "datasets:\n  - "+dsRepo+"\n") {
					t.Errorf("the model card does not name %s:\n%s", dsRepo, card)
				}
				// The dataset card's newest commit lists the model, and
				// changes nothing else.
				dh := s.History("dataset", dsRepo, "main")
				card := string(dh[0].Files["README.md"])
				if !strings.Contains(card, "## Models trained on this dataset\n\n- ["+repo+"](") {
					t.Errorf("the dataset card does not list %s:\n%s", repo, card)
				}
				for f, b := range dh[1].Files {
					if f != "README.md" && string(dh[0].Files[f]) != string(b) {
						t.Errorf("the card commit changed %s", f)
					}
				}
				if !strings.HasPrefix(card, string(dh[1].Files["README.md"])[:200]) {
					t.Error("the card commit rewrote the card instead of appending")
				}
				// The dataset phase was up to date: only the model went out,
				// once.
				wantPub := 1
				if slices.Contains(res.UpToDate, pipeline.PhasePublishModel) {
					wantPub = 0
				}
				if len(published) != wantPub || (wantPub == 1 && published[0].Plan.Kind != hub.KindModel) {
					t.Errorf("published %d times", len(published))
				}
			}
			b, _ := os.ReadFile(filepath.Join(dir, pipeline.ManifestName))
			if strings.Contains(string(b), hubtest.DefaultWriteToken) {
				t.Error("the token is in run.json")
			}
		})
	}
	// The same content from a new run directory: the phase runs, the Hub
	// already holds it, no commit.
	t.Run("same content from another run makes no commit", func(t *testing.T) {
		if e == nil {
			t.Skip("no engine")
		}
		// stats.json names the dataset after the run dir: the same name.
		other := filepath.Join(t.TempDir(), "samples")
		po := pipeline.PublishOptions{SkipModel: "--skip-fine-tuning", Token: hubtest.DefaultWriteToken, Endpoint: s.URL, Engine: e,
			Identity: &hub.Identity{User: "alicewonder", Home: "/home/alicewonder"}}
		res, err := pipeline.Run(context.Background(), pipeline.RunOptions{ArtifactPaths: []string{arts}, Dir: other, SkipFineTuning: true, Extra: pipeline.PublishPhases(po)})
		if err != nil {
			t.Fatal(err)
		}
		ph := res.Manifest.Phases[pipeline.PhasePublishDataset]
		// Three commits: the dataset and the card listing the model; the
		// local card, which lists no model, does not take the list away.
		dh := s.History("dataset", dsRepo, "main")
		if !slices.Contains(res.Ran, pipeline.PhasePublishDataset) || ph.Summary["committed"] != false || len(dh) != 3 {
			t.Errorf("republish from another run: ran %v, %+v", res.Ran, ph.Summary)
		}
		if !strings.Contains(string(dh[0].Files["README.md"]), "## Models trained on this dataset\n\n- ["+hubtest.DefaultUser+"/sec-model-") {
			t.Errorf("the republished dataset card lost its models:\n%s", dh[0].Files["README.md"])
		}
	})
	for _, r := range s.Leaks() {
		t.Errorf("token outside Authorization: %s %s (%s)", r.Method, r.Path, r.TokenElsewhere)
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
