package export

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/x448/float16"

	"github.com/vulntune/vulntune/internal/modelstore"
)

// Quant names accepted by Options.Quant.
const (
	QuantF16  = "f16"
	QuantQ8_0 = "q8_0"
)

// quants maps a --quant name to the type of 2-D weights and the
// general.file_type (llama_ftype) that says so.
var quants = map[string]struct {
	typ      modelstore.GGMLType
	fileType uint32
}{
	QuantF16:  {modelstore.TypeF16, 1},  // LLAMA_FTYPE_MOSTLY_F16
	QuantQ8_0: {modelstore.TypeQ8_0, 7}, // LLAMA_FTYPE_MOSTLY_Q8_0
}

// ErrOption marks an export refused for its options (an unknown format or
// quant) rather than for the model, so a command can say it is a usage error.
var ErrOption = errors.New("unsupported export option")

// checkQuant refuses a quant the exporter cannot encode, naming those it can.
func checkQuant(q string) error {
	if _, ok := quants[q]; ok {
		return nil
	}
	if q == "q4_k_m" {
		return fmt.Errorf("%w: quant %q is not supported yet: vulntune has no K-quant encoder (supported: %s, %s; llama.cpp's llama-quantize turns an f16 export into q4_k_m)", ErrOption, q, QuantF16, QuantQ8_0)
	}
	return fmt.Errorf("%w: unknown quant %q (supported: %s, %s)", ErrOption, q, QuantF16, QuantQ8_0)
}

// tensorType is the type a tensor of HF shape gets, as convert_hf_to_gguf
// chooses it: 1-D tensors (norms, biases) stay F32; a weight whose rows do
// not split into Q8_0 blocks falls back to F16.
func tensorType(quant string, shape []int64) modelstore.GGMLType {
	if len(shape) < 2 {
		return modelstore.TypeF32
	}
	t := quants[quant].typ
	if t == modelstore.TypeQ8_0 && shape[len(shape)-1]%modelstore.QuantBlock != 0 {
		return modelstore.TypeF16
	}
	return t
}

// encode writes x as typ.
func encode(typ modelstore.GGMLType, x []float32) ([]byte, error) {
	switch typ {
	case modelstore.TypeF32:
		out := make([]byte, 4*len(x))
		for i, v := range x {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out, nil
	case modelstore.TypeF16:
		out := make([]byte, 2*len(x))
		for i, v := range x {
			binary.LittleEndian.PutUint16(out[2*i:], float16.Fromfloat32(v).Bits())
		}
		return out, nil
	case modelstore.TypeQ8_0:
		return encodeQ8_0(x)
	}
	return nil, fmt.Errorf("no encoder for %s", typ)
}

// encodeQ8_0 is ggml's quantize_row_q8_0_ref and gguf-py's Q8_0.quantize:
// per block of 32, d = max|x| / 127 in float32, q = round(x / d) half away
// from zero, and d stored as f16. The float32 conversions keep Go from
// fusing or widening the arithmetic, so the bytes match gguf-py's.
func encodeQ8_0(x []float32) ([]byte, error) {
	const qk = modelstore.QuantBlock
	if len(x)%qk != 0 {
		return nil, fmt.Errorf("%d elements is not a whole number of Q8_0 blocks of %d", len(x), qk)
	}
	out := make([]byte, 0, len(x)/qk*(2+qk))
	for b := 0; b < len(x); b += qk {
		blk := x[b : b+qk]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := float32(amax / 127)
		var id float32
		if d != 0 {
			id = float32(1 / d)
		}
		out = binary.LittleEndian.AppendUint16(out, float16.Fromfloat32(d).Bits())
		for _, v := range blk {
			out = append(out, byte(int8(math.Round(float64(float32(v*id))))))
		}
	}
	return out, nil
}
