package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/modelstore/modeltest"

	"github.com/vulntune/vulntune/internal/modelstore"
)

func writeTinyGGUF(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	if err := modeltest.WriteTinyLlamaGGUF(&buf, modeltest.TinyLlamaOptions{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tiny-random.gguf")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestModelsImportAndList(t *testing.T) {
	home := cleanEnv(t)
	base := filepath.Join(home, "models", "base")
	tuned := filepath.Join(home, "models", "tuned")
	src := writeTinyGGUF(t)
	dirs := []string{"--base-models-dir", base}

	tests := []struct {
		name       string
		args       []string
		wantExit   int
		wantStdout string
		wantStderr string
	}{
		{"list empty", []string{"models", "list", "--base-models-dir", base, "--fine-tuned-models-dir", tuned},
			exitOK, "no models in", ""},
		{"import", append([]string{"models", "import", src, "--name", "tiny"}, dirs...),
			exitOK, "imported tiny: llama, 27.2K parameters, float32 (from Q4_1), ", ""},
		{"import again refuses", append([]string{"models", "import", src, "--name", "tiny"}, dirs...),
			exitUsage, "", "model already exists (use --force to replace it)"},
		{"import force bf16", append([]string{"models", "import", src, "--name", "tiny", "--force", "--dtype", "bfloat16"}, dirs...),
			exitOK, "bfloat16 (from Q4_1)", ""},
		{"import default name", append([]string{"models", "import", src}, dirs...),
			exitOK, "imported tiny-random:", ""},
		{"bad name", append([]string{"models", "import", src, "--name", "../x"}, dirs...),
			exitUsage, "", `--name "../x" must be a plain folder name`},
		{"bad dtype", append([]string{"models", "import", src, "--name", "y", "--dtype", "int4"}, dirs...),
			exitError, "", `unknown dtype "int4"`},
		{"not gguf", append([]string{"models", "import", filepath.Join(home, "none.gguf")}, dirs...),
			exitError, "", "none.gguf: no such file"},
		{"list table", []string{"models", "list", "--base-models-dir", base, "--fine-tuned-models-dir", tuned},
			exitOK, "tiny         base  llama  27.2K   bfloat16  Q4_1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.wantExit || !strings.Contains(out, tt.wantStdout) || !strings.Contains(errOut, tt.wantStderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stdout containing %q, stderr containing %q",
					code, tt.wantExit, out, errOut, tt.wantStdout, tt.wantStderr)
			}
		})
	}

	code, out, errOut := runCLI(t, "models", "list", "--json", "--base-models-dir", base, "--fine-tuned-models-dir", tuned)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var models []modelstore.Model
	if err := json.Unmarshal([]byte(out), &models); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if len(models) != 2 || models[0].Name != "tiny" || models[1].Name != "tiny-random" || models[0].Parameters != 27200 {
		t.Fatalf("list --json: %+v", models)
	}
}

func TestModelsListJSONEmptyIsArray(t *testing.T) {
	home := cleanEnv(t)
	code, out, _ := runCLI(t, "models", "list", "--json", "--base-models-dir", filepath.Join(home, "a"), "--fine-tuned-models-dir", filepath.Join(home, "b"))
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Fatalf("exit %d, stdout %q, want []", code, out)
	}
}
