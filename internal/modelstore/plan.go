package modelstore

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// importPlan is everything decided about an import before anything is
// written: names, shapes, config and tokenizer. Building it first means a
// file vulntune cannot convert fails before any output exists.
type importPlan struct {
	g       *GGUF
	spec    archSpec
	vocab   *vocab
	hp      hparams
	tensors []plannedTensor
	tied    bool
	bias    bool
	params  int64
	dtype   string
}

type plannedTensor struct {
	info  TensorInfo
	hf    string
	shape []int64
	heads int // > 0: un-permute rows for this many heads
}

func planImport(g *GGUF, opts ImportOptions) (*importPlan, error) {
	arch, _ := g.KV.String("general.architecture")
	spec, ok := archs[arch]
	if !ok {
		return nil, fmt.Errorf("architecture %q is not supported (supported: %s)", arch, supportedArchs())
	}
	p := &importPlan{g: g, spec: spec, dtype: opts.DType, tied: true}
	var err error
	if p.vocab, err = readVocab(g.KV); err != nil {
		return nil, err
	}
	embed, ok := g.Tensor("token_embd.weight")
	if !ok || len(embed.Dims) != 2 {
		return nil, fmt.Errorf("no 2-D token_embd.weight tensor")
	}
	if p.hp, err = readHParams(g.KV, arch, len(p.vocab.tokens), embed.Shape()[0]); err != nil {
		return nil, err
	}
	seen := map[string]string{}
	for _, t := range g.Tensors {
		hf, err := spec.hfName(t.Name)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[hf]; dup {
			return nil, fmt.Errorf("tensors %q and %q both map to %q", prev, t.Name, hf)
		}
		seen[hf] = t.Name
		pt := plannedTensor{info: t, hf: hf, shape: t.Shape()}
		if spec.permuteQK && !opts.SkipUnpermute {
			switch {
			case strings.HasSuffix(hf, ".q_proj.weight") || strings.HasSuffix(hf, ".q_proj.bias"):
				pt.heads = int(p.hp.heads)
			case strings.HasSuffix(hf, ".k_proj.weight") || strings.HasSuffix(hf, ".k_proj.bias"):
				pt.heads = int(p.hp.kvHeads)
			}
		}
		if pt.heads > 0 && (pt.shape[0]%int64(pt.heads) != 0 || pt.shape[0]/int64(pt.heads)%2 != 0) {
			return nil, fmt.Errorf("tensor %q: %d rows do not split into %d heads of even size", t.Name, pt.shape[0], pt.heads)
		}
		if hf == "lm_head.weight" {
			p.tied = false
		}
		if strings.HasSuffix(hf, "_proj.bias") {
			p.bias = true
		}
		p.params += int64(t.Elements())
		p.tensors = append(p.tensors, pt)
	}
	if got := int64(p.hp.layers); !hasLayer(seen, got-1) || hasLayer(seen, got) {
		return nil, fmt.Errorf("%s.block_count is %d but the tensors say otherwise", arch, got)
	}
	return p, nil
}

func hasLayer(names map[string]string, i int64) bool {
	prefix := fmt.Sprintf("model.layers.%d.", i)
	for n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// write produces every file of the model dir inside dir.
func (p *importPlan) write(ctx context.Context, dir string, meta Metadata) error {
	st := dtypes[p.dtype].st
	sources := make([]tensorSource, len(p.tensors))
	for i, pt := range p.tensors {
		sources[i] = tensorSource{name: pt.hf, dtype: st, shape: pt.shape, write: func(w io.Writer) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			data, err := p.g.ReadTensor(pt.info)
			if err != nil {
				return err
			}
			if pt.heads > 0 {
				rows := int(pt.shape[0])
				if data, err = unpermuteRows(data, rows, len(data)/rows, pt.heads); err != nil {
					return fmt.Errorf("tensor %q: %w", pt.info.Name, err)
				}
			}
			return writeFloats(w, data, p.dtype)
		}}
	}
	err := atomicfile.Write(filepath.Join(dir, "model.safetensors"), 0o644, func(w io.Writer) error {
		return writeSafetensors(w, sources, map[string]string{"format": "pt"})
	})
	if err != nil {
		return err
	}
	tok, err := p.vocab.tokenizerJSON()
	if err != nil {
		return fmt.Errorf("encode tokenizer.json: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "tokenizer.json"), tok, 0o644); err != nil {
		return err
	}
	files := map[string]any{
		"config.json":             hfConfig(p.spec, p.hp, p.vocab, p.tied, p.bias, p.dtype),
		"generation_config.json":  generationConfig(p.vocab),
		"tokenizer_config.json":   p.vocab.tokenizerConfig(p.hp.ctx),
		"special_tokens_map.json": p.vocab.specialTokensMap(),
		MetadataFile:              meta,
	}
	for name, v := range files {
		if err := writeJSON(filepath.Join(dir, name), v); err != nil {
			return err
		}
	}
	return nil
}
