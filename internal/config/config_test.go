package config_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/golden"
)

// noEnv is an environment with nothing set, so the developer's own
// VULNTUNE_* or HF_TOKEN cannot leak into a test.
func noEnv(string) string { return "" }

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const home = "/home/test"

func TestValidFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/config/valid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid fixtures: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(config.LoadOptions{Path: path, Getenv: noEnv, HomeDir: home, GOOS: "linux"})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			// Key, value and source only: help text changes should not
			// churn every golden.
			type row struct {
				Key    string `json:"key"`
				Value  any    `json:"value"`
				Source string `json:"source"`
			}
			var rows []row
			for _, s := range c.Settings() {
				rows = append(rows, row{s.Key, s.Value, s.Source})
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rows); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, strings.TrimSuffix(path, ".yaml")+".golden.json", buf.Bytes())
		})
	}
}

// TestOriginalPlan pins the values that matter from the plan's own file,
// beyond "it loads": the plan's keys must keep their meaning.
func TestOriginalPlan(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "config", "valid", "original-plan.yaml")
	c, err := config.Load(config.LoadOptions{Path: path, Getenv: noEnv, HomeDir: home, GOOS: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	ft := c.FineTuning
	checks := []struct {
		name      string
		got, want any
	}{
		{"base_models_dir", c.BaseModelsDir, "/home/test/shared-olmo-models/base"},
		{"default_base_model", c.DefaultBaseModel, "OLMo-2-1B-mlx-q4"},
		{"workspace_dir relative to the file", ft.WorkspaceDir, filepath.Join(filepath.Dir(path), "security-ai-analysis/fine-tuning")},
		{"learning_rate", ft.Training.LearningRate, 5e-6},
		{"batch_size", ft.Training.BatchSize, 1},
		{"max_stage2_iters", ft.Training.MaxStage2Iters, 1200},
		{"lora.rank", ft.LoRA.Rank, 16},
		{"lora.alpha", ft.LoRA.Alpha, 32.0},
		{"lora.targets", len(ft.LoRA.TargetModules), 7},
		{"quantization", ft.MLX.Quantization, "q4"},
		{"upload_enabled", ft.HuggingFace.UploadEnabled, true},
		{"private_repos", ft.HuggingFace.PrivateRepos, false},
		{"repo prefix", ft.HuggingFace.DefaultRepoPrefix, "hitoshura25"},
		{"knowledge_base", c.KnowledgeBase.VectorStoreType, "faiss"},
		{"validation", c.PlanValidation.SequentialThreshold, 0.6},
		{"category weight", c.MultiDomain.CategoryWeights["webauthn_security"], 1.5},
		{"multi_domain.validation", c.MultiDomain.Validation.CategoryMinimum, 0.4},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestInvalidFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/config/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid fixtures: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			wants, secrets := directives(string(data), "# want: "), directives(string(data), "# secret: ")
			if len(wants) == 0 {
				t.Fatal("fixture has no '# want: ' line")
			}
			_, err = config.Load(config.LoadOptions{Path: path, Getenv: noEnv, HomeDir: home, GOOS: "linux"})
			if err == nil {
				t.Fatal("Load succeeded; want an error")
			}
			msg := err.Error()
			for _, w := range wants {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
			if len(wants) > 1 && strings.Count(msg, "\n")+1 < len(wants) {
				t.Errorf("want %d problems reported, got:\n%s", len(wants), msg)
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error reveals the secret %q:\n%s", s, msg)
				}
			}
		})
	}
}

// directives returns the text after prefix on each line that starts with it.
func directives(text, prefix string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			out = append(out, strings.TrimSpace(rest))
		}
	}
	return out
}

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }
