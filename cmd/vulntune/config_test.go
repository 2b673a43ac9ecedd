package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/golden"
)

// cleanEnv points HOME at a fresh directory and clears every variable that
// config reads, so the developer's own settings cannot leak in. It returns
// the home directory.
func cleanEnv(t *testing.T) string {
	t.Helper()
	h := t.TempDir()
	setEnv(t, h)
	return h
}

// setEnv is cleanEnv with a given home directory.
func setEnv(t *testing.T, h string) {
	t.Helper()
	t.Setenv("HOME", h)
	for _, v := range []string{"XDG_DATA_HOME", "XDG_CONFIG_HOME", config.ConfigEnv} {
		t.Setenv(v, "")
	}
	for _, in := range config.Keys() {
		for _, v := range strings.Split(in.Env, " or ") {
			t.Setenv(v, "")
		}
	}
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigShowGolden(t *testing.T) {
	// A fixed, absent home keeps the golden stable and its columns aligned;
	// Load never needs the home directory to exist.
	setEnv(t, "/home/vulntune-test")
	code, out, errOut := runCLI(t, "config", "show")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden.Assert(t, filepath.Join("testdata", "config-show-defaults.golden"), []byte(out))
}

func TestConfigShowNeverPrintsTokens(t *testing.T) {
	cleanEnv(t)
	const hf, gh = "hf_TopSecretValue123456789", "ghp_AlsoSecret987654321"
	t.Setenv("HF_TOKEN", hf)
	t.Setenv("GITHUB_TOKEN", gh)
	for _, args := range [][]string{{"config", "show"}, {"config", "show", "--json"}, {"config", "show", "--all", "--json"}} {
		code, out, errOut := runCLI(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		for _, secret := range []string{hf, gh} {
			if strings.Contains(out+errOut, secret) {
				t.Errorf("%v printed a token value", args)
			}
		}
		if !strings.Contains(out, "(set)") || !strings.Contains(out, "env:HF_TOKEN") || !strings.Contains(out, "env:GITHUB_TOKEN") {
			t.Errorf("%v: tokens not reported as set from the environment:\n%s", args, out)
		}
	}
}

func TestConfigShowJSON(t *testing.T) {
	cleanEnv(t)
	t.Setenv("VULNTUNE_FINE_TUNING_LORA_RANK", "32")
	code, out, errOut := runCLI(t, "config", "show", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		ConfigFile string `json:"config_file"`
		Settings   []struct {
			Key    string `json:"key"`
			Value  any    `json:"value"`
			Source string `json:"source"`
		} `json:"settings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	found := false
	for _, s := range doc.Settings {
		if s.Key == "fine_tuning.lora.rank" {
			found = s.Value == 32.0 && s.Source == "env:VULNTUNE_FINE_TUNING_LORA_RANK"
		}
		if s.Key == "fine_tuning.lora.target_modules" {
			if l, ok := s.Value.([]any); !ok || len(l) != 7 {
				t.Errorf("target_modules = %#v, want a JSON list of 7", s.Value)
			}
		}
	}
	if !found {
		t.Errorf("rank from the environment not shown as 32 from env:\n%s", out)
	}
}

func TestConfigErrorsExitUsage(t *testing.T) {
	h := cleanEnv(t)
	bad := filepath.Join(h, "bad.yaml")
	if err := os.WriteFile(bad, []byte("fine_tuning:\n  lora:\n    rnak: 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{name: "unknown key in --config", args: []string{"--config", bad, "config", "show"},
			wantErr: bad + `:3: unknown key "fine_tuning.lora.rnak" (did you mean "rank"?)`},
		{name: "validate", args: []string{"config", "validate", bad}, wantErr: `unknown key "fine_tuning.lora.rnak"`},
		{name: "missing --config", args: []string{"--config", filepath.Join(h, "nope.yaml"), "config", "show"}, wantErr: "nope.yaml"},
		{name: "bad env", env: map[string]string{"VULNTUNE_DATASET_SEED": "x"}, args: []string{"config", "show"},
			wantErr: "environment variable VULNTUNE_DATASET_SEED (dataset.seed): expected an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, _, errOut := runCLI(t, tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, exitUsage, tt.wantErr)
			}
			if !strings.Contains(errOut, "hint: docs/configuration.md") {
				t.Errorf("no hint in %q", errOut)
			}
		})
	}
}

func TestConfigInit(t *testing.T) {
	h := cleanEnv(t)
	path := filepath.Join(h, "sub", "vulntune.yaml")
	if code, out, errOut := runCLI(t, "config", "init", path); code != exitOK || !strings.Contains(out, "wrote "+path) {
		t.Fatalf("init: exit %d, %q %q", code, out, errOut)
	}
	if err := os.WriteFile(path, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "config", "init", path); code != exitUsage || !strings.Contains(errOut, "--force") {
		t.Fatalf("init over an existing file: exit %d, %q", code, errOut)
	}
	if data, _ := os.ReadFile(path); string(data) != "# mine\n" {
		t.Fatal("init without --force changed the existing file")
	}
	if code, _, errOut := runCLI(t, "config", "init", "--force", path); code != exitOK {
		t.Fatalf("init --force: exit %d, %q", code, errOut)
	}
	if code, out, errOut := runCLI(t, "config", "validate", path); code != exitOK || !strings.Contains(out, "ok") {
		t.Fatalf("validate the written file: exit %d, %q %q", code, out, errOut)
	}
	// Without a FILE, init writes the user config file that Load finds.
	if code, _, errOut := runCLI(t, "config", "init"); code != exitOK {
		t.Fatalf("init default path: exit %d, %q", code, errOut)
	}
	if code, out, _ := runCLI(t, "config", "show"); code != exitOK || !strings.Contains(out, filepath.Join(h, ".config", "vulntune", "config.yaml")) {
		t.Errorf("config show does not find the file init wrote:\n%s", out)
	}
}

// TestConfigFlags checks the helpers other commands use: flags declared by
// the settings table override the environment and show as flag sources.
func TestConfigFlags(t *testing.T) {
	cleanEnv(t)
	t.Setenv("VULNTUNE_FINE_TUNING_LORA_RANK", "32")
	a := &app{}
	var got *config.Config
	cmd := &cobra.Command{Use: "x", SilenceErrors: true, SilenceUsage: true, RunE: func(cmd *cobra.Command, _ []string) error {
		var err error
		got, err = a.loadConfigFor(cmd)
		return err
	}}
	bindConfigFlags(cmd, "fine_tuning.lora.rank", "fine_tuning.huggingface.upload_enabled", "dataset.seed")
	cmd.SetArgs([]string{"--lora-rank", "4", "--upload"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.FineTuning.LoRA.Rank != 4 || !got.FineTuning.HuggingFace.UploadEnabled || got.Dataset.Seed != 42 {
		t.Errorf("rank %d upload %v seed %d; want 4, true, 42", got.FineTuning.LoRA.Rank,
			got.FineTuning.HuggingFace.UploadEnabled, got.Dataset.Seed)
	}
	for _, s := range got.Settings() {
		if s.Key == "fine_tuning.lora.rank" && s.Source != "flag:--lora-rank" {
			t.Errorf("rank source %q, want flag:--lora-rank", s.Source)
		}
	}
	cmd.SetArgs([]string{"--lora-rank", "zero"})
	err := cmd.Execute()
	if exitCode(context.Background(), err) != exitUsage || !strings.Contains(err.Error(), "flag --lora-rank (fine_tuning.lora.rank): expected an integer") {
		t.Errorf("bad flag value: %v", err)
	}
}
