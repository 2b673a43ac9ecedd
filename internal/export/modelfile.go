package export

import (
	"fmt"
	"slices"
	"strings"
)

// chatMLTemplate restates ChatML (SmolLM2's template) in Ollama's Go
// template syntax: the system turn, then each user and assistant turn as
// <|im_start|>role\n...<|im_end|>\n, and the assistant's generation prompt.
// Ollama's legacy prompt path (.Prompt, no .Messages) renders the same.
const chatMLTemplate = `{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- if .Messages }}
{{- range .Messages }}
{{- if ne .Role "system" }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}
{{- end }}
{{- else if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
`

// tuluTemplate restates OLMo-2's (Tülu) template: <|system|>, <|user|> and
// <|assistant|> headers each on a line of their own, an assistant turn
// ended by the EOS token. %s is the BOS text the template starts with when
// the tokenizer does not add it itself.
const tuluTemplate = `%s{{- if .System }}<|system|>
{{ .System }}
{{ end }}
{{- if .Messages }}
{{- range .Messages }}
{{- if eq .Role "user" }}<|user|>
{{ .Content }}
{{ else if eq .Role "assistant" }}<|assistant|>
{{ .Content }}%s
{{ end }}
{{- end }}
{{- else if .Prompt }}<|user|>
{{ .Prompt }}
{{ end }}<|assistant|>
`

// modelfile writes an Ollama Modelfile for ggufFile: FROM, a TEMPLATE
// matching the chat template when it is ChatML or Tülu, SYSTEM, the stop
// tokens, and greedy decoding (temperature 0), as vulntune evaluates. The
// note says why TEMPLATE is missing when it is; Ollama then falls back to
// the template it detects from the file's tokenizer.chat_template.
func modelfile(ggufFile string, v *vocab, system string) (string, string) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Ollama Modelfile written by vulntune export: ollama create NAME -f Modelfile\nFROM ./%s\n", ggufFile)
	tok := func(id int64) string {
		if id < 0 {
			return ""
		}
		return v.tokens[id]
	}
	var stops []string
	note := ""
	t := v.chatTemplate
	switch {
	case strings.Contains(t, "<|im_start|>") && strings.Contains(t, "<|im_end|>"):
		fmt.Fprintf(&b, "TEMPLATE \"\"\"%s\"\"\"\n", chatMLTemplate)
		stops = []string{"<|im_start|>", "<|im_end|>"}
	case strings.Contains(t, "<|user|>") && strings.Contains(t, "<|assistant|>"):
		bos := ""
		if strings.Contains(t, "bos_token") && (v.addBOS == nil || !*v.addBOS) {
			bos = tok(v.bos)
		}
		fmt.Fprintf(&b, "TEMPLATE \"\"\"%s\"\"\"\n", fmt.Sprintf(tuluTemplate, bos, tok(v.eos)))
		stops = []string{"<|user|>", "<|assistant|>", "<|system|>"}
	case t == "":
		note = "the model has no chat template; the Modelfile has no TEMPLATE"
	default:
		note = "the chat template is neither ChatML nor Tülu; the Modelfile leaves TEMPLATE to Ollama's detection from the GGUF's tokenizer.chat_template"
	}
	if system != "" {
		fmt.Fprintf(&b, "SYSTEM \"\"\"%s\"\"\"\n", system)
	}
	if eos := tok(v.eos); eos != "" && !slices.Contains(stops, eos) {
		stops = append(stops, eos)
	}
	for _, s := range stops {
		fmt.Fprintf(&b, "PARAMETER stop %q\n", s)
	}
	b.WriteString("PARAMETER temperature 0\n")
	return b.String(), note
}
