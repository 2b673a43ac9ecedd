package modelstore

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// ValueType is the type tag of a GGUF metadata value (gguf_type in gguf.h).
type ValueType uint32

// GGUF metadata value types.
const (
	ValueUint8   ValueType = 0
	ValueInt8    ValueType = 1
	ValueUint16  ValueType = 2
	ValueInt16   ValueType = 3
	ValueUint32  ValueType = 4
	ValueInt32   ValueType = 5
	ValueFloat32 ValueType = 6
	ValueBool    ValueType = 7
	ValueString  ValueType = 8
	ValueArray   ValueType = 9
	ValueUint64  ValueType = 10
	ValueInt64   ValueType = 11
	ValueFloat64 ValueType = 12
)

// fixedSize is the encoded size of each scalar type; strings take at least 8.
var fixedSize = [...]int64{1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8}

// maxArrayDepth bounds nested arrays, which real files never use beyond one
// level, so a hostile file cannot recurse without limit.
const maxArrayDepth = 3

// KV maps GGUF metadata keys to values. Scalars are the matching Go type
// (uint32, float32, string, bool, ...); arrays are typed slices ([]string,
// []int32, ...) or []any for arrays of arrays.
type KV map[string]any

// String returns a string value.
func (m KV) String(key string) (string, bool) {
	s, ok := m[key].(string)
	return s, ok
}

// Uint returns a non-negative integer value of any integer type.
func (m KV) Uint(key string) (uint64, bool) {
	switch v := m[key].(type) {
	case uint8:
		return uint64(v), true
	case uint16:
		return uint64(v), true
	case uint32:
		return uint64(v), true
	case uint64:
		return v, true
	case int8, int16, int32, int64:
		i := toInt64(v)
		return uint64(i), i >= 0
	}
	return 0, false
}

// Float returns a floating-point value. A float32 is widened through its
// shortest decimal form, so 1e-5 stored as float32 reads back as 1e-05
// rather than 9.999999747378752e-06.
func (m KV) Float(key string) (float64, bool) {
	switch v := m[key].(type) {
	case float32:
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
		return f, true
	case float64:
		return v, true
	}
	return 0, false
}

// Bool returns a boolean value.
func (m KV) Bool(key string) (bool, bool) {
	b, ok := m[key].(bool)
	return b, ok
}

// Strings returns an array of strings.
func (m KV) Strings(key string) ([]string, bool) {
	s, ok := m[key].([]string)
	return s, ok
}

// Ints returns an array of any integer type as int64s.
func (m KV) Ints(key string) ([]int64, bool) {
	var out []int64
	switch v := m[key].(type) {
	case []int8:
		out = widen(v)
	case []uint8:
		out = widen(v)
	case []int16:
		out = widen(v)
	case []uint16:
		out = widen(v)
	case []int32:
		out = widen(v)
	case []uint32:
		out = widen(v)
	case []int64:
		out = v
	case []uint64:
		out = widen(v)
	default:
		return nil, false
	}
	return out, true
}

func widen[T int8 | uint8 | int16 | uint16 | int32 | uint32 | uint64](s []T) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	}
	return 0
}

// decoder reads little-endian GGUF fields through a buffer, remembering the
// first error and the offset it happened at. Counts are checked against the
// bytes left in the file before anything is allocated, so a corrupt count
// fails fast instead of exhausting memory.
type decoder struct {
	r    io.ReaderAt
	br   *bufio.Reader
	size int64
	name string
	off  int64
	err  error
	buf  [8]byte
}

func (d *decoder) fail(at int64, msg string) error {
	if d.err == nil {
		d.err = &FormatError{d.name, at, msg}
	}
	return d.err
}

func (d *decoder) read(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if d.br == nil {
		d.br = bufio.NewReaderSize(io.NewSectionReader(d.r, 0, d.size), 64<<10)
	}
	b := d.buf[:n]
	if m, err := io.ReadFull(d.br, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			d.fail(d.off+int64(m), fmt.Sprintf("file truncated reading %s (%d bytes)", what, n))
		} else {
			d.fail(d.off, fmt.Sprintf("read %s: %v", what, err))
		}
		return nil
	}
	d.off += int64(n)
	return b
}

func (d *decoder) u8() uint8 {
	if b := d.read(1, "uint8"); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.read(2, "uint16"); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.read(4, "uint32"); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.read(8, "uint64"); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// count reads a uint64 count of items taking at least minBytes each.
func (d *decoder) count(what string, minBytes int64) uint64 {
	at := d.off
	n := d.u64()
	if d.err == nil && n > uint64(d.size-d.off)/uint64(minBytes) {
		d.fail(at, fmt.Sprintf("%s %d cannot fit in the %d bytes left in the file", what, n, d.size-d.off))
		return 0
	}
	return n
}

func (d *decoder) str() string {
	at := d.off
	n := d.count("string length", 1)
	if d.err != nil {
		return ""
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.br, b); err != nil {
		d.fail(at, fmt.Sprintf("file truncated reading a string of %d bytes", n))
		return ""
	}
	d.off += int64(n)
	if !utf8.Valid(b) {
		d.fail(at, "string is not valid UTF-8")
		return ""
	}
	return string(b)
}

func (d *decoder) valueType() ValueType {
	at := d.off
	t := ValueType(d.u32())
	if d.err == nil && int(t) >= len(fixedSize) {
		d.fail(at, fmt.Sprintf("unknown metadata value type %d", t))
	}
	return t
}

func (d *decoder) value(t ValueType, depth int) any {
	if d.err != nil {
		return nil
	}
	switch t {
	case ValueUint8:
		return d.u8()
	case ValueInt8:
		return int8(d.u8())
	case ValueUint16:
		return d.u16()
	case ValueInt16:
		return int16(d.u16())
	case ValueUint32:
		return d.u32()
	case ValueInt32:
		return int32(d.u32())
	case ValueFloat32:
		return math.Float32frombits(d.u32())
	case ValueBool:
		at := d.off
		b := d.u8()
		if d.err == nil && b > 1 {
			d.fail(at, fmt.Sprintf("bool value %d is not 0 or 1", b))
		}
		return b == 1
	case ValueString:
		return d.str()
	case ValueUint64:
		return d.u64()
	case ValueInt64:
		return int64(d.u64())
	case ValueFloat64:
		return math.Float64frombits(d.u64())
	case ValueArray:
		return d.array(depth + 1)
	}
	d.fail(d.off, fmt.Sprintf("unknown metadata value type %d", t))
	return nil
}

func (d *decoder) array(depth int) any {
	at := d.off
	if depth > maxArrayDepth {
		d.fail(at, fmt.Sprintf("arrays nested deeper than %d", maxArrayDepth))
		return nil
	}
	et := d.valueType()
	if d.err != nil {
		return nil
	}
	n := int(d.count("array length", fixedSize[et]))
	switch et {
	case ValueUint8:
		return readArray(d, n, (*decoder).u8)
	case ValueInt8:
		return readArray(d, n, func(d *decoder) int8 { return int8(d.u8()) })
	case ValueUint16:
		return readArray(d, n, (*decoder).u16)
	case ValueInt16:
		return readArray(d, n, func(d *decoder) int16 { return int16(d.u16()) })
	case ValueUint32:
		return readArray(d, n, (*decoder).u32)
	case ValueInt32:
		return readArray(d, n, func(d *decoder) int32 { return int32(d.u32()) })
	case ValueFloat32:
		return readArray(d, n, func(d *decoder) float32 { return math.Float32frombits(d.u32()) })
	case ValueUint64:
		return readArray(d, n, (*decoder).u64)
	case ValueInt64:
		return readArray(d, n, func(d *decoder) int64 { return int64(d.u64()) })
	case ValueFloat64:
		return readArray(d, n, func(d *decoder) float64 { return math.Float64frombits(d.u64()) })
	case ValueString:
		return readArray(d, n, (*decoder).str)
	case ValueBool:
		return readArray(d, n, func(d *decoder) bool { return d.value(ValueBool, depth).(bool) })
	default: // ValueArray
		return readArray(d, n, func(d *decoder) any { return d.value(ValueArray, depth) })
	}
}

func readArray[T any](d *decoder, n int, next func(*decoder) T) []T {
	out := make([]T, 0, n)
	for range n {
		v := next(d)
		if d.err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

func (d *decoder) tensorInfo() TensorInfo {
	var t TensorInfo
	t.Name = d.str()
	at := d.off
	rank := d.u32()
	if d.err != nil {
		return t
	}
	if rank == 0 || rank > maxDims {
		d.fail(at, fmt.Sprintf("tensor %q: rank %d, want 1 to %d", t.Name, rank, maxDims))
		return t
	}
	n := uint64(1)
	for range rank {
		at := d.off
		dim := d.u64()
		if d.err != nil {
			return t
		}
		if dim == 0 || dim > math.MaxInt64/n {
			d.fail(at, fmt.Sprintf("tensor %q: dimension %d is zero or overflows", t.Name, dim))
			return t
		}
		n *= dim
		t.Dims = append(t.Dims, dim)
	}
	at = d.off
	t.Type = GGMLType(d.u32())
	if d.err == nil && !t.Type.Supported() {
		d.fail(at, fmt.Sprintf("tensor %q: ggml type %s is not supported (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q8_K)", t.Name, t.Type))
	}
	t.Offset = d.u64()
	return t
}
