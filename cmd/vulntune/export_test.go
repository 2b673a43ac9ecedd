package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExport runs `vulntune export` on an imported tiny model by name, then
// `vulntune models import` on what it wrote: the round trip the command
// promises, through the CLI.
func TestExport(t *testing.T) {
	home := cleanEnv(t)
	base := filepath.Join(home, "models", "base")
	tuned := filepath.Join(home, "models", "tuned")
	dirs := []string{"--base-models-dir", base, "--fine-tuned-models-dir", tuned}
	if code, _, errOut := runCLI(t, "models", "import", writeTinyGGUF(t), "--name", "tiny", "--base-models-dir", base); code != exitOK {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	out := filepath.Join(home, "gguf")
	// A run directory stands for the model it fine-tuned ("tiny" here);
	// one that trained none says so.
	runDir, bareRun := filepath.Join(home, "runs", "r1"), filepath.Join(home, "runs", "r2")
	for dir, manifest := range map[string]string{runDir: `{"version":1,"model_name":"tiny"}`, bareRun: `{"version":1}`} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "run.json"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		args       []string
		wantExit   int
		wantStdout string
		wantStderr string
	}{
		{"f16", []string{"export", "tiny", "-o", out}, exitOK, "tiny.F16.gguf (llama, ", ""},
		{"q8_0", []string{"export", "tiny", "--quant", "q8_0", "-o", out}, exitOK, "load it with: ollama create NAME -f " + filepath.Join(out, "Modelfile"), ""},
		{"q4_k_m refused", []string{"export", "tiny", "--quant", "q4_k_m", "-o", out}, exitUsage, "", "supported: f16, q8_0"},
		{"bad format", []string{"export", "tiny", "--format", "onnx", "-o", out}, exitUsage, "", "supported: gguf"},
		{"unknown model", []string{"export", "nope", "-o", out}, exitUsage, "", `model "nope" not found`},
		{"a run's model", []string{"export", runDir, "-o", filepath.Join(home, "from-run")}, exitOK, "tiny.F16.gguf (llama, ", ""},
		{"a run without a model", []string{"export", bareRun, "-o", out}, exitUsage, "", "run r2 has no fine-tuned model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append(tt.args, dirs...)...)
			if code != tt.wantExit || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stdout containing %q, stderr containing %q",
					code, tt.wantExit, stdout, stderr, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	mf, err := os.ReadFile(filepath.Join(out, "Modelfile"))
	if err != nil || !strings.Contains(string(mf), "FROM ./tiny.Q8_0.gguf\n") {
		t.Fatalf("Modelfile (%v):\n%s", err, mf)
	}
	code, stdout, stderr := runCLI(t, "models", "import", filepath.Join(out, "tiny.Q8_0.gguf"), "--name", "back", "--base-models-dir", base)
	if code != exitOK || !strings.Contains(stdout, "imported back: llama, 27.2K parameters, float32 (from Q8_0)") {
		t.Fatalf("import of the export: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, append([]string{"export", "tiny", "--json", "-o", filepath.Join(home, "j")}, dirs...)...)
	var res struct {
		GGUF    string `json:"gguf"`
		Tensors int    `json:"tensors"`
		Bytes   int64  `json:"bytes"`
	}
	if code != exitOK || json.Unmarshal([]byte(stdout), &res) != nil || res.Tensors != 20 || res.Bytes == 0 || !strings.HasSuffix(res.GGUF, "tiny.F16.gguf") {
		t.Fatalf("export --json: exit %d %+v\n%s%s", code, res, stdout, stderr)
	}
}
