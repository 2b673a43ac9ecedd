package modelstore

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func f32Source(name string, shape []int64, v []float32) tensorSource {
	return tensorSource{name: name, dtype: "F32", shape: shape, write: func(w io.Writer) error {
		return writeFloats(w, v, DTypeFloat32)
	}}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	err := writeSafetensors(&buf, []tensorSource{
		f32Source("b.weight", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		f32Source("a.bias", []int64{1}, []float32{-0.5}),
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	n := binary.LittleEndian.Uint64(raw)
	if n%8 != 0 || raw[8+n-1] != ' ' && raw[8+n-1] != '}' {
		t.Fatalf("header length %d is not padded to 8 with spaces", n)
	}
	h, err := parseSafetensorsHeader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	a, b := h.Tensors["a.bias"], h.Tensors["b.weight"]
	if a.DataOffsets != [2]int64{0, 4} || b.DataOffsets != [2]int64{4, 28} || h.Metadata["format"] != "pt" {
		t.Fatalf("header %+v", h)
	}
	got := math.Float32frombits(binary.LittleEndian.Uint32(raw[h.DataOffset+b.DataOffsets[0]+20:]))
	if got != 6 {
		t.Fatalf("last element of b.weight = %v, want 6", got)
	}
}

func TestWriteSafetensorsShortTensor(t *testing.T) {
	t.Parallel()
	err := writeSafetensors(io.Discard, []tensorSource{f32Source("x", []int64{3}, []float32{1, 2})}, nil)
	if err == nil || !strings.Contains(err.Error(), "wrote 8 bytes, header says 12") {
		t.Fatalf("got %v", err)
	}
}

// stFile builds a safetensors file from a literal header and data length.
func stFile(header string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), make([]byte, data)...)
}

func TestReadSafetensorsHeaderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     []byte
		wantErr string
	}{
		{"empty", nil, "file truncated reading the 8-byte header length"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 100), "header length 100 exceeds the file"},
		{"not json", stFile("nope", 0), "header is not a JSON object"},
		{"unknown dtype", stFile(`{"x":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}`, 1), `tensor "x": unknown dtype "F7"`},
		{"size mismatch", stFile(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4), "shape [2] of F32 needs 8"},
		{"gap", stFile(`{"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), "leave a gap or overlap"},
		{"overlap", stFile(`{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), "leave a gap or overlap"},
		{"trailing data", stFile(`{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 2), "cover 1 bytes of data but the file holds 2"},
		{"negative shape", stFile(`{"x":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}`, 0), "negative or overflows"},
		{"unknown field", stFile(`{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":1}}`, 1), `unknown field "extra"`},
		{"bad metadata", stFile(`{"__metadata__":{"a":1}}`, 0), "__metadata__ is not an object of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseSafetensorsHeader(bytes.NewReader(tt.raw), int64(len(tt.raw)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadSafetensorsHeaderNamesFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(p, stFile("[]", 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSafetensorsHeader(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v does not name %s", err, p)
	}
}

// FuzzReadSafetensorsHeader: never panic; an accepted header's ranges lie
// inside the file.
func FuzzReadSafetensorsHeader(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "safetensors", "*.safetensors"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(stFile(`{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1))
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := parseSafetensorsHeader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			return
		}
		for name, ti := range h.Tensors {
			if h.DataOffset+ti.DataOffsets[1] > int64(len(raw)) {
				t.Fatalf("tensor %s runs past the file", name)
			}
		}
	})
}

func TestUnpermuteInvertsPermute(t *testing.T) {
	t.Parallel()
	tests := []struct{ rows, cols, heads int }{{8, 3, 1}, {64, 32, 4}, {16, 1, 2}, {576, 4, 9}, {192, 2, 3}}
	for _, tt := range tests {
		w := make([]float32, tt.rows*tt.cols)
		for i := range w {
			w[i] = float32(i)
		}
		// permute as llama.cpp: row h*hd + 2i + j  <-  row h*hd + j*hd/2 + i
		hd := tt.rows / tt.heads
		p := make([]float32, len(w))
		for h := range tt.heads {
			for i := range hd / 2 {
				for j := range 2 {
					copy(p[(h*hd+2*i+j)*tt.cols:][:tt.cols], w[(h*hd+j*hd/2+i)*tt.cols:][:tt.cols])
				}
			}
		}
		got, err := unpermuteRows(p, tt.rows, tt.cols, tt.heads)
		if err != nil {
			t.Fatal(err)
		}
		for i := range w {
			if got[i] != w[i] {
				t.Fatalf("%+v: element %d = %v, want %v", tt, i, got[i], w[i])
			}
		}
	}
	if _, err := unpermuteRows(make([]float32, 6), 6, 1, 2); err == nil {
		t.Fatal("odd head size accepted")
	}
}

func TestBFloat16Rounding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   uint32
		want uint16
	}{
		{0x3F800000, 0x3F80}, // 1
		{0x3F808000, 0x3F80}, // tie, even stays
		{0x3F818000, 0x3F82}, // tie, odd rounds up
		{0x3F808001, 0x3F81}, // above half
		{0x7F7FFFFF, 0x7F80}, // max float rounds to inf
		{0x7FC00001, 0x7FC0}, // NaN stays NaN
		{0xFF800000, 0xFF80}, // -inf
		{0x00000001, 0x0000}, // tiny subnormal to zero
	}
	for _, tt := range tests {
		if got := bfloat16Bits(math.Float32frombits(tt.in)); got != tt.want {
			t.Errorf("bfloat16(%#08x) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
}

func TestReadReferenceSafetensors(t *testing.T) {
	t.Parallel()
	h, err := ReadSafetensorsHeader(filepath.Join("testdata", "safetensors", "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Tensors) != 3 || h.Tensors["lm_head.weight"].DType != "F16" || h.Tensors["ids"].Elements() != 3 || h.Metadata["format"] != "pt" {
		t.Fatalf("header %+v", h)
	}
}
