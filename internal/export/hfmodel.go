package export

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/x448/float16"

	"github.com/vulntune/vulntune/internal/modelstore"
)

// hfConfig is the part of config.json the GGUF metadata is made from.
type hfConfig struct {
	ModelType      string         `json:"model_type"`
	Hidden         uint64         `json:"hidden_size"`
	FFN            uint64         `json:"intermediate_size"`
	Layers         uint64         `json:"num_hidden_layers"`
	Heads          uint64         `json:"num_attention_heads"`
	KVHeads        uint64         `json:"num_key_value_heads"`
	HeadDim        uint64         `json:"head_dim"`
	MaxPositions   uint64         `json:"max_position_embeddings"`
	RMSNormEps     float64        `json:"rms_norm_eps"`
	RopeTheta      float64        `json:"rope_theta"`
	RopeScaling    map[string]any `json:"rope_scaling"`
	VocabSize      uint64         `json:"vocab_size"`
	TieEmbeddings  *bool          `json:"tie_word_embeddings"`
	BOSTokenID     any            `json:"bos_token_id"`
	EOSTokenID     any            `json:"eos_token_id"`
	PadTokenID     any            `json:"pad_token_id"`
	Quantization   any            `json:"quantization"` // MLX's quantized weights
	QuantizationHF any            `json:"quantization_config"`
}

func readConfig(dir string) (*hfConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read model config: %w", err)
	}
	var c hfConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "config.json"), err)
	}
	if c.Quantization != nil || c.QuantizationHF != nil {
		return nil, fmt.Errorf("%s holds quantized weights; export needs float weights (fuse or dequantize the model first)", dir)
	}
	if err := modelstore.CheckArch(c.ModelType); err != nil {
		return nil, fmt.Errorf("config.json model_type: %w", err)
	}
	for name, v := range map[string]uint64{"hidden_size": c.Hidden, "intermediate_size": c.FFN,
		"num_hidden_layers": c.Layers, "num_attention_heads": c.Heads, "vocab_size": c.VocabSize} {
		if v == 0 {
			return nil, fmt.Errorf("config.json %s is missing or zero", name)
		}
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.Heads%c.KVHeads != 0 {
		return nil, fmt.Errorf("config.json: %d attention heads are not a multiple of %d key/value heads", c.Heads, c.KVHeads)
	}
	if c.RMSNormEps == 0 {
		return nil, fmt.Errorf("config.json rms_norm_eps is missing or zero")
	}
	if c.MaxPositions == 0 {
		c.MaxPositions = 2048
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	return &c, nil
}

func (c *hfConfig) tied() bool { return c.TieEmbeddings == nil || *c.TieEmbeddings }

// headDim is head_dim when config.json states it, else hidden/heads.
func (c *hfConfig) headDim() uint64 {
	if c.HeadDim > 0 {
		return c.HeadDim
	}
	return c.Hidden / c.Heads
}

// hfTensor is one tensor of a safetensors file of the model dir.
type hfTensor struct {
	name  string
	file  string
	start int64 // file offset of its data
	info  modelstore.SafetensorsTensor
}

// readTensors lists the tensors of every *.safetensors file in dir (one
// file, or the shards of a sharded checkpoint), sorted by name.
func readTensors(dir string) ([]hfTensor, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s has no .safetensors weights", dir)
	}
	var out []hfTensor
	seen := map[string]string{}
	for _, f := range files {
		h, err := modelstore.ReadSafetensorsHeader(f)
		if err != nil {
			return nil, err
		}
		for name, t := range h.Tensors {
			if prev, dup := seen[name]; dup {
				return nil, fmt.Errorf("tensor %q is in both %s and %s", name, filepath.Base(prev), filepath.Base(f))
			}
			seen[name] = f
			out = append(out, hfTensor{name: name, file: f, start: h.DataOffset + t.DataOffsets[0], info: t})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// floats reads the tensor as float32s.
func (t hfTensor) floats() ([]float32, error) {
	size := map[string]int{"F32": 4, "F16": 2, "BF16": 2}[t.info.DType]
	if size == 0 {
		return nil, fmt.Errorf("tensor %q: dtype %s is not a float type export reads (F32, F16, BF16)", t.name, t.info.DType)
	}
	f, err := os.Open(t.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := t.info.Elements()
	raw := make([]byte, n*int64(size))
	if _, err := f.ReadAt(raw, t.start); err != nil {
		return nil, fmt.Errorf("read tensor %q: %w", t.name, err)
	}
	out := make([]float32, n)
	for i := range out {
		switch t.info.DType {
		case "F32":
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		case "F16":
			out[i] = float16.Frombits(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
		default:
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	}
	return out, nil
}
