package hub_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/hub"
	"github.com/vulntune/vulntune/internal/hub/hubtest"
)

// testEngine returns the engine venv's engine pointed at the stand-in, or
// skips like the engine tests do.
func testEngine(t *testing.T) *engine.Engine {
	t.Helper()
	py := os.Getenv("VULNTUNE_TEST_ENGINE_PYTHON")
	if dir := os.Getenv("VULNTUNE_DATA_DIR"); py == "" && dir != "" {
		e, err := engine.Open(dir)
		if err != nil {
			t.Skipf("no engine in VULNTUNE_DATA_DIR=%s (%v): run `make setup`", dir, err)
		}
		py = e.Python
	}
	if py == "" {
		t.Skip("no engine: run `make setup` (or export VULNTUNE_DATA_DIR / VULNTUNE_TEST_ENGINE_PYTHON) to publish to the Hub stand-in")
	}
	t.Setenv("HF_HUB_DISABLE_XET", "1")
	t.Setenv("HF_HOME", t.TempDir()) // no login token file but the test's
	return engine.New(py, t.TempDir())
}

func token(t *testing.T, v string) hub.Token {
	t.Helper()
	tok, err := hub.ResolveToken(v, func(string) string { return "" }, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestPublishToStandIn publishes a model and a dataset through the engine
// to the Hub stand-in: files, privacy, tag; then the same model again (no
// commit); then each refusal, with the stand-in's log showing nothing was
// written. The write token is the canary: it may appear only in
// Authorization headers, never in a request body, URL, log or output.
func TestPublishToStandIn(t *testing.T) {
	s := hubtest.New(t, hubtest.Options{})
	e := testEngine(t)
	ctx := context.Background()
	root := t.TempDir()
	model := filepath.Join(root, "sec-model")
	hubtest.WriteModel(t, model, hubtest.ModelOptions{})
	opts := func(kind, dir string) hub.Options {
		return hub.Options{PlanOptions: hub.PlanOptions{Kind: kind, Dir: dir, Private: true}, GateOptions: gateOptions(),
			Token: token(t, hubtest.DefaultWriteToken), Endpoint: s.URL, Engine: e, BackoffSeconds: 0.05}
	}

	var progress []hub.Progress
	o := opts(hub.KindModel, model)
	o.Progress = func(p hub.Progress) { progress = append(progress, p) }
	res, err := hub.Publish(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	repo := hubtest.DefaultUser + "/sec-model"
	pub := res.Published
	if res.Plan.Repo != repo || !pub.Committed || !pub.Private || pub.Tag != res.Plan.Tag || !pub.TagNew {
		t.Fatalf("published %+v (plan repo %s)", pub, res.Plan.Repo)
	}
	head := s.History("model", repo, "main")[0]
	for _, f := range res.Plan.Files {
		want, _ := os.ReadFile(f.Local)
		if string(head.Files[f.Path]) != string(want) {
			t.Errorf("%s on the stand-in differs from the local file", f.Path)
		}
	}
	if len(head.Files) != len(res.Plan.Files)+1 { // + .gitattributes
		t.Errorf("the stand-in holds %d files, the plan %d", len(head.Files), len(res.Plan.Files))
	}
	if len(progress) == 0 || progress[len(progress)-1].Stage == "" {
		t.Errorf("no progress reported: %+v", progress)
	}

	s.ResetLog()
	again, err := hub.Publish(ctx, opts(hub.KindModel, model))
	if err != nil || again.Published.Committed || len(s.History("model", repo, "main")) != 2 {
		t.Fatalf("republishing unchanged content: %v %+v", err, again.Published)
	}
	for _, w := range s.Writes() {
		if w.Status < 400 {
			t.Errorf("republishing unchanged content wrote: %s %s -> %d", w.Method, w.Path, w.Status)
		}
	}

	ds := filepath.Join(root, "findings-ds")
	hubtest.WriteDataset(t, ds, "", 30)
	if r, err := hub.Publish(ctx, opts(hub.KindDataset, ds)); err != nil || !r.Published.Committed {
		t.Fatalf("dataset: %v", err)
	}
	if h := s.History("dataset", hubtest.DefaultUser+"/findings-ds", "main"); len(h) != 2 || h[0].Files["examples.meta.jsonl"] != nil || h[0].Files["train.jsonl"] == nil {
		t.Errorf("dataset repo: %d commits", len(h))
	}
	// A revision is a branch made from main: the same content there makes
	// no commit of its own; a change goes to the branch only.
	appendTo(t, filepath.Join(ds, "README.md"), "\nSecond edition.\n")
	ob := opts(hub.KindDataset, ds)
	ob.Revision = "v2"
	if r, err := hub.Publish(ctx, ob); err != nil || !r.Published.Committed || r.Published.Revision != "v2" {
		t.Fatalf("dataset on a branch: %v", err)
	}
	if main, v2 := s.History("dataset", hubtest.DefaultUser+"/findings-ds", "main"), s.History("dataset", hubtest.DefaultUser+"/findings-ds", "v2"); len(main) != 2 || len(v2) != 3 || v2[1].ID != main[0].ID {
		t.Errorf("branch v2: %d commits on main, %d on v2", len(main), len(v2))
	}

	refusals := []struct {
		name      string
		setup     func(o *hub.Options)
		wantErr   string
		wantReads int // whoami calls allowed
	}{
		{"model failing validation", func(o *hub.Options) {
			dir := filepath.Join(root, "beaten")
			hubtest.WriteModel(t, dir, hubtest.ModelOptions{Beaten: true})
			o.Dir = dir
		}, "held-out loss", 0},
		{"dataset with a planted secret", func(o *hub.Options) {
			dir := filepath.Join(root, "leaky")
			hubtest.WriteDataset(t, dir, "", 30)
			appendTo(t, filepath.Join(dir, "valid.jsonl"), secretRow)
			o.Kind, o.Dir = hub.KindDataset, dir
		}, "github-pat", 0},
		{"dataset with a home path", func(o *hub.Options) {
			dir := filepath.Join(root, "homey")
			hubtest.WriteDataset(t, dir, "", 30)
			appendTo(t, filepath.Join(dir, "README.md"), "\nbuilt in /home/alicewonder/src\n")
			o.Kind, o.Dir = hub.KindDataset, dir
		}, "README.md:", 0},
		{"missing token", func(o *hub.Options) { o.Token = hub.Token{} }, "no Hugging Face token", 0},
		{"read-only token", func(o *hub.Options) { o.Token = token(t, hubtest.DefaultReadToken) }, "token is read-only", 1},
		{"another namespace", func(o *hub.Options) { o.Repo = "someone-else/sec-model" }, "not a member of someone-else", 1},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			s.ResetLog()
			o := opts(hub.KindModel, model)
			tt.setup(&o)
			_, err := hub.Publish(ctx, o)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want a refusal containing %q", err, tt.wantErr)
			}
			reqs := s.Requests()
			if len(reqs) != tt.wantReads || len(reqs) == 1 && reqs[0].Route != "whoami" {
				t.Errorf("requests before the refusal: %+v", reqs)
			}
		})
	}
	var re *hub.RefusedError
	if _, err := hub.Publish(ctx, hub.Options{PlanOptions: hub.PlanOptions{Kind: hub.KindModel, Dir: filepath.Join(root, "beaten")},
		GateOptions: gateOptions(), Engine: e}); !errors.As(err, &re) {
		t.Errorf("refusal is not a *RefusedError: %v", err)
	}

	for _, r := range s.Leaks() {
		t.Errorf("token outside Authorization: %s %s (%s)", r.Method, r.Path, r.TokenElsewhere)
	}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), hubtest.DefaultWriteToken) {
				t.Errorf("%s holds the token", p)
			}
		}
		return nil
	})
	if logs, _ := filepath.Glob(filepath.Join(e.LogDir, "*")); len(logs) == 0 {
		t.Error("no engine logs to check")
	} else {
		for _, l := range logs {
			if b, _ := os.ReadFile(l); strings.Contains(string(b), hubtest.DefaultWriteToken) {
				t.Errorf("engine log %s holds the token", l)
			}
		}
	}
}
