package validate

import (
	"fmt"
	"math"
)

// hp are the config.json dimensions the parameter formula needs.
type hp struct {
	vocab, hidden, ffn, layers, heads, kvHeads, headDim int64
	tied, attnBias, mlpBias                             bool
}

func num(cfg map[string]any, key string) (int64, bool) {
	f, ok := cfg[key].(float64)
	if !ok || f <= 0 || f != math.Trunc(f) {
		return 0, false
	}
	return int64(f), true
}

func readHP(cfg map[string]any) (hp, error) {
	var h hp
	for key, dst := range map[string]*int64{
		"vocab_size": &h.vocab, "hidden_size": &h.hidden, "intermediate_size": &h.ffn,
		"num_hidden_layers": &h.layers, "num_attention_heads": &h.heads,
	} {
		v, ok := num(cfg, key)
		if !ok {
			return h, fmt.Errorf("config.json %s is missing or not a positive integer", key)
		}
		*dst = v
	}
	h.kvHeads = h.heads
	if v, ok := num(cfg, "num_key_value_heads"); ok {
		h.kvHeads = v
	}
	h.headDim = h.hidden / h.heads
	if v, ok := num(cfg, "head_dim"); ok {
		h.headDim = v
	}
	h.tied, _ = cfg["tie_word_embeddings"].(bool)
	h.attnBias, _ = cfg["attention_bias"].(bool)
	h.mlpBias, _ = cfg["mlp_bias"].(bool)
	return h, nil
}

// ExpectedParameters computes the parameter count that config.json implies
// for the llama family (llama, mistral, qwen2) and olmo2: token embeddings;
// per layer the q/k/v/o projections (with biases where configured; qwen2
// always has q/k/v biases), the gated MLP, two RMSNorm weights (olmo2: its
// post-attention and post-feed-forward norms plus the q and k norms over
// all heads); the final norm; and lm_head unless the embeddings are tied.
func ExpectedParameters(cfg map[string]any) (int64, error) {
	mt, _ := cfg["model_type"].(string)
	h, err := readHP(cfg)
	if err != nil {
		return 0, err
	}
	q, kv := h.heads*h.headDim, h.kvHeads*h.headDim
	attn := h.hidden*q + 2*h.hidden*kv + q*h.hidden
	mlp := 3 * h.hidden * h.ffn
	norms := 2 * h.hidden
	switch mt {
	case "llama", "mistral":
		if h.attnBias {
			attn += q + 2*kv + h.hidden
		}
	case "qwen2":
		attn += q + 2*kv
	case "olmo2":
		norms += q + kv
	default:
		return 0, fmt.Errorf("no parameter formula for model_type %q", mt)
	}
	if h.mlpBias {
		mlp += 2*h.ffn + h.hidden
	}
	total := h.vocab*h.hidden + h.layers*(attn+mlp+norms) + h.hidden
	if !h.tied {
		total += h.vocab * h.hidden
	}
	return total, nil
}

// checkParams compares the tensors' element count with ExpectedParameters
// and the embedding's shape with vocab_size × hidden_size.
func checkParams(r *Report, cfg map[string]any, shards []shard, total int64) {
	if _, q := cfg["quantization"]; q {
		r.add(GroupArtifact, "parameter count", Warn, "quantized weights: packed sizes are not compared with config.json")
		return
	}
	want, err := ExpectedParameters(cfg)
	if err != nil {
		r.add(GroupArtifact, "parameter count", Warn, "%v", err)
		return
	}
	if h, err := readHP(cfg); err == nil {
		for _, s := range shards {
			if t, ok := s.header.Tensors["model.embed_tokens.weight"]; ok {
				if len(t.Shape) != 2 || t.Shape[0] != h.vocab || t.Shape[1] != h.hidden {
					r.add(GroupArtifact, "parameter count", Fail, "model.embed_tokens.weight has shape %v, config.json implies [%d %d]", t.Shape, h.vocab, h.hidden)
					return
				}
			}
		}
	}
	if total != want {
		r.add(GroupArtifact, "parameter count", Fail, "tensors hold %d parameters, config.json (%v) implies %d", total, cfg["model_type"], want)
		return
	}
	r.add(GroupArtifact, "parameter count", Pass, "%d parameters match config.json", total)
}
