package modelstore

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
)

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
