package modelstore_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/modelstore/modeltest"

	"github.com/vulntune/vulntune/internal/golden"

	"github.com/vulntune/vulntune/internal/modelstore"
)

// allTypesKV has one value of every GGUF metadata type.
var allTypesKV = modelstore.KV{
	"general.architecture": "llama",
	"general.alignment":    uint32(64),
	"t.u8":                 uint8(200),
	"t.i8":                 int8(-100),
	"t.u16":                uint16(60000),
	"t.i16":                int16(-30000),
	"t.u32":                uint32(4000000000),
	"t.i32":                int32(-2000000000),
	"t.f32":                float32(1e-5),
	"t.bool":               true,
	"t.str":                "héllo <|im_end|>",
	"t.u64":                uint64(1) << 60,
	"t.i64":                int64(-1) << 60,
	"t.f64":                0.1,
	"t.strs":               []string{"a", "", "Ġthe"},
	"t.i32s":               []int32{1, -2, 3},
	"t.f32s":               []float32{0.5, -1},
	"t.bools":              []bool{true, false},
	"t.u8s":                []uint8{},
}

func encodeGGUF(t testing.TB, kv modelstore.KV, tensors []modelstore.GGUFTensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := modelstore.WriteGGUF(&buf, kv, tensors); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var twoTensors = []modelstore.GGUFTensor{
	{Name: "a", Dims: []uint64{3}, Type: modelstore.TypeF32, Data: make([]byte, 12)},
	{Name: "b", Dims: []uint64{32, 2}, Type: modelstore.TypeQ8_0, Data: make([]byte, 68)},
}

func TestReadGGUFRoundTrip(t *testing.T) {
	t.Parallel()
	raw := encodeGGUF(t, allTypesKV, twoTensors)
	g, err := modelstore.ReadGGUF(bytes.NewReader(raw), int64(len(raw)), "mem.gguf")
	if err != nil {
		t.Fatal(err)
	}
	if g.Version != 3 || g.Alignment != 64 || g.DataOffset%64 != 0 {
		t.Errorf("version %d alignment %d data offset %d", g.Version, g.Alignment, g.DataOffset)
	}
	if !reflect.DeepEqual(g.KV, allTypesKV) {
		t.Errorf("metadata round trip:\n got %#v\nwant %#v", g.KV, allTypesKV)
	}
	if f, _ := g.KV.Float("t.f32"); f != 1e-5 {
		t.Errorf("Float(t.f32) = %v, want 1e-05 (shortest float32 form)", f)
	}
	if n, ok := g.KV.Uint("t.i8"); ok {
		t.Errorf("Uint of a negative value = %d, want not ok", n)
	}
	if ids, _ := g.KV.Ints("t.i32s"); !reflect.DeepEqual(ids, []int64{1, -2, 3}) {
		t.Errorf("Ints = %v", ids)
	}
	b, ok := g.Tensor("b")
	if !ok || b.Offset != 64 || !reflect.DeepEqual(b.Shape(), []int64{2, 32}) || b.Bytes() != 68 {
		t.Errorf("tensor b = %+v shape %v", b, b.Shape())
	}
	if got := g.TensorNames(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("TensorNames = %v", got)
	}
}

func TestReadGGUFErrors(t *testing.T) {
	t.Parallel()
	good := encodeGGUF(t, modelstore.KV{"general.architecture": "llama"}, twoTensors)
	patch := func(off int, v ...byte) []byte {
		b := bytes.Clone(good)
		copy(b[off:], v)
		return b
	}
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	u64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	// Offsets in good: magic 0, version 4, tensor count 8, kv count 16,
	// key length 24, key 32..52, value type 52, string length 56.
	firstTensor := 24 + 8 + len("general.architecture") + 4 + 8 + len("llama")
	tests := []struct {
		name    string
		raw     []byte
		wantErr string
	}{
		{"empty", nil, "at offset 0: file truncated reading uint32"},
		{"bad magic", patch(0, 'G', 'G', 'M', 'L'), "not a GGUF file"},
		{"version 1", patch(4, u32(1)...), "GGUF version 1 is not supported"},
		{"big endian", patch(4, 0, 0, 0, 3), "big-endian GGUF is not supported"},
		{"huge tensor count", patch(8, u64(1<<40)...), "at offset 8: tensor count 1099511627776 cannot fit"},
		{"huge string", patch(24, u64(1<<50)...), "at offset 24: string length"},
		{"unknown value type", patch(52, u32(13)...), "at offset 52: unknown metadata value type 13"},
		{"rank 5", patch(firstTensor+8+1, u32(5)...), `tensor "a": rank 5`},
		{"unsupported type", patch(firstTensor+8+1+4+8, u32(20)...), `ggml type type(20) is not supported`},
		{"misaligned offset", patch(firstTensor+8+1+4+8+4, u64(4)...), `offset 4 is not aligned to 32`},
		{"tensor past end", good[:dataEnd(t, good)-1], `tensor "b": 68 bytes at data offset 32 run past the end`},
		{"truncated tensor info", good[:90], "at offset 90: file truncated reading uint32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := modelstore.ReadGGUF(bytes.NewReader(tt.raw), int64(len(tt.raw)), "x.gguf")
			var fe *modelstore.FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "gguf x.gguf: at offset ") {
				t.Fatalf("got %v, want a FormatError containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadGGUFEveryTruncation(t *testing.T) {
	t.Parallel()
	raw := encodeGGUF(t, allTypesKV, twoTensors)
	// Bytes after the last tensor are alignment padding, which may be cut.
	for n := range dataEnd(t, raw) {
		if _, err := modelstore.ReadGGUF(bytes.NewReader(raw[:n]), int64(n), "cut.gguf"); err == nil {
			t.Fatalf("a file cut to %d of %d bytes was accepted", n, len(raw))
		}
	}
}

// dataEnd is the offset just past the last tensor's data.
func dataEnd(t *testing.T, raw []byte) int {
	t.Helper()
	g, err := modelstore.ReadGGUF(bytes.NewReader(raw), int64(len(raw)), "x.gguf")
	if err != nil {
		t.Fatal(err)
	}
	end := 0
	for _, ti := range g.Tensors {
		end = max(end, int(g.DataOffset)+int(ti.Offset+ti.Bytes()))
	}
	return end
}

// FuzzReadGGUF checks that no input makes the reader panic or hang, and
// that whatever it accepts can be read tensor by tensor.
func FuzzReadGGUF(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "gguf", "*.gguf"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(encodeGGUF(f, allTypesKV, twoTensors))
	f.Fuzz(func(t *testing.T, raw []byte) {
		g, err := modelstore.ReadGGUF(bytes.NewReader(raw), int64(len(raw)), "fuzz.gguf")
		if err != nil {
			return
		}
		for _, ti := range g.Tensors {
			if ti.Elements() > 1<<20 {
				continue
			}
			if _, err := g.ReadTensor(ti); err != nil {
				t.Fatalf("accepted file cannot read tensor %s: %v", ti.Name, err)
			}
		}
	})
}

// TestSeedCorpusCurrent keeps testdata/gguf/tiny-llama.gguf, the fuzz seed,
// in step with WriteTinyLlamaGGUF.
func TestSeedCorpusCurrent(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := modeltest.WriteTinyLlamaGGUF(&buf, modeltest.TinyLlamaOptions{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "gguf", "tiny-llama.gguf"), buf.Bytes())
}
