package modelstore

import (
	"strconv"
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
