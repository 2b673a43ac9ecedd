package engine_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
)

func TestEnsureChatTemplate(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		want     string
		wantTmpl string // substring of the template written, "" = unchanged
		wantErr  string
	}{
		{"own template kept", map[string]string{"config.json": `{"model_type":"llama"}`, "tokenizer_config.json": `{"chat_template":"X"}`}, engine.SourceTokenizer, "", ""},
		{"jinja file kept", map[string]string{"config.json": `{"model_type":"llama"}`, "tokenizer_config.json": `{}`, "chat_template.jinja": "X"}, engine.SourceTokenizer, "", ""},
		{"olmo2 base", map[string]string{"config.json": `{"model_type":"olmo2"}`, "tokenizer_config.json": `{"eos_token":"<|endoftext|>"}`}, engine.SourceOLMo2, "<|assistant|>", ""},
		{"other arch gets chatml", map[string]string{"config.json": `{"model_type":"llama"}`, "tokenizer_config.json": `{"chat_template":null}`}, engine.SourceChatML, "<|im_start|>", ""},
		{"no tokenizer config", map[string]string{"config.json": `{}`}, "", "", "tokenizer_config.json"},
		{"broken json", map[string]string{"config.json": `{}`, "tokenizer_config.json": `[1`}, "", "", "want a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := engine.EnsureChatTemplate(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
			var tc, meta map[string]any
			b, _ := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
			_ = json.Unmarshal(b, &tc)
			mb, merr := os.ReadFile(filepath.Join(dir, "metadata.json"))
			if tt.wantTmpl == "" {
				if merr == nil {
					t.Errorf("metadata.json written for a model with its own template: %s", mb)
				}
				return
			}
			if s, _ := tc["chat_template"].(string); !strings.Contains(s, tt.wantTmpl) {
				t.Errorf("chat_template = %q, want containing %q", s, tt.wantTmpl)
			}
			if tc["eos_token"] == nil && tt.name == "olmo2 base" {
				t.Error("other tokenizer_config.json keys were lost")
			}
			if json.Unmarshal(mb, &meta) != nil || meta["chat_template_source"] != tt.want {
				t.Errorf("metadata.json = %s, want chat_template_source %q", mb, tt.want)
			}
		})
	}
}
