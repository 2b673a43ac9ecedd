package export

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"github.com/vulntune/vulntune/internal/modelstore"
	"github.com/vulntune/vulntune/internal/modelstore/modeltest"
	"github.com/vulntune/vulntune/internal/narrate"
)

type msg struct{ Role, Content string }

// render runs a Modelfile TEMPLATE the way Ollama does: Go's text/template
// with .System, .Messages and .Prompt.
func render(t *testing.T, tmpl, system string, msgs []msg, prompt string) string {
	t.Helper()
	tp, err := template.New("ollama").Parse(tmpl)
	if err != nil {
		t.Fatalf("TEMPLATE does not parse as a Go template: %v\n%s", err, tmpl)
	}
	var b strings.Builder
	if err := tp.Execute(&b, map[string]any{"System": system, "Messages": msgs, "Prompt": prompt}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var modelfileField = regexp.MustCompile(`(?s)TEMPLATE """(.*?)"""`)

// TestModelfile exports the tiny ChatML model and checks the Modelfile:
// FROM the file beside it, a TEMPLATE that renders a conversation as
// SmolLM2's chat template does, the template's default system turn (or the
// dataset's for a fine-tuned model), ChatML stop tokens and greedy decoding.
func TestModelfile(t *testing.T) {
	t.Parallel()
	src := tinyModel(t, modeltest.TinyLlamaOptions{Arch: "llama"})
	for _, tt := range []struct {
		name, kind, system string
	}{
		{"base", modelstore.KindBase, "You are a helpful AI assistant."},
		{"fine-tuned", modelstore.KindFineTuned, narrate.SystemPrompt},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			meta, err := modelstore.ReadMetadata(dir)
			if err != nil {
				t.Fatal(err)
			}
			meta.Kind = tt.kind
			b, _ := marshal(meta)
			if err := os.WriteFile(filepath.Join(dir, modelstore.MetadataFile), b, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := Export(context.Background(), dir, Options{Quant: QuantQ8_0, OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(res.Modelfile)
			if err != nil {
				t.Fatal(err)
			}
			mf := string(raw)
			for _, want := range []string{
				"FROM ./m.Q8_0.gguf\n",
				"SYSTEM \"\"\"" + tt.system + "\"\"\"\n",
				"PARAMETER stop \"<|im_start|>\"\n",
				"PARAMETER stop \"<|im_end|>\"\n",
				"PARAMETER temperature 0\n",
			} {
				if !strings.Contains(mf, want) {
					t.Errorf("Modelfile lacks %q:\n%s", want, mf)
				}
			}
			if res.TemplateNote != "" {
				t.Errorf("template note %q for a ChatML model", res.TemplateNote)
			}
			m := modelfileField.FindStringSubmatch(mf)
			if m == nil {
				t.Fatalf("Modelfile has no TEMPLATE:\n%s", mf)
			}
			chat := []msg{{"system", tt.system}, {"user", "What is CWE-79?"}, {"assistant", "XSS."}, {"user", "Fix?"}}
			want := "<|im_start|>system\n" + tt.system + "<|im_end|>\n<|im_start|>user\nWhat is CWE-79?<|im_end|>\n" +
				"<|im_start|>assistant\nXSS.<|im_end|>\n<|im_start|>user\nFix?<|im_end|>\n<|im_start|>assistant\n"
			if got := render(t, m[1], tt.system, chat, ""); got != want {
				t.Errorf("messages render\n%q\nwant\n%q", got, want)
			}
			want = "<|im_start|>system\n" + tt.system + "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
			if got := render(t, m[1], tt.system, nil, "Hi"); got != want {
				t.Errorf("prompt render\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// TestTuluTemplate renders OLMo-2's template restated for Ollama.
func TestTuluTemplate(t *testing.T) {
	t.Parallel()
	f := false
	v := &vocab{tokens: []string{"<|endoftext|>", "<|pad|>"}, bos: 0, eos: 0, pad: 1, unk: -1, addBOS: &f,
		chatTemplate: "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + '\n' }}{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\n' + message['content'] + eos_token + '\n' }}{% endif %}{% endfor %}"}
	mf, note := modelfile("olmo.F16.gguf", v, "")
	if note != "" {
		t.Errorf("note %q for a Tülu template", note)
	}
	m := modelfileField.FindStringSubmatch(mf)
	if m == nil {
		t.Fatalf("no TEMPLATE:\n%s", mf)
	}
	got := render(t, m[1], "", []msg{{"user", "Hi"}, {"assistant", "Hello"}, {"user", "Bye"}}, "")
	want := "<|endoftext|><|user|>\nHi\n<|assistant|>\nHello<|endoftext|>\n<|user|>\nBye\n<|assistant|>\n"
	if got != want {
		t.Errorf("render\n%q\nwant\n%q", got, want)
	}
	if strings.Contains(mf, "SYSTEM") || !strings.Contains(mf, `PARAMETER stop "<|endoftext|>"`) {
		t.Errorf("Modelfile:\n%s", mf)
	}
	v.chatTemplate = "{{ messages }}"
	if mf, note := modelfile("x.gguf", v, ""); note == "" || strings.Contains(mf, "TEMPLATE") {
		t.Errorf("unknown template: note %q, Modelfile\n%s", note, mf)
	}
}

func marshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
