package modelstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// GGUF token types (llama_token_type in llama.cpp).
const (
	tokenNormal      = 1
	tokenControl     = 3
	tokenUserDefined = 4
)

// TokenNormal and TokenControl are the GGUF token types of an ordinary
// token and of a control token (<|im_start|>), for writers of GGUF files.
const (
	TokenNormal  int32 = tokenNormal
	TokenControl int32 = tokenControl
)

// ByteAlphabet returns GPT-2's bytes_to_unicode table, which byte-level BPE
// vocabularies spell every token with.
func ByteAlphabet() [256]rune { return byteAlphabet }

// The split regex of llama-3 style byte-level BPE vocabularies
// (LLAMA_VOCAB_PRE_TYPE_LLAMA3 and DBRX in llama.cpp's llama-vocab.cpp).
const llama3Split = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// The split regex of Qwen2 (LLAMA_VOCAB_PRE_TYPE_QWEN2).
const qwen2Split = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

var byteLevel = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}

func splitThenBytes(pattern string) map[string]any {
	return map[string]any{"type": "Sequence", "pretokenizers": []any{
		map[string]any{"type": "Split", "pattern": map[string]any{"Regex": pattern}, "behavior": "Isolated", "invert": false},
		map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
	}}
}

// preTokenizers maps tokenizer.ggml.pre to the Hugging Face pre-tokenizer
// that splits text the way llama.cpp does for that name. "smollm" and
// "starcoder" split digits one by one before the GPT-2 regex, which is what
// SmolLM2's own tokenizer.json declares (Digits individual + ByteLevel).
var preTokenizers = map[string]map[string]any{
	"gpt-2":   byteLevel,
	"default": byteLevel,
	"olmo":    byteLevel,
	"smollm": {"type": "Sequence", "pretokenizers": []any{
		map[string]any{"type": "Digits", "individual_digits": true}, byteLevel}},
	"starcoder": {"type": "Sequence", "pretokenizers": []any{
		map[string]any{"type": "Digits", "individual_digits": true}, byteLevel}},
	"llama-bpe": splitThenBytes(llama3Split),
	"llama3":    splitThenBytes(llama3Split),
	"dbrx":      splitThenBytes(llama3Split),
	"smaug-bpe": splitThenBytes(llama3Split),
	"qwen2":     splitThenBytes(qwen2Split),
}

// vocab is the tokenizer part of a GGUF file, as read from tokenizer.ggml.*.
type vocab struct {
	pre                string
	tokens             []string
	types              []int64
	merges             []string
	bos, eos, unk, pad int64 // -1 when absent
	addBOS, addEOS     bool
	chatTemplate       string
	hasChatTemplate    bool
}

func readVocab(kv KV) (*vocab, error) {
	model, _ := kv.String("tokenizer.ggml.model")
	if model != "gpt2" {
		return nil, fmt.Errorf("tokenizer.ggml.model %q is not supported: only byte-level BPE (\"gpt2\") vocabularies can be imported", model)
	}
	v := &vocab{}
	v.pre, _ = kv.String("tokenizer.ggml.pre")
	if v.pre == "" {
		v.pre = "default"
	}
	if _, ok := preTokenizers[v.pre]; !ok {
		names := make([]string, 0, len(preTokenizers))
		for n := range preTokenizers {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("tokenizer.ggml.pre %q is not supported (supported: %s)", v.pre, strings.Join(names, ", "))
	}
	var ok bool
	if v.tokens, ok = kv.Strings("tokenizer.ggml.tokens"); !ok || len(v.tokens) == 0 {
		return nil, fmt.Errorf("tokenizer.ggml.tokens is missing or not an array of strings")
	}
	if v.merges, ok = kv.Strings("tokenizer.ggml.merges"); !ok {
		return nil, fmt.Errorf("tokenizer.ggml.merges is missing or not an array of strings")
	}
	v.types, _ = kv.Ints("tokenizer.ggml.token_type")
	if v.types != nil && len(v.types) != len(v.tokens) {
		return nil, fmt.Errorf("tokenizer.ggml.token_type has %d entries for %d tokens", len(v.types), len(v.tokens))
	}
	for key, dst := range map[string]*int64{"bos_token_id": &v.bos, "eos_token_id": &v.eos, "unknown_token_id": &v.unk, "padding_token_id": &v.pad} {
		*dst = -1
		if id, ok := kv.Uint("tokenizer.ggml." + key); ok {
			if id >= uint64(len(v.tokens)) {
				return nil, fmt.Errorf("tokenizer.ggml.%s %d is outside the vocabulary of %d tokens", key, id, len(v.tokens))
			}
			*dst = int64(id)
		}
	}
	v.addBOS, _ = kv.Bool("tokenizer.ggml.add_bos_token")
	v.addEOS, _ = kv.Bool("tokenizer.ggml.add_eos_token")
	v.chatTemplate, v.hasChatTemplate = kv.String("tokenizer.chat_template")
	return v, nil
}

func (v *vocab) tokenType(id int) int64 {
	if v.types == nil {
		return tokenNormal
	}
	return v.types[id]
}

func (v *vocab) token(id int64) any {
	if id < 0 {
		return nil
	}
	return v.tokens[id]
}

// byteAlphabet is GPT-2's bytes_to_unicode: every byte maps to a printable
// rune, so byte-level vocabularies spell all tokens with these 256 runes.
var byteAlphabet = func() [256]rune {
	var m [256]rune
	n := 0
	for b := range 256 {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}()

var inAlphabet = func() map[rune]bool {
	s := make(map[rune]bool, 256)
	for _, r := range byteAlphabet {
		s[r] = true
	}
	return s
}()

// spelled returns a normal token in the byte alphabet: GGUF files from some
// converters store a few tokens as raw text, which BPE would never produce.
func spelled(tok string) string {
	for _, r := range tok {
		if !inAlphabet[r] {
			var b strings.Builder
			for _, c := range []byte(tok) {
				b.WriteRune(byteAlphabet[c])
			}
			return b.String()
		}
	}
	return tok
}

func addedToken(id int, content string, special bool) map[string]any {
	return map[string]any{"id": id, "content": content, "single_word": false, "lstrip": false,
		"rstrip": false, "normalized": false, "special": special}
}

// tokenizerJSON builds a Hugging Face `tokenizers` file for the vocabulary.
func (v *vocab) tokenizerJSON() ([]byte, error) {
	added := []any{}
	var vb bytes.Buffer // the vocab object, written in id order for readable diffs
	vb.WriteByte('{')
	for id, tok := range v.tokens {
		tt := v.tokenType(id)
		if tt == tokenControl || tt == tokenUserDefined {
			added = append(added, addedToken(id, tok, tt == tokenControl))
		} else {
			tok = spelled(tok)
		}
		if id > 0 {
			vb.WriteByte(',')
		}
		k, err := marshalJSON(tok, "")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&vb, "%s:%d", bytes.TrimSpace(k), id)
	}
	vb.WriteByte('}')
	var post any = map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}
	if (v.addBOS && v.bos >= 0) || (v.addEOS && v.eos >= 0) {
		post = v.templateProcessing()
	}
	doc := map[string]any{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   added,
		"normalizer":     nil,
		"pre_tokenizer":  preTokenizers[v.pre],
		"post_processor": post,
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": json.RawMessage(vb.Bytes()), "merges": v.merges,
		},
	}
	return marshalJSON(doc, "")
}

// templateProcessing adds BOS/EOS around each sequence, as llama.cpp does
// when tokenizer.ggml.add_bos_token / add_eos_token are set.
func (v *vocab) templateProcessing() map[string]any {
	seq := func(id string) []any {
		var out []any
		if v.addBOS && v.bos >= 0 {
			out = append(out, map[string]any{"SpecialToken": map[string]any{"id": v.tokens[v.bos], "type_id": 0}})
		}
		out = append(out, map[string]any{"Sequence": map[string]any{"id": id, "type_id": 0}})
		if v.addEOS && v.eos >= 0 {
			out = append(out, map[string]any{"SpecialToken": map[string]any{"id": v.tokens[v.eos], "type_id": 0}})
		}
		return out
	}
	special := map[string]any{}
	for _, id := range []int64{v.bos, v.eos} {
		if id >= 0 {
			special[v.tokens[id]] = map[string]any{"id": v.tokens[id], "ids": []int64{id}, "tokens": []string{v.tokens[id]}}
		}
	}
	return map[string]any{"type": "TemplateProcessing", "single": seq("A"), "pair": append(seq("A"), seq("B")...), "special_tokens": special}
}

// tokenizerConfig builds tokenizer_config.json; maxLen is the context length.
func (v *vocab) tokenizerConfig(maxLen uint64) map[string]any {
	decoder := map[string]any{}
	for id, tok := range v.tokens {
		if tt := v.tokenType(id); tt == tokenControl || tt == tokenUserDefined {
			t := addedToken(id, tok, tt == tokenControl)
			delete(t, "id")
			delete(t, "content")
			t["content"] = tok
			decoder[fmt.Sprint(id)] = t
		}
	}
	c := map[string]any{
		"add_bos_token":                v.addBOS,
		"add_eos_token":                v.addEOS,
		"add_prefix_space":             false,
		"added_tokens_decoder":         decoder,
		"bos_token":                    v.token(v.bos),
		"eos_token":                    v.token(v.eos),
		"unk_token":                    v.token(v.unk),
		"pad_token":                    v.token(v.pad),
		"clean_up_tokenization_spaces": false,
		"model_max_length":             maxLen,
		"tokenizer_class":              "PreTrainedTokenizerFast",
	}
	if v.hasChatTemplate {
		c["chat_template"] = v.chatTemplate
	}
	return c
}

// specialTokensMap builds special_tokens_map.json.
func (v *vocab) specialTokensMap() map[string]any {
	m := map[string]any{}
	for name, id := range map[string]int64{"bos_token": v.bos, "eos_token": v.eos, "unk_token": v.unk, "pad_token": v.pad} {
		if id >= 0 {
			m[name] = map[string]any{"content": v.tokens[id], "lstrip": false, "normalized": false, "rstrip": false, "single_word": false}
		}
	}
	return m
}
