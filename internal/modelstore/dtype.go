package modelstore

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/x448/float16"
)

// DType names accepted by ImportOptions.DType, spelled as torch_dtype is in
// config.json.
const (
	DTypeFloat32  = "float32"
	DTypeFloat16  = "float16"
	DTypeBFloat16 = "bfloat16"
)

// dtypes maps a torch dtype name to its safetensors name and element size.
var dtypes = map[string]struct {
	st   string
	size int
}{
	DTypeFloat32:  {"F32", 4},
	DTypeFloat16:  {"F16", 2},
	DTypeBFloat16: {"BF16", 2},
}

func checkDType(name string) error {
	if _, ok := dtypes[name]; !ok {
		return fmt.Errorf("unknown dtype %q (want %s, %s or %s)", name, DTypeFloat32, DTypeFloat16, DTypeBFloat16)
	}
	return nil
}

// writeFloats encodes v little-endian as dtype, in chunks so a large tensor
// never needs a second full-size buffer.
func writeFloats(w io.Writer, v []float32, dtype string) error {
	size := dtypes[dtype].size
	const chunk = 1 << 16
	buf := make([]byte, min(len(v), chunk)*size)
	for start := 0; start < len(v); start += chunk {
		part := v[start:min(start+chunk, len(v))]
		b := buf[:len(part)*size]
		for i, f := range part {
			switch dtype {
			case DTypeFloat32:
				binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
			case DTypeFloat16:
				binary.LittleEndian.PutUint16(b[2*i:], float16Bits(f))
			default:
				binary.LittleEndian.PutUint16(b[2*i:], bfloat16Bits(f))
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// float16Bits rounds f to IEEE half precision, to nearest even.
func float16Bits(f float32) uint16 { return float16.Fromfloat32(f).Bits() }

// bfloat16Bits rounds f to bfloat16, to nearest with ties to even, as
// torch does; NaN stays a quiet NaN with its sign.
func bfloat16Bits(f float32) uint16 {
	u := math.Float32bits(f)
	if f != f {
		return uint16(u>>16) | 0x0040
	}
	u += 0x7FFF + (u>>16)&1
	return uint16(u >> 16)
}
