package modelstore

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// archSpec says how one GGUF architecture maps back to Hugging Face.
type archSpec struct {
	hfClass   string            // config.json "architectures"
	modelType string            // config.json "model_type"
	permuteQK bool              // llama.cpp permuted Q/K rows for its RoPE layout
	blockMap  map[string]string // GGUF blk.N.<key> -> HF model.layers.N.<value>
	extra     map[string]any    // fixed config.json fields
}

// archs is the table of supported architectures. llama.cpp's
// convert_hf_to_gguf.py permutes Q/K for LlamaModel (q with n_head, k with
// n_head_kv) but not for Olmo2Model, whose ggml graph uses NeoX-style RoPE
// like Hugging Face's rotate_half.
var archs = map[string]archSpec{
	"llama": {
		hfClass: "LlamaForCausalLM", modelType: "llama", permuteQK: true,
		blockMap: map[string]string{
			"attn_norm":   "input_layernorm",
			"attn_q":      "self_attn.q_proj",
			"attn_k":      "self_attn.k_proj",
			"attn_v":      "self_attn.v_proj",
			"attn_output": "self_attn.o_proj",
			"ffn_norm":    "post_attention_layernorm",
			"ffn_gate":    "mlp.gate_proj",
			"ffn_up":      "mlp.up_proj",
			"ffn_down":    "mlp.down_proj",
		},
		extra: map[string]any{"hidden_act": "silu", "mlp_bias": false, "pretraining_tp": 1},
	},
	"olmo2": {
		hfClass: "Olmo2ForCausalLM", modelType: "olmo2",
		blockMap: map[string]string{
			"attn_q":              "self_attn.q_proj",
			"attn_k":              "self_attn.k_proj",
			"attn_v":              "self_attn.v_proj",
			"attn_output":         "self_attn.o_proj",
			"attn_q_norm":         "self_attn.q_norm",
			"attn_k_norm":         "self_attn.k_norm",
			"post_attention_norm": "post_attention_layernorm",
			"post_ffw_norm":       "post_feedforward_layernorm",
			"ffn_gate":            "mlp.gate_proj",
			"ffn_up":              "mlp.up_proj",
			"ffn_down":            "mlp.down_proj",
		},
		extra: map[string]any{"hidden_act": "silu"},
	},
}

// globalMap holds the tensors outside the blocks, common to all archs.
var globalMap = map[string]string{
	"token_embd":  "model.embed_tokens",
	"output_norm": "model.norm",
	"output":      "lm_head",
}

var blockName = regexp.MustCompile(`^blk\.(\d+)\.(.+)\.(weight|bias)$`)

// CheckArch says whether the importer knows the GGUF architecture name, and
// which it knows when it does not.
func CheckArch(arch string) error {
	if _, ok := archs[arch]; !ok {
		return fmt.Errorf("architecture %q is not supported (supported: %s)", arch, supportedArchs())
	}
	return nil
}

// supportedArchs lists the architecture names for error messages.
func supportedArchs() string {
	names := make([]string, 0, len(archs))
	for n := range archs {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// hfName maps a GGUF tensor name to its Hugging Face name.
func (a archSpec) hfName(name string) (string, error) {
	if m := blockName.FindStringSubmatch(name); m != nil {
		hf, ok := a.blockMap[m[2]]
		if !ok {
			return "", fmt.Errorf("tensor %q: no Hugging Face name for block tensor %q in %s", name, m[2], a.modelType)
		}
		return "model.layers." + m[1] + "." + hf + "." + m[3], nil
	}
	base, suffix, ok := strings.Cut(name, ".")
	if hf, known := globalMap[base]; ok && known && (suffix == "weight" || suffix == "bias") {
		return hf + "." + suffix, nil
	}
	return "", fmt.Errorf("tensor %q has no Hugging Face equivalent in %s (rope_freqs and other llama.cpp-only tensors are not supported)", name, a.modelType)
}

// unpermuteRows undoes llama.cpp's permute(w, n_head): it reshaped the rows
// to (n_head, 2, head_dim/2) and swapped the last two axes, interleaving the
// two rotary halves of each head. Row h*hd + 2*i + j of the GGUF tensor is
// row h*hd + j*hd/2 + i of the Hugging Face one. cols is 1 for a bias.
func unpermuteRows(w []float32, rows, cols, nHead int) ([]float32, error) {
	return permute(w, rows, cols, nHead, false)
}

// PermuteRows applies llama.cpp's permute(w, n_head) (convert_hf_to_gguf's
// LlamaModel.permute) to a Hugging Face q_proj or k_proj tensor of rows x
// cols, for writing it to GGUF: the inverse of what the importer does.
func PermuteRows(w []float32, rows, cols, nHead int) ([]float32, error) {
	return permute(w, rows, cols, nHead, true)
}

// permute moves row h*hd + j*hd/2 + i (Hugging Face) to row h*hd + 2*i + j
// (GGUF) when toGGUF, and back otherwise.
func permute(w []float32, rows, cols, nHead int, toGGUF bool) ([]float32, error) {
	if nHead <= 0 || rows%nHead != 0 || (rows/nHead)%2 != 0 || len(w) != rows*cols {
		return nil, fmt.Errorf("cannot permute %dx%d for %d heads: rows must split into heads of even size", rows, cols, nHead)
	}
	hd := rows / nHead
	half := hd / 2
	out := make([]float32, len(w))
	for h := range nHead {
		for i := range half {
			for j := range 2 {
				gguf := (h*hd + 2*i + j) * cols
				hf := (h*hd + j*half + i) * cols
				if toGGUF {
					copy(out[gguf:gguf+cols], w[hf:hf+cols])
				} else {
					copy(out[hf:hf+cols], w[gguf:gguf+cols])
				}
			}
		}
	}
	return out, nil
}

// GGUFName maps a Hugging Face tensor name of a model of architecture arch
// (config.json model_type) to its llama.cpp GGUF name: the inverse of the
// table the importer reads, so an exported file imports back to the same
// names.
func GGUFName(arch, hf string) (string, error) {
	spec, ok := archs[arch]
	if !ok {
		return "", fmt.Errorf("architecture %q is not supported (supported: %s)", arch, supportedArchs())
	}
	if m := hfBlockName.FindStringSubmatch(hf); m != nil {
		for g, h := range spec.blockMap {
			if h == m[2] {
				return "blk." + m[1] + "." + g + "." + m[3], nil
			}
		}
		return "", fmt.Errorf("tensor %q: %s has no GGUF name for block tensor %q", hf, arch, m[2])
	}
	if base, suffix, ok := cutLast(hf, "."); ok && (suffix == "weight" || suffix == "bias") {
		for g, h := range globalMap {
			if h == base {
				return g + "." + suffix, nil
			}
		}
	}
	return "", fmt.Errorf("tensor %q has no GGUF name in %s", hf, arch)
}

// PermutesQK reports whether llama.cpp stores the Q/K projection rows of
// arch permuted for its RoPE layout (convert_hf_to_gguf's permute).
func PermutesQK(arch string) bool { return archs[arch].permuteQK }

var hfBlockName = regexp.MustCompile(`^model\.layers\.(\d+)\.(.+)\.(weight|bias)$`)

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
