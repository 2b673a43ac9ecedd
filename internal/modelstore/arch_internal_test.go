package modelstore

import "testing"

// TestGGUFNameInvertsImport: every GGUF name the importer knows maps to a
// Hugging Face name that GGUFName maps back to it, for every architecture.
func TestGGUFNameInvertsImport(t *testing.T) {
	t.Parallel()
	for arch, spec := range archs {
		var names []string
		for g := range spec.blockMap {
			names = append(names, "blk.0."+g+".weight", "blk.17."+g+".bias")
		}
		for g := range globalMap {
			names = append(names, g+".weight")
		}
		for _, g := range names {
			hf, err := spec.hfName(g)
			if err != nil {
				t.Fatalf("%s: hfName(%q): %v", arch, g, err)
			}
			back, err := GGUFName(arch, hf)
			if err != nil || back != g {
				t.Errorf("%s: GGUFName(%q) = %q, %v; want %q", arch, hf, back, err, g)
			}
		}
	}
}

func TestGGUFNameRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ arch, hf string }{
		{"llama", "model.layers.0.self_attn.q_norm.weight"}, // OLMo-2 only
		{"llama", "model.rotary_emb.inv_freq"},
		{"llama", "lm_head.scales"},
		{"gpt2", "model.embed_tokens.weight"},
	} {
		if g, err := GGUFName(tt.arch, tt.hf); err == nil {
			t.Errorf("GGUFName(%q, %q) = %q, want an error", tt.arch, tt.hf, g)
		}
	}
}
