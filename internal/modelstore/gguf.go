package modelstore

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// ggufMagic is "GGUF" read as a little-endian uint32.
const ggufMagic = 0x46554747

// defaultAlignment is the tensor data alignment when general.alignment is
// absent (GGUF_DEFAULT_ALIGNMENT).
const defaultAlignment = 32

// maxDims bounds a tensor's rank; ggml has GGML_MAX_DIMS = 4.
const maxDims = 4

// GGUF is a parsed GGUF file: its header, metadata and tensor directory.
// Tensor data stays on disk and is read on demand through ReadTensor.
// Values from OpenGGUF must be closed with Close.
type GGUF struct {
	Name       string // file name, for error messages
	Version    uint32
	KV         KV
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset int64 // file offset of the tensor data section

	r      io.ReaderAt
	size   int64
	closer io.Closer
}

// TensorInfo is one tensor directory entry. Dims is in GGUF order: Dims[0]
// varies fastest, the reverse of the PyTorch/numpy shape (see Shape).
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   GGMLType
	Offset uint64 // relative to GGUF.DataOffset
}

// Elements is the number of elements in the tensor.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Shape returns the row-major (PyTorch, safetensors) shape.
func (t TensorInfo) Shape() []int64 {
	s := make([]int64, len(t.Dims))
	for i, d := range t.Dims {
		s[len(t.Dims)-1-i] = int64(d)
	}
	return s
}

// Bytes is the size of the tensor's encoded data.
func (t TensorInfo) Bytes() uint64 {
	n, _ := rowBytes(t.Type, t.Elements()) // validated when the file was read
	return n
}

// FormatError reports a GGUF file that is truncated or malformed.
type FormatError struct {
	File   string
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf %s: at offset %d: %s", e.File, e.Offset, e.Msg)
}

// OpenGGUF opens and parses the GGUF file at path. The caller must Close it.
func OpenGGUF(path string) (*GGUF, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open gguf: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat gguf %s: %w", path, err)
	}
	g, err := ReadGGUF(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	g.closer = f
	return g, nil
}

// Close releases the underlying file of a GGUF from OpenGGUF.
func (g *GGUF) Close() error {
	if g.closer == nil {
		return nil
	}
	return g.closer.Close()
}

// ReadGGUF parses the header, metadata and tensor directory of a GGUF held
// by r (size bytes long); name is used in errors. It reads no tensor data
// but checks that every tensor lies inside the file.
func ReadGGUF(r io.ReaderAt, size int64, name string) (*GGUF, error) {
	d := &decoder{r: r, size: size, name: name}
	if magic := d.u32(); d.err == nil && magic != ggufMagic {
		return nil, &FormatError{name, 0, fmt.Sprintf("not a GGUF file: magic %#08x, want %#08x (\"GGUF\")", magic, ggufMagic)}
	}
	g := &GGUF{Name: name, r: r, size: size}
	g.Version = d.u32()
	if d.err == nil && (g.Version < 2 || g.Version > 3) {
		if g.Version > 0xFFFF { // a byte-swapped small number
			return nil, d.fail(4, "big-endian GGUF is not supported")
		}
		return nil, d.fail(4, fmt.Sprintf("GGUF version %d is not supported (want 2 or 3)", g.Version))
	}
	nTensors := d.count("tensor count", 8+8+4+8) // name len, rank, type, offset
	nKV := d.count("metadata count", 8+4)        // key len, value type
	g.KV = make(KV, nKV)
	for i := uint64(0); i < nKV && d.err == nil; i++ {
		at := d.off
		key := d.str()
		v := d.value(d.valueType(), 0)
		if d.err != nil {
			break
		}
		if _, dup := g.KV[key]; dup {
			return nil, d.fail(at, fmt.Sprintf("duplicate metadata key %q", key))
		}
		g.KV[key] = v
	}
	g.Tensors = make([]TensorInfo, 0, nTensors)
	for i := uint64(0); i < nTensors && d.err == nil; i++ {
		g.Tensors = append(g.Tensors, d.tensorInfo())
	}
	if d.err != nil {
		return nil, d.err
	}
	g.Alignment = defaultAlignment
	if v, ok := g.KV["general.alignment"]; ok {
		a, ok := v.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 {
			return nil, d.fail(d.off, fmt.Sprintf("general.alignment %v is not a power-of-two uint32", v))
		}
		g.Alignment = uint64(a)
	}
	g.DataOffset = int64(alignUp(uint64(d.off), g.Alignment))
	if err := g.checkTensors(); err != nil {
		return nil, err
	}
	return g, nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// checkTensors validates names, types, alignment and bounds once, so that
// reading tensors later cannot run off the file.
func (g *GGUF) checkTensors() error {
	seen := make(map[string]bool, len(g.Tensors))
	avail := uint64(0)
	if g.size > g.DataOffset {
		avail = uint64(g.size - g.DataOffset)
	}
	for _, t := range g.Tensors {
		if seen[t.Name] {
			return &FormatError{g.Name, g.DataOffset, fmt.Sprintf("duplicate tensor %q", t.Name)}
		}
		seen[t.Name] = true
		n, err := rowBytes(t.Type, t.Elements())
		if err != nil {
			return &FormatError{g.Name, g.DataOffset, fmt.Sprintf("tensor %q: %v", t.Name, err)}
		}
		if t.Offset%g.Alignment != 0 {
			return &FormatError{g.Name, g.DataOffset, fmt.Sprintf("tensor %q: offset %d is not aligned to %d", t.Name, t.Offset, g.Alignment)}
		}
		if t.Offset > avail || n > avail-t.Offset {
			return &FormatError{g.Name, g.DataOffset + int64(min(t.Offset, avail)),
				fmt.Sprintf("tensor %q: %d bytes at data offset %d run past the end of the file (%d bytes of data)", t.Name, n, t.Offset, avail)}
		}
	}
	return nil
}

// Tensor returns the directory entry named name.
func (g *GGUF) Tensor(name string) (TensorInfo, bool) {
	for _, t := range g.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// ReadTensor reads and dequantizes one tensor into float32s in row-major
// order (the same memory order as GGUF, whose Dims are reversed).
func (g *GGUF) ReadTensor(t TensorInfo) ([]float32, error) {
	n := t.Elements()
	if n > math.MaxInt32*4 {
		return nil, fmt.Errorf("gguf %s: tensor %q: %d elements is too large", g.Name, t.Name, n)
	}
	raw := make([]byte, t.Bytes())
	at := g.DataOffset + int64(t.Offset)
	if _, err := g.r.ReadAt(raw, at); err != nil && !(errors.Is(err, io.EOF) && len(raw) == 0) {
		return nil, fmt.Errorf("gguf %s: read tensor %q (%d bytes at offset %d): %w", g.Name, t.Name, len(raw), at, err)
	}
	out, err := Dequantize(t.Type, raw, int(n))
	if err != nil {
		return nil, fmt.Errorf("gguf %s: tensor %q: %w", g.Name, t.Name, err)
	}
	return out, nil
}

// TensorNames returns the tensor names sorted, for messages and listings.
func (g *GGUF) TensorNames() []string {
	names := make([]string, len(g.Tensors))
	for i, t := range g.Tensors {
		names[i] = t.Name
	}
	sort.Strings(names)
	return names
}
