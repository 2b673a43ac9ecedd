package modelstore_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/modelstore"
)

func le16(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func sameFloats(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			t.Fatalf("value %d: got %v (%#08x), want %v (%#08x)", i, g, math.Float32bits(g), w, math.Float32bits(w))
		}
	}
}

// Hand-built blocks with known scales and quants, checked against values
// worked out from the block layouts in ggml-common.h.
func TestDequantizeHandBuilt(t *testing.T) {
	t.Parallel()
	nibbles := make([]byte, 16) // low nibble j, high nibble 15-j
	for j := range nibbles {
		nibbles[j] = byte(j) | byte(15-j)<<4
	}
	int8s := make([]byte, 32)
	for j := range int8s {
		int8s[j] = byte(int8(j*8 - 128))
	}
	q80 := make([]float32, 32)
	q40, q41, q50, q51 := make([]float32, 32), make([]float32, 32), make([]float32, 32), make([]float32, 32)
	for j := range 16 {
		q40[j], q40[j+16] = float32(j-8)*0.5, float32(15-j-8)*0.5
		q41[j], q41[j+16] = float32(j)*0.25-1, float32(15-j)*0.25-1
		// qh = 0x0001_8000 sets the fifth bit of element 15 (bit 15)
		// and of element 16+0 (bit 16).
		h0, h1 := 0, 0
		if j == 15 {
			h0 = 16
		}
		if j == 0 {
			h1 = 16
		}
		q50[j], q50[j+16] = float32(j+h0-16)*2, float32(15-j+h1-16)*2
		q51[j], q51[j+16] = float32(j+h0)*0.5+3, float32(15-j+h1)*0.5+3
	}
	for j := range 32 {
		q80[j] = float32(j*8-128) * 2
	}
	q8k := append(binary.LittleEndian.AppendUint32(nil, math.Float32bits(0.125)), make([]byte, 256+32)...)
	q8kWant := make([]float32, 256)
	for i := range 256 {
		q8k[4+i] = byte(int8(i - 128))
		q8kWant[i] = float32(i-128) * 0.125
	}
	qh := binary.LittleEndian.AppendUint32(nil, 0x00018000)
	tests := []struct {
		name string
		typ  modelstore.GGMLType
		src  []byte
		want []float32
	}{
		{"q4_0 d=0.5", modelstore.TypeQ4_0, append(le16(0x3800), nibbles...), q40},
		{"q4_1 d=0.25 m=-1", modelstore.TypeQ4_1, append(le16(0x3400, 0xBC00), nibbles...), q41},
		{"q5_0 d=2 with fifth bits", modelstore.TypeQ5_0, append(append(le16(0x4000), qh...), nibbles...), q50},
		{"q5_1 d=0.5 m=3 with fifth bits", modelstore.TypeQ5_1, append(append(le16(0x3800, 0x4200), qh...), nibbles...), q51},
		{"q8_0 d=2", modelstore.TypeQ8_0, append(le16(0x4000), int8s...), q80},
		{"q8_k d=0.125", modelstore.TypeQ8_K, q8k, q8kWant},
		{"f16 specials", modelstore.TypeF16,
			le16(0x3C00, 0xC000, 0x0001, 0x03FF, 0x7BFF, 0x7C00, 0xFC00, 0x8000, 0x7E00),
			[]float32{1, -2, 0x1p-24, 0x3FFp-24, 65504, float32(math.Inf(1)), float32(math.Inf(-1)),
				float32(math.Copysign(0, -1)), float32(math.NaN())}},
		{"bf16 specials", modelstore.TypeBF16,
			le16(0x3F80, 0xC000, 0x0001, 0x007F, 0x7F7F, 0x7F80, 0xFF80, 0x8000, 0x7FC0),
			[]float32{1, -2, 0x1p-133, math.Float32frombits(0x007F0000), math.Float32frombits(0x7F7F0000),
				float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), float32(math.NaN())}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := modelstore.Dequantize(tt.typ, tt.src, len(tt.want))
			if err != nil {
				t.Fatal(err)
			}
			sameFloats(t, got, tt.want)
		})
	}
}

// TestDequantizeReference compares every type with llama.cpp's gguf-py
// dequantizer on random blocks (testdata/dequant/gen.py writes the files).
func TestDequantizeReference(t *testing.T) {
	t.Parallel()
	for _, typ := range []modelstore.GGMLType{
		modelstore.TypeF16, modelstore.TypeBF16, modelstore.TypeQ4_0, modelstore.TypeQ4_1,
		modelstore.TypeQ5_0, modelstore.TypeQ5_1, modelstore.TypeQ8_0, modelstore.TypeQ2_K,
		modelstore.TypeQ3_K, modelstore.TypeQ4_K, modelstore.TypeQ5_K, modelstore.TypeQ6_K,
	} {
		t.Run(typ.String(), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join("testdata", "dequant", typ.String()+".blocks"))
			if err != nil {
				t.Fatal(err)
			}
			ref, err := os.ReadFile(filepath.Join("testdata", "dequant", typ.String()+".f32"))
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, len(ref)/4)
			for i := range want {
				want[i] = math.Float32frombits(binary.LittleEndian.Uint32(ref[4*i:]))
			}
			got, err := modelstore.Dequantize(typ, src, len(want))
			if err != nil {
				t.Fatal(err)
			}
			sameFloats(t, got, want)
		})
	}
}

func TestDequantizeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		typ     modelstore.GGMLType
		src     []byte
		n       int
		wantErr string
	}{
		{"unknown type", modelstore.GGMLType(99), nil, 1, "unsupported ggml type type(99)"},
		{"partial block", modelstore.TypeQ4_0, make([]byte, 18), 31, "not a whole number of Q4_0 blocks"},
		{"short data", modelstore.TypeQ8_0, make([]byte, 33), 32, "want 34 bytes, have 33"},
		{"long data", modelstore.TypeF32, make([]byte, 12), 2, "want 8 bytes, have 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := modelstore.Dequantize(tt.typ, tt.src, tt.n)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
