package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// Chat templates vulntune sets on tokenizers that ship none (OLMo-2 base
// models). Which one a model got is recorded in its metadata.json as
// chat_template_source, so nothing is prompted in a format chosen silently.
const (
	// TemplateOLMo2 is the template of allenai/OLMo-2-*-Instruct:
	// <|endoftext|><|user|>\n…\n<|assistant|>\n…<|endoftext|>.
	TemplateOLMo2 = "{{ bos_token }}{% for message in messages %}" +
		"{% if message['role'] == 'system' %}{{ '<|system|>\n' + message['content'] + '\n' }}" +
		"{% elif message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + '\n' }}" +
		"{% elif message['role'] == 'assistant' %}{% if not loop.last %}" +
		"{{ '<|assistant|>\n' + message['content'] + eos_token + '\n' }}" +
		"{% else %}{{ '<|assistant|>\n' + message['content'] + eos_token }}{% endif %}{% endif %}" +
		"{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}{% endfor %}"
	// TemplateChatML is the ChatML layout SmolLM2 and many others use.
	TemplateChatML = "{% for message in messages %}" +
		"{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}" +
		"{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

// Values of chat_template_source.
const (
	SourceTokenizer = "tokenizer"       // the model's own template
	SourceOLMo2     = "vulntune:olmo2"  // TemplateOLMo2, set by vulntune
	SourceChatML    = "vulntune:chatml" // TemplateChatML, set by vulntune
)

// EnsureChatTemplate makes sure the model in dir has a chat template. A
// model that has one (tokenizer_config.json "chat_template" or a
// chat_template.jinja file) is left alone and SourceTokenizer returned.
// Otherwise the template matching config.json's model_type (OLMo-2 for
// olmo2, ChatML for anything else) is written into tokenizer_config.json
// and metadata.json records chat_template_source and the template.
func EnsureChatTemplate(dir string) (string, error) {
	tcPath := filepath.Join(dir, "tokenizer_config.json")
	tc, err := readJSONObject(tcPath)
	if err != nil {
		return "", err
	}
	_, jinjaErr := os.Stat(filepath.Join(dir, "chat_template.jinja"))
	if s, ok := tc["chat_template"]; ok && s != nil && s != "" || jinjaErr == nil {
		// Report a template vulntune set earlier as such, not as the model's.
		if meta, err := readJSONObject(filepath.Join(dir, "metadata.json")); err == nil {
			if src, ok := meta["chat_template_source"].(string); ok && src != "" {
				return src, nil
			}
		}
		return SourceTokenizer, nil
	}
	cfg, err := readJSONObject(filepath.Join(dir, "config.json"))
	if err != nil {
		return "", err
	}
	source, tmpl := SourceChatML, TemplateChatML
	if cfg["model_type"] == "olmo2" {
		source, tmpl = SourceOLMo2, TemplateOLMo2
	}
	tc["chat_template"] = tmpl
	if err := writeJSONObject(tcPath, tc); err != nil {
		return "", err
	}
	metaPath := filepath.Join(dir, "metadata.json")
	meta, err := readJSONObject(metaPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if meta == nil {
		meta = map[string]any{}
	}
	meta["chat_template_source"] = source
	meta["chat_template"] = tmpl
	if err := writeJSONObject(metaPath, meta); err != nil {
		return "", err
	}
	return source, nil
}

func readJSONObject(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read %s: want a JSON object: %w", path, err)
	}
	return m, nil
}

func writeJSONObject(path string, m map[string]any) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o644)
}
