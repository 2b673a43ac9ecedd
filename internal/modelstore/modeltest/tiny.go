// Package modeltest builds small random models for tests and smoke runs:
// real model files vulntune can import, load and answer with, without a
// download. Only tests import it (a test in cmd/vulntune keeps it out of
// the binary).
package modeltest

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/x448/float16"

	"github.com/vulntune/vulntune/internal/modelstore"
)

// TinyLlamaOptions shape the random model WriteTinyLlamaGGUF builds.
type TinyLlamaOptions struct {
	Seed uint64
	// Untied adds an output (lm_head) tensor instead of tying it to the
	// embeddings.
	Untied bool
	// Arch is "llama" (default) or "olmo2".
	Arch string
}

// The tiny model's shape: every row length is a multiple of 32 so that
// the legacy quant blocks fit, and head_dim (8) is even for RoPE.
const (
	tinyHidden  = 32
	tinyFFN     = 64
	tinyLayers  = 2
	tinyHeads   = 4
	tinyKVHeads = 2
	tinyHeadDim = tinyHidden / tinyHeads
)

// tinyChatTemplate is the ChatML template SmolLM2 ships.
const tinyChatTemplate = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

// tinyMerges are a few GPT-2 style merges; their results join the vocab.
var tinyMerges = []string{"Ġ t", "h e", "Ġt he", "i n", "e r", "Ġ a", "o n", "r e", "Ġ s", "Ġ i"}

// WriteTinyLlamaGGUF writes a small random GGUF (2 layers, hidden 32,
// 4 heads / 2 KV heads, byte-level BPE vocab of 269 tokens with ChatML
// control tokens) that exercises F32, F16, Q8_0, Q4_0 and Q4_1 tensors. Its
// weights are noise: it is for tests and smoke runs of the pipeline, which
// need a real model dir without downloading one.
func WriteTinyLlamaGGUF(w io.Writer, opts TinyLlamaOptions) error {
	arch := opts.Arch
	if arch == "" {
		arch = "llama"
	}
	if err := modelstore.CheckArch(arch); err != nil {
		return fmt.Errorf("tiny model: %w", err)
	}
	tokens := []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
	types := []int32{modelstore.TokenControl, modelstore.TokenControl, modelstore.TokenControl}
	for _, r := range modelstore.ByteAlphabet() {
		tokens = append(tokens, string(r))
		types = append(types, modelstore.TokenNormal)
	}
	for _, m := range tinyMerges {
		tokens = append(tokens, strings.ReplaceAll(m, " ", ""))
		types = append(types, modelstore.TokenNormal)
	}
	kv := modelstore.KV{
		"general.architecture":                     arch,
		"general.name":                             "tiny-random-" + arch,
		"general.file_type":                        uint32(3),
		arch + ".block_count":                      uint32(tinyLayers),
		arch + ".context_length":                   uint32(256),
		arch + ".embedding_length":                 uint32(tinyHidden),
		arch + ".feed_forward_length":              uint32(tinyFFN),
		arch + ".attention.head_count":             uint32(tinyHeads),
		arch + ".attention.head_count_kv":          uint32(tinyKVHeads),
		arch + ".rope.freq_base":                   float32(10000),
		arch + ".attention.layer_norm_rms_epsilon": float32(1e-5),
		arch + ".rope.dimension_count":             uint32(tinyHeadDim),
		arch + ".vocab_size":                       uint32(len(tokens)),
		"tokenizer.ggml.model":                     "gpt2",
		"tokenizer.ggml.pre":                       "smollm",
		"tokenizer.ggml.tokens":                    tokens,
		"tokenizer.ggml.token_type":                types,
		"tokenizer.ggml.merges":                    tinyMerges,
		"tokenizer.ggml.bos_token_id":              uint32(1),
		"tokenizer.ggml.eos_token_id":              uint32(2),
		"tokenizer.ggml.unknown_token_id":          uint32(0),
		"tokenizer.ggml.padding_token_id":          uint32(2),
		"tokenizer.ggml.add_bos_token":             false,
		"tokenizer.chat_template":                  tinyChatTemplate,
		"general.quantization_version":             uint32(2),
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x7e57))
	vocab := uint64(len(tokens))
	var ts []modelstore.GGUFTensor
	add := func(name string, typ modelstore.GGMLType, dims ...uint64) {
		ts = append(ts, modelstore.GGUFTensor{Name: name, Dims: dims, Type: typ, Data: randomBlocks(rng, typ, dims)})
	}
	add("token_embd.weight", modelstore.TypeQ8_0, tinyHidden, vocab)
	for i := range tinyLayers {
		p := fmt.Sprintf("blk.%d.", i)
		if arch == "olmo2" {
			add(p+"attn_q_norm.weight", modelstore.TypeF32, tinyHidden)
			add(p+"attn_k_norm.weight", modelstore.TypeF32, tinyKVHeads*tinyHeadDim)
			add(p+"post_attention_norm.weight", modelstore.TypeF32, tinyHidden)
			add(p+"post_ffw_norm.weight", modelstore.TypeF32, tinyHidden)
		} else {
			add(p+"attn_norm.weight", modelstore.TypeF32, tinyHidden)
			add(p+"ffn_norm.weight", modelstore.TypeF32, tinyHidden)
		}
		add(p+"attn_q.weight", modelstore.TypeF32, tinyHidden, tinyHidden)
		add(p+"attn_k.weight", modelstore.TypeF16, tinyHidden, tinyKVHeads*tinyHeadDim)
		add(p+"attn_v.weight", modelstore.TypeQ4_0, tinyHidden, tinyKVHeads*tinyHeadDim)
		add(p+"attn_output.weight", modelstore.TypeQ4_1, tinyHidden, tinyHidden)
		add(p+"ffn_gate.weight", modelstore.TypeQ4_1, tinyHidden, tinyFFN)
		add(p+"ffn_up.weight", modelstore.TypeQ8_0, tinyHidden, tinyFFN)
		add(p+"ffn_down.weight", modelstore.TypeQ4_1, tinyFFN, tinyHidden)
	}
	add("output_norm.weight", modelstore.TypeF32, tinyHidden)
	if opts.Untied {
		add("output.weight", modelstore.TypeQ8_0, tinyHidden, vocab)
	}
	return modelstore.WriteGGUF(w, kv, ts)
}

// randomBlocks fills a tensor of typ with small random weights: floats
// around ±0.1 (norm weights around 1), or quant blocks with random quants
// and scales that give a similar range.
func randomBlocks(rng *rand.Rand, typ modelstore.GGMLType, dims []uint64) []byte {
	n := uint64(1)
	for _, d := range dims {
		n *= d
	}
	f16 := func(f float32) []byte { return le16(float16.Fromfloat32(f).Bits()) }
	var out []byte
	switch typ {
	case modelstore.TypeF32:
		for range n {
			v := float32(rng.NormFloat64() * 0.1)
			if len(dims) == 1 {
				v += 1
			}
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	case modelstore.TypeF16:
		for range n {
			out = append(out, f16(float32(rng.NormFloat64()*0.1))...)
		}
	case modelstore.TypeQ8_0:
		for range n / modelstore.QuantBlock {
			out = append(out, f16(0.1/127)...)
			for range modelstore.QuantBlock {
				out = append(out, byte(rng.IntN(256)))
			}
		}
	case modelstore.TypeQ4_0, modelstore.TypeQ4_1:
		for range n / modelstore.QuantBlock {
			out = append(out, f16(0.1/8)...)
			if typ == modelstore.TypeQ4_1 {
				out = append(out, f16(-0.1)...)
			}
			for range modelstore.QuantBlock / 2 {
				out = append(out, byte(rng.IntN(256)))
			}
		}
	}
	return out
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
