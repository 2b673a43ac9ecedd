package modelstore

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sort"
)

// GGUFTensor is a tensor to write with WriteGGUF: Data holds the encoded
// blocks of Type, and Dims is in GGUF order (fastest-varying first). When
// Data is nil, Encode produces it as the tensor is written, so a writer of
// a large model holds one tensor in memory at a time, not all of them.
type GGUFTensor struct {
	Name   string
	Dims   []uint64
	Type   GGMLType
	Data   []byte
	Encode func() ([]byte, error)
}

// WriteGGUF writes a version 3 GGUF file. Metadata keys are written in
// sorted order with general.architecture first; values may be any Go type
// ReadGGUF produces (scalars and slices of them). Tensor data is aligned to
// general.alignment (default 32). Tiny test models and `vulntune export`
// write through it.
func WriteGGUF(w io.Writer, kv KV, tensors []GGUFTensor) error {
	bw := bufio.NewWriter(w)
	e := &encoder{w: bw}
	e.u32(ggufMagic)
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kv)))
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == "general.architecture") != (keys[j] == "general.architecture") {
			return keys[i] == "general.architecture"
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		e.str(k)
		if err := e.value(kv[k], true); err != nil {
			return fmt.Errorf("write gguf key %s: %w", k, err)
		}
	}
	align := uint64(defaultAlignment)
	if a, ok := kv["general.alignment"].(uint32); ok && a > 0 {
		align = uint64(a)
	}
	off := uint64(0)
	sizes := make([]uint64, 0, len(tensors))
	for _, t := range tensors {
		n := uint64(1)
		for _, d := range t.Dims {
			n *= d
		}
		want, err := rowBytes(t.Type, n)
		if err != nil || t.Encode == nil && want != uint64(len(t.Data)) {
			return fmt.Errorf("write gguf tensor %s: %d bytes of data do not hold %d %s elements", t.Name, len(t.Data), n, t.Type)
		}
		sizes = append(sizes, want)
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(off)
		off = alignUp(off+want, align)
	}
	e.pad(align)
	for i, t := range tensors {
		data := t.Data
		if t.Encode != nil && e.err == nil {
			var err error
			if data, err = t.Encode(); err != nil {
				return fmt.Errorf("write gguf tensor %s: %w", t.Name, err)
			}
			if uint64(len(data)) != sizes[i] {
				return fmt.Errorf("write gguf tensor %s: encoded %d bytes, %v %s elements take %d", t.Name, len(data), t.Dims, t.Type, sizes[i])
			}
		}
		e.write(data)
		e.pad(align)
	}
	if e.err != nil {
		return fmt.Errorf("write gguf: %w", e.err)
	}
	return bw.Flush()
}

type encoder struct {
	w   io.Writer
	n   uint64
	err error
}

func (e *encoder) write(b []byte) {
	if e.err != nil {
		return
	}
	var n int
	n, e.err = e.w.Write(b)
	e.n += uint64(n)
}

func (e *encoder) u32(v uint32) { e.write(binary.LittleEndian.AppendUint32(nil, v)) }
func (e *encoder) u64(v uint64) { e.write(binary.LittleEndian.AppendUint64(nil, v)) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.write([]byte(s)) }
func (e *encoder) pad(align uint64) {
	e.write(make([]byte, alignUp(e.n, align)-e.n))
}

func (e *encoder) value(v any, tagged bool) error {
	tag := func(t ValueType) {
		if tagged {
			e.u32(uint32(t))
		}
	}
	switch x := v.(type) {
	case uint8:
		tag(ValueUint8)
		e.write([]byte{x})
	case int8:
		tag(ValueInt8)
		e.write([]byte{byte(x)})
	case uint16:
		tag(ValueUint16)
		e.write(binary.LittleEndian.AppendUint16(nil, x))
	case int16:
		tag(ValueInt16)
		e.write(binary.LittleEndian.AppendUint16(nil, uint16(x)))
	case uint32:
		tag(ValueUint32)
		e.u32(x)
	case int32:
		tag(ValueInt32)
		e.u32(uint32(x))
	case float32:
		tag(ValueFloat32)
		e.u32(math.Float32bits(x))
	case bool:
		tag(ValueBool)
		b := byte(0)
		if x {
			b = 1
		}
		e.write([]byte{b})
	case string:
		tag(ValueString)
		e.str(x)
	case uint64:
		tag(ValueUint64)
		e.u64(x)
	case int64:
		tag(ValueInt64)
		e.u64(uint64(x))
	case float64:
		tag(ValueFloat64)
		e.u64(math.Float64bits(x))
	case []uint8:
		return writeArray(e, tagged, ValueUint8, x)
	case []int8:
		return writeArray(e, tagged, ValueInt8, x)
	case []uint16:
		return writeArray(e, tagged, ValueUint16, x)
	case []int16:
		return writeArray(e, tagged, ValueInt16, x)
	case []uint32:
		return writeArray(e, tagged, ValueUint32, x)
	case []int32:
		return writeArray(e, tagged, ValueInt32, x)
	case []float32:
		return writeArray(e, tagged, ValueFloat32, x)
	case []bool:
		return writeArray(e, tagged, ValueBool, x)
	case []string:
		return writeArray(e, tagged, ValueString, x)
	case []uint64:
		return writeArray(e, tagged, ValueUint64, x)
	case []int64:
		return writeArray(e, tagged, ValueInt64, x)
	case []float64:
		return writeArray(e, tagged, ValueFloat64, x)
	default:
		return fmt.Errorf("value of type %T has no GGUF encoding", v)
	}
	return nil
}

func writeArray[T any](e *encoder, tagged bool, et ValueType, s []T) error {
	if tagged {
		e.u32(uint32(ValueArray))
	}
	e.u32(uint32(et))
	e.u64(uint64(len(s)))
	for _, v := range s {
		if err := e.value(v, false); err != nil {
			return err
		}
	}
	return nil
}
