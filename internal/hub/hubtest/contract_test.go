package hubtest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/engine/enginetest"
	"github.com/vulntune/vulntune/internal/hub/hubtest"
)

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOfficialClientContract runs the official huggingface_hub client
// against the stand-in: whoami, create (twice, exist_ok), upload_folder of
// a folder with a regular file, a 12 MiB safetensors file (LFS) and a card,
// the same upload again (no commit), a tag, model_info, the tree, and
// snapshot_download / hf_hub_download back, byte-identical; a dataset repo
// likewise; and a card whose base_model is not a Hub id, refused. Any route
// the client calls that the stand-in does not serve fails the test.
func TestOfficialClientContract(t *testing.T) {
	py := enginetest.Python(t, "the Hub client contract test")
	s := hubtest.New(t, hubtest.Options{})
	root := t.TempDir()
	weights := make([]byte, 12<<20)
	if _, err := rand.Read(weights); err != nil {
		t.Fatal(err)
	}
	model, dataset := filepath.Join(root, "model"), filepath.Join(root, "dataset")
	writeFiles(t, model, map[string][]byte{
		"README.md":                     []byte("---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\ntags: [mlx]\n---\n# model\n"),
		"config.json":                   []byte(`{"model_type": "llama"}` + "\n"),
		"model.safetensors":             weights,
		"adapters/adapter_config.json":  []byte(`{"peft_type": "LORA"}` + "\n"),
		"adapters/adapters.safetensors": weights[:4096],
	})
	writeFiles(t, dataset, map[string][]byte{
		"README.md":   []byte("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: train.jsonl\n---\n# data\n"),
		"train.jsonl": []byte(`{"messages": []}` + "\n"),
	})
	work := filepath.Join(root, "work")
	l := engine.Launcher{Python: py, LogDir: filepath.Join(root, "logs")}
	var stdout bytes.Buffer
	err := l.Run(context.Background(), engine.Call{
		Op:      "hub-contract",
		Args:    []string{"-I", filepath.Join("testdata", "contract.py"), model, dataset, work},
		HFToken: hubtest.DefaultWriteToken,
		Env:     append(s.Env(), "HF_HOME="+filepath.Join(root, "hf-home")),
		Stdout:  &stdout,
	})
	if err != nil {
		t.Fatalf("official client against the stand-in: %v", err)
	}
	var got struct {
		User             string            `json:"user"`
		FirstCommit      string            `json:"first_commit"`
		UnchangedCommit  string            `json:"unchanged_commit"`
		Tags             map[string]string `json:"tags"`
		SHA              string            `json:"sha"`
		Siblings         []string          `json:"siblings"`
		Tree             []string          `json:"tree"`
		ModelIdentical   []any             `json:"model_identical"`
		DatasetIdentical []any             `json:"dataset_identical"`
		BadCard          string            `json:"bad_card"`
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("contract script output: %v\n%s", err, stdout.String())
	}
	if got.User != hubtest.DefaultUser {
		t.Errorf("whoami: %q", got.User)
	}
	if got.UnchangedCommit != got.FirstCommit || got.SHA != got.FirstCommit || got.Tags["v1"] != got.FirstCommit {
		t.Errorf("commits: first %s, unchanged %s, head %s, tag %v", got.FirstCommit, got.UnchangedCommit, got.SHA, got.Tags)
	}
	wantFiles := []string{".gitattributes", "README.md", "adapters/adapter_config.json", "adapters/adapters.safetensors", "config.json", "model.safetensors"}
	if strings.Join(got.Siblings, ",") != strings.Join(wantFiles, ",") || strings.Join(got.Tree, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("siblings %v, tree %v, want %v", got.Siblings, got.Tree, wantFiles)
	}
	if len(got.ModelIdentical) != 2 || got.ModelIdentical[0] != true || len(got.DatasetIdentical) != 2 || got.DatasetIdentical[0] != true {
		t.Errorf("downloads differ from the uploads: model %v, dataset %v", got.ModelIdentical, got.DatasetIdentical)
	}
	if !strings.Contains(got.BadCard, "not a Hub repo id") {
		t.Errorf("a card with base_model SmolLM2-135M-Instruct: %q, want refused", got.BadCard)
	}

	id := hubtest.DefaultUser + "/contract-model"
	if h := s.History("model", id, "main"); len(h) != 2 {
		t.Errorf("model repo has %d commits, want the initial one and one upload", len(h))
	} else if !bytes.Equal(h[0].Files["model.safetensors"], weights) {
		t.Error("stand-in holds other weights than were uploaded")
	}
	if _, private := s.Repo("model", id); !private {
		t.Error("model repo was created private but is public")
	}
	if n := s.Count("lfs-upload"); n != 2 {
		t.Errorf("%d LFS uploads, want 2 (each object once, none re-sent by the unchanged upload)", n)
	}
	for _, r := range s.Leaks() {
		t.Errorf("token outside the Authorization header: %s %s (%s)", r.Method, r.Path, r.TokenElsewhere)
	}
	for _, r := range s.Requests() {
		if r.Route == "lfs-upload" && r.Header.Get("Authorization") != "" {
			t.Errorf("LFS upload to the storage URL carried Authorization")
		}
	}
}
