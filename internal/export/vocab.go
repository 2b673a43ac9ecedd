package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/jsonfile"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// GGUF token types (llama_token_type) beyond modelstore's normal and control.
const (
	tokenUserDefined int32 = 4
	tokenUnused      int32 = 5
)

// vocab is a byte-level BPE tokenizer as GGUF's tokenizer.ggml.* keys hold it.
type vocab struct {
	pre            string
	tokens         []string
	types          []int32
	merges         []string
	ids            map[string]int64 // token text -> id, for special tokens
	bos, eos       int64            // -1 when absent
	unk, pad       int64
	addBOS, addEOS *bool
	addSpacePrefix *bool
	chatTemplate   string
}

type hfTokenizer struct {
	AddedTokens []struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	PreTokenizer any `json:"pre_tokenizer"`
	Model        struct {
		Type   string           `json:"type"`
		Vocab  map[string]int64 `json:"vocab"`
		Merges []any            `json:"merges"`
	} `json:"model"`
}

// readVocab reads tokenizer.json, tokenizer_config.json (special tokens,
// add_bos_token, chat template) and chat_template.jinja when present, for a
// model with size embedding rows. Tokens the tokenizer lacks below size
// become "[PADn]" of type unused, as convert_hf_to_gguf writes them.
func readVocab(dir string, c *hfConfig) (*vocab, error) {
	var tj hfTokenizer
	if err := jsonfile.Read(filepath.Join(dir, "tokenizer.json"), &tj); err != nil {
		return nil, err
	}
	if tj.Model.Type != "BPE" {
		return nil, fmt.Errorf("tokenizer.json model type %q is not supported: only byte-level BPE can be exported", tj.Model.Type)
	}
	v := &vocab{ids: map[string]int64{}}
	var err error
	if v.pre, err = preName(tj.PreTokenizer, c.ModelType); err != nil {
		return nil, err
	}
	size := int64(c.VocabSize)
	v.tokens = make([]string, size)
	v.types = make([]int32, size)
	set := make([]bool, size)
	put := func(id int64, tok string, typ int32) error {
		if id < 0 || id >= size {
			return fmt.Errorf("tokenizer.json token %q has id %d, outside the %d embedding rows of config.json vocab_size", tok, id, size)
		}
		v.tokens[id], v.types[id], set[id] = tok, typ, true
		v.ids[tok] = id
		return nil
	}
	for tok, id := range tj.Model.Vocab {
		if err := put(id, tok, modelstore.TokenNormal); err != nil {
			return nil, err
		}
	}
	for _, a := range tj.AddedTokens {
		typ := tokenUserDefined
		if a.Special {
			typ = modelstore.TokenControl
		}
		if err := put(a.ID, a.Content, typ); err != nil {
			return nil, err
		}
	}
	for i := range v.tokens {
		if !set[i] {
			v.tokens[i], v.types[i] = fmt.Sprintf("[PAD%d]", i), tokenUnused
		}
	}
	for _, m := range tj.Model.Merges {
		switch m := m.(type) {
		case string:
			v.merges = append(v.merges, m)
		case []any:
			if len(m) == 2 {
				a, ok1 := m[0].(string)
				b, ok2 := m[1].(string)
				if ok1 && ok2 {
					v.merges = append(v.merges, a+" "+b)
					continue
				}
			}
			return nil, fmt.Errorf("tokenizer.json merge %v is not a pair of strings", m)
		default:
			return nil, fmt.Errorf("tokenizer.json merge %v is not a string or a pair", m)
		}
	}
	if err := v.readConfig(dir, c); err != nil {
		return nil, err
	}
	return v, nil
}

// readConfig takes the special tokens, add_bos/eos, add_prefix_space and the chat template
// from tokenizer_config.json, the ids config.json gives for the special
// tokens it does not name, and chat_template.jinja when the config has no
// template.
func (v *vocab) readConfig(dir string, c *hfConfig) error {
	var tc map[string]any
	if err := jsonfile.Read(filepath.Join(dir, "tokenizer_config.json"), &tc); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, s := range []struct {
		key string
		dst *int64
		id  any
	}{{"bos_token", &v.bos, c.BOSTokenID}, {"eos_token", &v.eos, c.EOSTokenID}, {"unk_token", &v.unk, nil}, {"pad_token", &v.pad, c.PadTokenID}} {
		*s.dst = -1
		text := tc[s.key]
		if m, ok := text.(map[string]any); ok {
			text = m["content"]
		}
		if t, ok := text.(string); ok {
			id, known := v.ids[t]
			if !known {
				return fmt.Errorf("tokenizer_config.json %s %q is not a token of tokenizer.json", s.key, t)
			}
			*s.dst = id
			continue
		}
		id := s.id
		if l, ok := id.([]any); ok && len(l) > 0 { // eos_token_id may be a list
			id = l[0]
		}
		if f, ok := id.(float64); ok && f >= 0 && int(f) < len(v.tokens) {
			*s.dst = int64(f)
		}
	}
	for key, dst := range map[string]**bool{"add_bos_token": &v.addBOS, "add_eos_token": &v.addEOS, "add_prefix_space": &v.addSpacePrefix} {
		if b, ok := tc[key].(bool); ok {
			*dst = &b
		}
	}
	switch t := tc["chat_template"].(type) {
	case string:
		v.chatTemplate = t
	case []any: // named templates: the default one
		for _, e := range t {
			if m, ok := e.(map[string]any); ok && m["name"] == "default" {
				v.chatTemplate, _ = m["template"].(string)
			}
		}
	}
	if v.chatTemplate == "" {
		b, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		v.chatTemplate = string(b)
	}
	return nil
}

// kv is the tokenizer.* metadata llama.cpp reads.
func (v *vocab) kv(kv modelstore.KV) {
	kv["tokenizer.ggml.model"] = "gpt2"
	kv["tokenizer.ggml.pre"] = v.pre
	kv["tokenizer.ggml.tokens"] = v.tokens
	kv["tokenizer.ggml.token_type"] = v.types
	kv["tokenizer.ggml.merges"] = v.merges
	for key, id := range map[string]int64{"bos_token_id": v.bos, "eos_token_id": v.eos, "unknown_token_id": v.unk, "padding_token_id": v.pad} {
		if id >= 0 {
			kv["tokenizer.ggml."+key] = uint32(id)
		}
	}
	if v.addBOS != nil {
		kv["tokenizer.ggml.add_bos_token"] = *v.addBOS
	}
	if v.addEOS != nil {
		kv["tokenizer.ggml.add_eos_token"] = *v.addEOS
	}
	if v.addSpacePrefix != nil {
		kv["tokenizer.ggml.add_space_prefix"] = *v.addSpacePrefix
	}
	if v.chatTemplate != "" {
		kv["tokenizer.chat_template"] = v.chatTemplate
	}
}

// The split regexes llama.cpp knows byte-level BPE vocabularies by
// (llama-vocab.cpp): llama-3 / DBRX (cl100k, which OLMo-2 uses) and Qwen2.
const (
	llama3Split = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwen2Split  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// preName names the tokenizer.ggml.pre whose splitting llama.cpp does the
// way tokenizer.json's pre_tokenizer does: GPT-2's ByteLevel regex alone
// ("gpt-2"), single digits first ("smollm", as llama.cpp's converter names
// SmolLM2's), or a Split on the cl100k regex ("dbrx" for OLMo-2, whose
// tokenizer llama.cpp identifies as DBRX's; "llama-bpe" otherwise) or on
// Qwen2's. Anything else is refused: a wrong name makes llama.cpp tokenize
// differently from training.
func preName(pt any, arch string) (string, error) {
	steps := []any{pt}
	if m, ok := pt.(map[string]any); ok && m["type"] == "Sequence" {
		steps, _ = m["pretokenizers"].([]any)
	}
	typ := func(i int) string {
		m, _ := steps[i].(map[string]any)
		s, _ := m["type"].(string)
		return s
	}
	field := func(i int, k string) any {
		m, _ := steps[i].(map[string]any)
		return m[k]
	}
	switch {
	case len(steps) == 1 && typ(0) == "ByteLevel" && field(0, "use_regex") != false:
		return "gpt-2", nil
	case len(steps) == 2 && typ(0) == "Digits" && field(0, "individual_digits") == true &&
		typ(1) == "ByteLevel" && field(1, "use_regex") != false:
		return "smollm", nil
	case len(steps) == 2 && typ(0) == "Split" && typ(1) == "ByteLevel" && field(1, "use_regex") == false:
		pat, _ := field(0, "pattern").(map[string]any)
		switch re, _ := pat["Regex"].(string); re {
		case llama3Split:
			if arch == "olmo2" {
				return "dbrx", nil
			}
			return "llama-bpe", nil
		case qwen2Split:
			return "qwen2", nil
		}
	}
	js, _ := json.Marshal(pt)
	return "", fmt.Errorf("tokenizer.json pre_tokenizer %s is not one llama.cpp names (supported: GPT-2 ByteLevel, SmolLM2's Digits + ByteLevel, the llama-3/cl100k and Qwen2 Split regexes)", truncate(string(js), 200))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
