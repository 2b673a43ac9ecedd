package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/hub"
	"github.com/vulntune/vulntune/internal/hub/hubtest"
	"github.com/vulntune/vulntune/internal/validate"
)

func paths(p *hub.Plan) string {
	var out []string
	for _, f := range p.Files {
		out = append(out, f.Path)
	}
	return strings.Join(out, " ")
}

func TestPlanModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sec-model")
	hubtest.WriteModel(t, dir, hubtest.ModelOptions{})
	// Another evaluation set (make demo's other projects): its results go
	// up with the held-out split's, its generations stay home, and a
	// directory that cannot be a set's is not taken for one.
	res, err := os.ReadFile(filepath.Join(dir, "eval", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"eval/other/results.json", "eval/other/generations.jsonl", "eval/Not A Set/results.json"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, res, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		opts      hub.PlanOptions
		wantRepo  string
		wantFiles string
	}{
		{"prefix", hub.PlanOptions{Kind: hub.KindModel, Dir: dir, Prefix: "acme", Private: true}, "acme/sec-model",
			"README.md adapters/adapter_config.json adapters/adapters.safetensors adapters/peft/adapter_config.json adapters/peft/adapter_model.safetensors " +
				"config.json eval/other/results.json eval/results.json generation_config.json " +
				"metadata.json model.safetensors special_tokens_map.json tokenizer.json tokenizer_config.json training/metrics.jsonl"},
		{"repo flag", hub.PlanOptions{Kind: hub.KindModel, Dir: dir, Prefix: "acme", Repo: "me/other"}, "me/other", ""},
		{"account", hub.PlanOptions{Kind: hub.KindModel, Dir: dir}, "/sec-model", ""},
		{"adapter only", hub.PlanOptions{Kind: hub.KindModel, Dir: dir, Prefix: "acme", AdapterOnly: true}, "acme/sec-model-adapter",
			"README.md adapter_config.json adapter_model.safetensors eval/other/results.json eval/results.json metadata.json mlx/adapter_config.json mlx/adapters.safetensors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := hub.NewPlan(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if p.Repo != tt.wantRepo {
				t.Errorf("repo %q, want %q", p.Repo, tt.wantRepo)
			}
			if tt.wantFiles != "" && paths(p) != tt.wantFiles {
				t.Errorf("files\n %s\nwant\n %s", paths(p), tt.wantFiles)
			}
			if !regexp.MustCompile(`^v20261126\.101500-[0-9a-f]{8}$`).MatchString(p.Tag) {
				t.Errorf("tag %q", p.Tag)
			}
			for _, f := range p.Files {
				if len(f.SHA256) != 64 || f.Size <= 0 {
					t.Errorf("%s: size %d sha256 %q", f.Path, f.Size, f.SHA256)
				}
			}
		})
	}
	p, _ := hub.NewPlan(tests[0].opts)
	skipped := map[string]bool{}
	for _, s := range p.Skipped {
		skipped[s.Path] = true
	}
	for _, f := range []string{"training/train.log", "training/optimizer.safetensors", "eval/generations.jsonl",
		"eval/other/generations.jsonl", "eval/Not A Set/results.json"} {
		if !skipped[f] {
			t.Errorf("%s is not in the skipped list: %+v", f, p.Skipped)
		}
	}
	a, _ := hub.NewPlan(tests[3].opts)
	if !strings.Contains(a.Card, "base_model: HuggingFaceTB/SmolLM2-135M-Instruct") || !strings.Contains(a.Card, "--adapter-path mlx") ||
		!strings.Contains(a.Card, "library_name: peft") || !strings.Contains(a.Card, "PeftModel.from_pretrained(base, \".\")") {
		t.Errorf("adapter card:\n%s", a.Card)
	}
	// The adapter-only repo's root adapter_config.json is PEFT's.
	for _, f := range a.Files {
		if f.Path == "adapter_config.json" && !strings.HasSuffix(filepath.ToSlash(f.Local), "adapters/peft/adapter_config.json") {
			t.Errorf("adapter_config.json at the root is %s, want PEFT's", f.Local)
		}
	}
	// A model dir from before PEFT export: mlx-lm's adapter at the root.
	old := filepath.Join(t.TempDir(), "old-model")
	hubtest.WriteModel(t, old, hubtest.ModelOptions{})
	if err := os.RemoveAll(filepath.Join(old, "adapters", "peft")); err != nil {
		t.Fatal(err)
	}
	o, err := hub.NewPlan(hub.PlanOptions{Kind: hub.KindModel, Dir: old, Prefix: "acme", AdapterOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(o); got != "README.md adapter_config.json adapters.safetensors eval/results.json metadata.json" ||
		!strings.Contains(o.Card, "--adapter-path .") || !strings.Contains(o.Card, "library_name: mlx") {
		t.Errorf("adapter-only without PEFT: %s\n%s", got, o.Card)
	}

	if _, err := hub.NewPlan(hub.PlanOptions{Kind: hub.KindModel, Dir: dir, Repo: "no-namespace"}); err == nil {
		t.Error("--repo without a namespace accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad name")
	os.MkdirAll(bad, 0o755)
	if _, err := hub.NewPlan(hub.PlanOptions{Kind: hub.KindModel, Dir: bad}); err == nil || !strings.Contains(err.Error(), "not a valid Hub repo name") {
		t.Errorf("a name with a space: %v", err)
	}
}

func TestPlanDataset(t *testing.T) {
	run := filepath.Join(t.TempDir(), "demo")
	dir := filepath.Join(run, "dataset")
	hubtest.WriteDataset(t, dir, "", 30)
	p, err := hub.NewPlan(hub.PlanOptions{Kind: hub.KindDataset, Dir: dir, Prefix: "acme", Revision: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Repo != "acme/demo-dataset" || p.Revision != "v2" || p.Tag != "" {
		t.Errorf("repo %q revision %q tag %q", p.Repo, p.Revision, p.Tag)
	}
	if got := paths(p); got != "README.md stats.json train.jsonl valid.jsonl" {
		t.Errorf("files %s", got)
	}
	if len(p.Skipped) != 1 || p.Skipped[0].Path != "examples.meta.jsonl" {
		t.Errorf("skipped %+v", p.Skipped)
	}
	named := filepath.Join(t.TempDir(), "ds")
	hubtest.WriteDataset(t, named, "security-findings", 30)
	if p, err := hub.NewPlan(hub.PlanOptions{Kind: hub.KindDataset, Dir: named}); err != nil || p.Repo != "/security-findings" {
		t.Errorf("named dataset: %v %+v", err, p)
	}
}

// validateNoEngine is validate's artifact checks and quality gate, with
// the engine checks skipped: what the gate sees of a model without
// loading it.
func validateNoEngine(ctx context.Context, dir string) (*validate.Report, error) {
	return validate.Run(ctx, validate.Options{ModelDir: dir, RequireEval: true})
}

func gateOptions() hub.GateOptions {
	return hub.GateOptions{ValidateModel: validateNoEngine, Identity: hub.Identity{User: "alicewonder", Home: "/home/alicewonder"}}
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// secretRow is a training row that carries a GitHub token; the value is
// split so repository scanners do not flag this file.
var secretRow = `{"messages": [{"role": "user", "content": "token ghp_` + "xK9mQ2vL8nR4tY6wZ1aB3cD5eF7gH0jN2pS4" + `"}, {"role": "assistant", "content": "Rotate it."}]}` + "\n"

func TestGate(t *testing.T) {
	tests := []struct {
		name    string
		kind    string
		model   hubtest.ModelOptions
		setup   func(t *testing.T, dir string)
		want    []string // problems that must be reported
		notWant string   // text no problem may contain (a secret's value)
	}{
		{"model passes", hub.KindModel, hubtest.ModelOptions{}, nil, nil, ""},
		{"model beaten by its base", hub.KindModel, hubtest.ModelOptions{Beaten: true}, nil, []string{"validation: held-out loss (gate): tuned 2.0000 does not beat base 1.0000"}, ""},
		{"model card names a folder", hub.KindModel, hubtest.ModelOptions{}, func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "README.md"))
			os.WriteFile(filepath.Join(dir, "README.md"), bytes.Replace(b, []byte("base_model: HuggingFaceTB/SmolLM2-135M-Instruct"), []byte("base_model: SmolLM2-135M-Instruct\ndatasets: [dataset]"), 1), 0o644)
		}, []string{"card: README.md: base_model SmolLM2-135M-Instruct is not a Hub id", "card: README.md: datasets dataset is not a Hub id"}, ""},
		{"model metrics with a home path", hub.KindModel, hubtest.ModelOptions{}, func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, "training", "metrics.jsonl"), `{"step": 2, "checkpoint": "/home/alicewonder/ckpt"}`+"\n")
		}, []string{"privacy scan: training/metrics.jsonl:2: local home directory"}, "ckpt"},
		{"dataset passes", hub.KindDataset, hubtest.ModelOptions{}, nil, nil, ""},
		{"dataset with a planted token", hub.KindDataset, hubtest.ModelOptions{}, func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, "train.jsonl"), secretRow)
		}, []string{"privacy scan: train.jsonl:", ": github-pat", "stats.json counts"}, "xK9mQ2"},
		{"dataset with a home path and an address", hub.KindDataset, hubtest.ModelOptions{}, func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "README.md"))
			os.WriteFile(filepath.Join(dir, "README.md"), append(b, []byte("\nBuilt by alicewonder <alice.w@corp-mail.io> in /Users/bob/work.\n")...), 0o644)
		}, []string{"local user name", "e-mail address"}, "corp-mail"},
		{"dataset with a placeholder answer", hub.KindDataset, hubtest.ModelOptions{}, func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "valid.jsonl"))
			os.WriteFile(filepath.Join(dir, "valid.jsonl"), bytes.Replace(b, []byte("The finding is real"), []byte("TODO: Implement the fix. The finding is real"), 1), 0o644)
		}, []string{`build checks: example`, dataset.ReasonPlaceholder}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "x")
			if tt.kind == hub.KindModel {
				hubtest.WriteModel(t, dir, tt.model)
			} else {
				hubtest.WriteDataset(t, dir, "x", 30)
			}
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			p, err := hub.NewPlan(hub.PlanOptions{Kind: tt.kind, Dir: dir, Prefix: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			v, err := hub.Gate(context.Background(), p, gateOptions())
			if err != nil {
				t.Fatal(err)
			}
			problems := strings.Join(v.Problems(), "\n")
			if v.Passed != (len(tt.want) == 0) {
				t.Fatalf("passed=%v, problems:\n%s", v.Passed, problems)
			}
			for _, w := range tt.want {
				if !strings.Contains(problems, w) {
					t.Errorf("problems lack %q:\n%s", w, problems)
				}
			}
			if tt.notWant != "" {
				b, _ := json.Marshal(v)
				if strings.Contains(string(b), tt.notWant) {
					t.Errorf("the verdict quotes the value %q:\n%s", tt.notWant, b)
				}
			}
		})
	}
}

func TestPublishRefusesBeforeSending(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	hubtest.WriteModel(t, dir, hubtest.ModelOptions{Beaten: true})
	// No engine and no token: a refusal must not need either.
	res, err := hub.Publish(context.Background(), hub.Options{
		PlanOptions: hub.PlanOptions{Kind: hub.KindModel, Dir: dir, Prefix: "acme"}, GateOptions: gateOptions()})
	var re *hub.RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "nothing was sent") || res.Plan.Verdict.Passed {
		t.Fatalf("publish of a beaten model: %v", err)
	}
	var out bytes.Buffer
	dry, err := hub.Publish(context.Background(), hub.Options{
		PlanOptions: hub.PlanOptions{Kind: hub.KindModel, Dir: dir, Prefix: "acme"}, GateOptions: gateOptions(), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.WriteText(&out, dry); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"publish model acme/m (public when created), revision main, tag v20261126.101500-",
		"model.safetensors", "not published (3):", "card (README.md):", "  | license: apache-2.0", "gate: REFUSED",
		"FAIL  validation", "dry run: nothing was sent"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}
}
