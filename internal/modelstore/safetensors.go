package modelstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// maxSafetensorsHeader bounds the JSON header; the reference implementation
// refuses headers over 100 MB (safetensors MAX_HEADER_SIZE).
const maxSafetensorsHeader = 100 << 20

// safetensorsDTypeSize is the element size of each safetensors dtype.
var safetensorsDTypeSize = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"U16": 2, "I16": 2, "F16": 2, "BF16": 2,
	"U32": 4, "I32": 4, "F32": 4,
	"U64": 8, "I64": 8, "F64": 8,
}

// SafetensorsTensor is one tensor header entry of a safetensors file.
type SafetensorsTensor struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"` // relative to SafetensorsHeader.DataOffset
}

// Elements is the number of elements the shape holds.
func (t SafetensorsTensor) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// SafetensorsHeader is the parsed header of a safetensors file.
type SafetensorsHeader struct {
	Tensors    map[string]SafetensorsTensor
	Metadata   map[string]string
	DataOffset int64 // file offset where tensor data starts (8 + header length)
}

// ReadSafetensorsHeader reads and validates the header of the safetensors
// file at path: every tensor's dtype is known, its byte range matches its
// shape, and the ranges tile the data section exactly.
func ReadSafetensorsHeader(path string) (*SafetensorsHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat safetensors %s: %w", path, err)
	}
	h, err := parseSafetensorsHeader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return h, nil
}

func parseSafetensorsHeader(r io.ReaderAt, size int64) (*SafetensorsHeader, error) {
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		return nil, fmt.Errorf("at offset 0: file truncated reading the 8-byte header length (%d bytes in file)", size)
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > maxSafetensorsHeader || int64(n) > size-8 {
		return nil, fmt.Errorf("at offset 0: header length %d exceeds the file (%d bytes) or the 100 MB limit", n, size)
	}
	raw := make([]byte, n)
	if _, err := r.ReadAt(raw, 8); err != nil {
		return nil, fmt.Errorf("at offset 8: read header of %d bytes: %w", n, err)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("at offset 8: header is not a JSON object: %w", err)
	}
	h := &SafetensorsHeader{Tensors: make(map[string]SafetensorsTensor, len(entries)), DataOffset: 8 + int64(n)}
	for name, v := range entries {
		if name == "__metadata__" {
			if err := json.Unmarshal(v, &h.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ is not an object of strings: %w", err)
			}
			continue
		}
		var t SafetensorsTensor
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		h.Tensors[name] = t
	}
	if err := h.validate(size - h.DataOffset); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *SafetensorsHeader) validate(dataBytes int64) error {
	names := make([]string, 0, len(h.Tensors))
	for name := range h.Tensors {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := h.Tensors[names[i]].DataOffsets, h.Tensors[names[j]].DataOffsets
		return a[0] < b[0] || a[0] == b[0] && a[1] < b[1]
	})
	next := int64(0)
	for _, name := range names {
		t := h.Tensors[name]
		es, ok := safetensorsDTypeSize[t.DType]
		if !ok {
			return fmt.Errorf("tensor %q: unknown dtype %q", name, t.DType)
		}
		n := int64(1)
		for _, d := range t.Shape {
			if d < 0 || d > 0 && n > math.MaxInt64/es/d {
				return fmt.Errorf("tensor %q: shape %v is negative or overflows", name, t.Shape)
			}
			n *= d
		}
		b, e := t.DataOffsets[0], t.DataOffsets[1]
		if b != next || e < b {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap or overlap (expected to start at %d)", name, b, e, next)
		}
		if e-b != n*es {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] hold %d bytes, shape %v of %s needs %d", name, b, e, e-b, t.Shape, t.DType, n*es)
		}
		next = e
	}
	if next != dataBytes {
		return fmt.Errorf("tensors cover %d bytes of data but the file holds %d after the header", next, dataBytes)
	}
	return nil
}

// tensorSource is one tensor to write: its header entry without offsets and
// a function that streams exactly its bytes.
type tensorSource struct {
	name  string
	dtype string
	shape []int64
	write func(w io.Writer) error
}

func (t tensorSource) bytes() int64 {
	n := safetensorsDTypeSize[t.dtype]
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// writeSafetensors writes a safetensors file: 8-byte little-endian header
// length, the JSON header padded with spaces to a multiple of 8 (so tensor
// data is aligned), then each tensor's bytes in name order.
func writeSafetensors(w io.Writer, tensors []tensorSource, metadata map[string]string) error {
	sort.Slice(tensors, func(i, j int) bool { return tensors[i].name < tensors[j].name })
	header := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	off := int64(0)
	for _, t := range tensors {
		n := t.bytes()
		header[t.name] = SafetensorsTensor{DType: t.dtype, Shape: t.shape, DataOffsets: [2]int64{off, off + n}}
		off += n
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("encode safetensors header: %w", err)
	}
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte(" "), pad)...)
	}
	var lb [8]byte
	binary.LittleEndian.PutUint64(lb[:], uint64(len(js)))
	if _, err := w.Write(lb[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	for _, t := range tensors {
		cw := &countWriter{w: w}
		if err := t.write(cw); err != nil {
			return fmt.Errorf("write tensor %s: %w", t.name, err)
		}
		if cw.n != t.bytes() {
			return fmt.Errorf("write tensor %s: wrote %d bytes, header says %d", t.name, cw.n, t.bytes())
		}
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
