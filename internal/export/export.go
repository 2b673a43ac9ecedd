package export

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/modelstore"
	"github.com/vulntune/vulntune/internal/narrate"
)

// FormatGGUF is the one export format.
const FormatGGUF = "gguf"

// Options tune Export.
type Options struct {
	// Format is the file format; only FormatGGUF.
	Format string
	// Quant is QuantF16 (the default) or QuantQ8_0: the encoding of 2-D
	// weights. Norms and biases stay F32.
	Quant string
	// OutDir receives <name>.<QUANT>.gguf and Modelfile; it is created.
	OutDir string
	// Name is the file's base name and general.name; empty means the model
	// dir's base name.
	Name string
}

// Result says what Export wrote.
type Result struct {
	GGUF      string `json:"gguf"`
	Modelfile string `json:"modelfile"`
	Quant     string `json:"quant"`
	Arch      string `json:"architecture"`
	Tensors   int    `json:"tensors"`
	Bytes     int64  `json:"bytes"`
	// TemplateNote is set when the Modelfile has no TEMPLATE because the
	// chat template is not one vulntune can restate for Ollama.
	TemplateNote string `json:"template_note,omitempty"`
}

// Export writes modelDir (a Hugging Face layout dir of a llama or olmo2
// model) as a GGUF file and an Ollama Modelfile in opts.OutDir. Everything
// is checked before anything is written; the GGUF appears whole or not at
// all, one tensor in memory at a time.
func Export(ctx context.Context, modelDir string, opts Options) (*Result, error) {
	if opts.Format == "" {
		opts.Format = FormatGGUF
	}
	if opts.Format != FormatGGUF {
		return nil, fmt.Errorf("%w: unknown format %q (supported: %s)", ErrOption, opts.Format, FormatGGUF)
	}
	if opts.Quant == "" {
		opts.Quant = QuantF16
	}
	if err := checkQuant(opts.Quant); err != nil {
		return nil, err
	}
	if opts.OutDir == "" {
		return nil, fmt.Errorf("%w: no output directory", ErrOption)
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(filepath.Clean(modelDir))
	}
	p, err := plan(modelDir, opts)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", modelDir, err)
	}
	file := opts.Name + "." + strings.ToUpper(opts.Quant) + ".gguf"
	res := &Result{GGUF: filepath.Join(opts.OutDir, file), Modelfile: filepath.Join(opts.OutDir, "Modelfile"),
		Quant: opts.Quant, Arch: p.cfg.ModelType, Tensors: len(p.tensors)}
	mf, note := modelfile(file, p.vocab, systemPrompt(modelDir, p.vocab.chatTemplate))
	res.TemplateNote = note
	for i := range p.tensors {
		enc := p.tensors[i].Encode
		p.tensors[i].Encode = func() ([]byte, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return enc()
		}
	}
	err = atomicfile.Write(res.GGUF, 0o644, func(w io.Writer) error {
		return modelstore.WriteGGUF(w, p.kv, p.tensors)
	})
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", modelDir, err)
	}
	if err := atomicfile.WriteFile(res.Modelfile, []byte(mf), 0o644); err != nil {
		return nil, fmt.Errorf("export %s: %w", modelDir, err)
	}
	st, err := os.Stat(res.GGUF)
	if err != nil {
		return nil, err
	}
	res.Bytes = st.Size()
	return res, nil
}

// exportPlan is the file to write: its metadata and tensors (encoded on
// demand).
type exportPlan struct {
	cfg     *hfConfig
	vocab   *vocab
	kv      modelstore.KV
	tensors []modelstore.GGUFTensor
}

func plan(dir string, opts Options) (*exportPlan, error) {
	c, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	v, err := readVocab(dir, c)
	if err != nil {
		return nil, err
	}
	p := &exportPlan{cfg: c, vocab: v, kv: modelstore.KV{}}
	if err := p.metadata(opts); err != nil {
		return nil, err
	}
	v.kv(p.kv)
	hts, err := readTensors(dir)
	if err != nil {
		return nil, err
	}
	permute := modelstore.PermutesQK(c.ModelType)
	seen := map[string]bool{}
	for _, t := range hts {
		if strings.HasSuffix(t.name, ".rotary_emb.inv_freq") || t.name == "lm_head.weight" && c.tied() {
			continue // recomputed by llama.cpp / the tied embeddings
		}
		name, err := modelstore.GGUFName(c.ModelType, t.name)
		if err != nil {
			return nil, err
		}
		seen[name] = true
		shape := t.info.Shape
		if len(shape) == 0 || len(shape) > 2 {
			return nil, fmt.Errorf("tensor %q has shape %v; export handles 1-D and 2-D tensors", t.name, shape)
		}
		dims := make([]uint64, len(shape)) // GGUF lists the fastest-varying dimension first
		for i, d := range shape {
			dims[len(shape)-1-i] = uint64(d)
		}
		heads := 0
		if permute {
			switch {
			case strings.Contains(t.name, ".self_attn.q_proj."):
				heads = int(c.Heads)
			case strings.Contains(t.name, ".self_attn.k_proj."):
				heads = int(c.KVHeads)
			}
		}
		if heads > 0 && (shape[0]%int64(heads) != 0 || shape[0]/int64(heads)%2 != 0) {
			return nil, fmt.Errorf("tensor %q: %d rows do not split into %d heads of even size", t.name, shape[0], heads)
		}
		typ := tensorType(opts.Quant, shape)
		p.tensors = append(p.tensors, modelstore.GGUFTensor{Name: name, Dims: dims, Type: typ, Encode: func() ([]byte, error) {
			x, err := t.floats()
			if err != nil {
				return nil, err
			}
			if heads > 0 {
				rows := int(shape[0])
				if x, err = modelstore.PermuteRows(x, rows, len(x)/rows, heads); err != nil {
					return nil, fmt.Errorf("tensor %q: %w", t.name, err)
				}
			}
			return encode(typ, x)
		}})
	}
	for _, need := range []string{"token_embd.weight", "output_norm.weight"} {
		if !seen[need] {
			return nil, fmt.Errorf("the model has no tensor for %s", need)
		}
	}
	if !c.tied() && !seen["output.weight"] {
		return nil, fmt.Errorf("config.json says the embeddings are untied but there is no lm_head.weight")
	}
	last := fmt.Sprintf("blk.%d.", c.Layers-1)
	if !hasPrefix(seen, last) || hasPrefix(seen, fmt.Sprintf("blk.%d.", c.Layers)) {
		return nil, fmt.Errorf("config.json num_hidden_layers is %d but the tensors say otherwise", c.Layers)
	}
	sort.SliceStable(p.tensors, func(i, j int) bool { return tensorOrder(p.tensors[i].Name) < tensorOrder(p.tensors[j].Name) })
	return p, nil
}

// tensorOrder sorts tensors as llama.cpp's converter writes them: the
// embeddings, the blocks in layer order, then the output norm and head.
func tensorOrder(name string) string {
	if rest, ok := strings.CutPrefix(name, "blk."); ok {
		n, tail, _ := strings.Cut(rest, ".")
		i, _ := strconv.Atoi(n)
		return fmt.Sprintf("1 %06d %s", i, tail)
	}
	if strings.HasPrefix(name, "token_embd.") {
		return "0 " + name
	}
	return "2 " + name
}

func hasPrefix(names map[string]bool, prefix string) bool {
	for n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// metadata sets the general.* and <arch>.* keys llama.cpp reads, as
// convert_hf_to_gguf writes them for LlamaModel and Olmo2Model.
func (p *exportPlan) metadata(opts Options) error {
	c, arch := p.cfg, p.cfg.ModelType
	kv := p.kv
	kv["general.architecture"] = arch
	kv["general.type"] = "model"
	kv["general.name"] = opts.Name
	kv["general.file_type"] = quants[opts.Quant].fileType
	kv["general.quantization_version"] = uint32(2)
	kv[arch+".context_length"] = uint32(c.MaxPositions)
	kv[arch+".embedding_length"] = uint32(c.Hidden)
	kv[arch+".feed_forward_length"] = uint32(c.FFN)
	kv[arch+".block_count"] = uint32(c.Layers)
	kv[arch+".attention.head_count"] = uint32(c.Heads)
	kv[arch+".attention.head_count_kv"] = uint32(c.KVHeads)
	kv[arch+".attention.layer_norm_rms_epsilon"] = float32(c.RMSNormEps)
	kv[arch+".rope.freq_base"] = float32(c.RopeTheta)
	kv[arch+".rope.dimension_count"] = uint32(c.headDim())
	kv[arch+".attention.key_length"] = uint32(c.headDim())
	kv[arch+".attention.value_length"] = uint32(c.headDim())
	kv[arch+".vocab_size"] = uint32(c.VocabSize)
	if len(c.RopeScaling) > 0 {
		typ, _ := c.RopeScaling["rope_type"].(string)
		if typ == "" {
			typ, _ = c.RopeScaling["type"].(string)
		}
		factor, _ := c.RopeScaling["factor"].(float64)
		if typ != "linear" || factor <= 0 {
			return fmt.Errorf("config.json rope_scaling %v is not supported (only linear scaling, or none)", c.RopeScaling)
		}
		kv[arch+".rope.scaling.type"] = "linear"
		kv[arch+".rope.scaling.factor"] = float32(factor)
	}
	return nil
}

// systemPrompt is the Modelfile's SYSTEM: the dataset's system turn for a
// model vulntune fine-tuned (it answered every training example after it),
// else the default system turn the chat template inserts when a
// conversation has none, if it has one.
func systemPrompt(dir, chatTemplate string) string {
	if m, err := modelstore.ReadMetadata(dir); err == nil && m.Kind == modelstore.KindFineTuned {
		return narrate.SystemPrompt
	}
	if m := defaultSystem.FindStringSubmatch(chatTemplate); m != nil {
		return unescapeJinja(m[1])
	}
	return ""
}

// defaultSystem finds a ChatML template's literal system turn, e.g.
// SmolLM2's '<|im_start|>system\nYou are a helpful AI assistant...<|im_end|>',
// whose newline is a real one or a Jinja escape.
var defaultSystem = regexp.MustCompile(`'<\|im_start\|>system(?:\\n|\n)((?:[^'\\]|\\.)*?)<\|im_end\|>`)

func unescapeJinja(s string) string {
	return strings.NewReplacer(`\n`, "\n", `\'`, "'", `\\`, `\`).Replace(s)
}
