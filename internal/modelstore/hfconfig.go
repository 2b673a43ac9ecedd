package modelstore

import "fmt"

// hparams are the model dimensions read from GGUF "<arch>.*" keys
// (LLM_KV_* in llama.cpp).
type hparams struct {
	hidden, ffn, layers, heads, kvHeads, headDim, ctx, vocab uint64
	eps, ropeTheta                                           float64
	ropeScaling                                              map[string]any
}

func readHParams(kv KV, arch string, nTokens int, embedRows int64) (hparams, error) {
	var h hparams
	need := func(key string, dst *uint64) error {
		v, ok := kv.Uint(arch + "." + key)
		if !ok || v == 0 {
			return fmt.Errorf("metadata %s.%s is missing, zero or not an integer", arch, key)
		}
		*dst = v
		return nil
	}
	for key, dst := range map[string]*uint64{
		"embedding_length": &h.hidden, "feed_forward_length": &h.ffn,
		"block_count": &h.layers, "attention.head_count": &h.heads,
	} {
		if err := need(key, dst); err != nil {
			return h, err
		}
	}
	h.kvHeads = h.heads
	if v, ok := kv.Uint(arch + ".attention.head_count_kv"); ok && v > 0 {
		h.kvHeads = v
	}
	if h.heads%h.kvHeads != 0 {
		return h, fmt.Errorf("metadata %s: %d attention heads are not a multiple of %d key/value heads", arch, h.heads, h.kvHeads)
	}
	h.headDim = h.hidden / h.heads
	for _, key := range []string{"attention.key_length", "rope.dimension_count"} {
		if v, ok := kv.Uint(arch + "." + key); ok && v > 0 {
			h.headDim = v
			break
		}
	}
	h.ctx = 2048 // llama.cpp's fallback when a file states none
	if v, ok := kv.Uint(arch + ".context_length"); ok && v > 0 {
		h.ctx = v
	}
	var ok bool
	if h.eps, ok = kv.Float(arch + ".attention.layer_norm_rms_epsilon"); !ok {
		return h, fmt.Errorf("metadata %s.attention.layer_norm_rms_epsilon is missing", arch)
	}
	h.ropeTheta = 10000 // llama.cpp's default rope.freq_base
	if v, ok := kv.Float(arch + ".rope.freq_base"); ok {
		h.ropeTheta = v
	}
	switch {
	case embedRows > 0:
		h.vocab = uint64(embedRows)
	case nTokens > 0:
		h.vocab = uint64(nTokens)
	}
	if v, ok := kv.Uint(arch + ".vocab_size"); ok && v != h.vocab {
		return h, fmt.Errorf("metadata %s.vocab_size %d disagrees with token_embd rows %d", arch, v, h.vocab)
	}
	if typ, _ := kv.String(arch + ".rope.scaling.type"); typ != "" && typ != "none" {
		factor, _ := kv.Float(arch + ".rope.scaling.factor")
		h.ropeScaling = map[string]any{"rope_type": typ, "factor": factor}
		if orig, ok := kv.Uint(arch + ".rope.scaling.original_context_length"); ok {
			h.ropeScaling["original_max_position_embeddings"] = orig
		}
	}
	return h, nil
}

// hfConfig builds config.json for spec from the hyperparameters.
func hfConfig(spec archSpec, h hparams, v *vocab, tied, bias bool, dtype string) map[string]any {
	c := map[string]any{
		"architectures":           []string{spec.hfClass},
		"model_type":              spec.modelType,
		"hidden_size":             h.hidden,
		"intermediate_size":       h.ffn,
		"num_hidden_layers":       h.layers,
		"num_attention_heads":     h.heads,
		"num_key_value_heads":     h.kvHeads,
		"head_dim":                h.headDim,
		"rms_norm_eps":            h.eps,
		"rope_theta":              h.ropeTheta,
		"rope_scaling":            h.ropeScaling,
		"max_position_embeddings": h.ctx,
		"vocab_size":              h.vocab,
		"tie_word_embeddings":     tied,
		"attention_bias":          bias,
		"attention_dropout":       0.0,
		"initializer_range":       0.02,
		"use_cache":               true,
		"torch_dtype":             dtype,
	}
	for k, val := range spec.extra {
		c[k] = val
	}
	for key, id := range map[string]int64{"bos_token_id": v.bos, "eos_token_id": v.eos, "pad_token_id": v.pad} {
		if id >= 0 {
			c[key] = id
		}
	}
	return c
}

// generationConfig builds generation_config.json: the special ids only, so
// sampling settings stay the caller's choice.
func generationConfig(v *vocab) map[string]any {
	c := map[string]any{}
	for key, id := range map[string]int64{"bos_token_id": v.bos, "eos_token_id": v.eos, "pad_token_id": v.pad} {
		if id >= 0 {
			c[key] = id
		}
	}
	return c
}

// fileTypes names general.file_type values (llama_ftype / LlamaFileType).
var fileTypes = map[uint64]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
	16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
}

// quantization names the file's encoding: general.file_type when known,
// else the type holding the most bytes.
func (g *GGUF) quantization() string {
	if ft, ok := g.KV.Uint("general.file_type"); ok {
		if name, ok := fileTypes[ft]; ok {
			return name
		}
	}
	bytesBy := map[GGMLType]uint64{}
	best := GGMLType(0)
	for _, t := range g.Tensors {
		bytesBy[t.Type] += t.Bytes()
		if bytesBy[t.Type] > bytesBy[best] || bytesBy[t.Type] == bytesBy[best] && t.Type < best {
			best = t.Type
		}
	}
	return best.String()
}
