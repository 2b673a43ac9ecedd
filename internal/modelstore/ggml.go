package modelstore

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/x448/float16"
)

// GGMLType is a tensor element encoding as numbered in ggml.h and
// gguf-py/gguf/constants.py (GGMLQuantizationType).
type GGMLType uint32

// The GGML types vulntune can dequantize. The numbering is ggml's; gaps are
// types ggml has dropped or that vulntune does not read (the IQ family).
const (
	TypeF32  GGMLType = 0
	TypeF16  GGMLType = 1
	TypeQ4_0 GGMLType = 2
	TypeQ4_1 GGMLType = 3
	TypeQ5_0 GGMLType = 6
	TypeQ5_1 GGMLType = 7
	TypeQ8_0 GGMLType = 8
	TypeQ2_K GGMLType = 10
	TypeQ3_K GGMLType = 11
	TypeQ4_K GGMLType = 12
	TypeQ5_K GGMLType = 13
	TypeQ6_K GGMLType = 14
	TypeQ8_K GGMLType = 15
	TypeBF16 GGMLType = 30
)

// typeInfo describes one block encoding: blockSize elements are stored in
// typeSize bytes (GGML_QUANT_SIZES in gguf-py), and dequant expands one block.
type typeInfo struct {
	name      string
	blockSize int
	typeSize  int
	dequant   func(dst []float32, src []byte)
}

const qk = 32 // elements per block of the legacy quants (QK4_0, QK8_0...)

// QuantBlock is the number of elements in a block of the legacy quant types
// (Q4_0, Q4_1, Q8_0...): a row of such a tensor is a multiple of it.
const QuantBlock = qk
const qkK = 256 // elements per super-block of the K-quants (QK_K)

var ggmlTypes = map[GGMLType]typeInfo{
	TypeF32:  {"F32", 1, 4, func(d []float32, s []byte) { d[0] = math.Float32frombits(binary.LittleEndian.Uint32(s)) }},
	TypeF16:  {"F16", 1, 2, func(d []float32, s []byte) { d[0] = f16(s) }},
	TypeBF16: {"BF16", 1, 2, func(d []float32, s []byte) { d[0] = bf16(s) }},
	TypeQ4_0: {"Q4_0", qk, 2 + qk/2, dequantQ4_0},
	TypeQ4_1: {"Q4_1", qk, 4 + qk/2, dequantQ4_1},
	TypeQ5_0: {"Q5_0", qk, 2 + 4 + qk/2, dequantQ5_0},
	TypeQ5_1: {"Q5_1", qk, 4 + 4 + qk/2, dequantQ5_1},
	TypeQ8_0: {"Q8_0", qk, 2 + qk, dequantQ8_0},
	TypeQ2_K: {"Q2_K", qkK, qkK/16 + qkK/4 + 2 + 2, dequantQ2K},
	TypeQ3_K: {"Q3_K", qkK, qkK/8 + qkK/4 + 12 + 2, dequantQ3K},
	TypeQ4_K: {"Q4_K", qkK, 2 + 2 + 12 + qkK/2, dequantQ4K},
	TypeQ5_K: {"Q5_K", qkK, 2 + 2 + 12 + qkK/8 + qkK/2, dequantQ5K},
	TypeQ6_K: {"Q6_K", qkK, qkK/2 + qkK/4 + qkK/16 + 2, dequantQ6K},
	TypeQ8_K: {"Q8_K", qkK, 4 + qkK + qkK/16*2, dequantQ8K},
}

// String returns ggml's name for the type, or "type(N)" for one vulntune
// does not know.
func (t GGMLType) String() string {
	if ti, ok := ggmlTypes[t]; ok {
		return ti.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Supported reports whether vulntune can dequantize tensors of this type.
func (t GGMLType) Supported() bool {
	_, ok := ggmlTypes[t]
	return ok
}

// rowBytes returns the bytes n elements of type t take, or an error when t
// is unknown or n is not a whole number of blocks.
func rowBytes(t GGMLType, n uint64) (uint64, error) {
	ti, ok := ggmlTypes[t]
	if !ok {
		return 0, fmt.Errorf("unsupported ggml type %s", t)
	}
	if n%uint64(ti.blockSize) != 0 {
		return 0, fmt.Errorf("%d elements is not a whole number of %s blocks of %d", n, ti.name, ti.blockSize)
	}
	return n / uint64(ti.blockSize) * uint64(ti.typeSize), nil
}

// Dequantize expands src, holding n elements of type t, into float32s.
func Dequantize(t GGMLType, src []byte, n int) ([]float32, error) {
	dst := make([]float32, n)
	if err := dequantizeInto(dst, t, src); err != nil {
		return nil, err
	}
	return dst, nil
}

func dequantizeInto(dst []float32, t GGMLType, src []byte) error {
	ti, ok := ggmlTypes[t]
	if !ok {
		return fmt.Errorf("unsupported ggml type %s", t)
	}
	want, err := rowBytes(t, uint64(len(dst)))
	if err != nil {
		return err
	}
	if uint64(len(src)) != want {
		return fmt.Errorf("%s data for %d elements: want %d bytes, have %d", ti.name, len(dst), want, len(src))
	}
	for i, o := 0, 0; i < len(dst); i, o = i+ti.blockSize, o+ti.typeSize {
		ti.dequant(dst[i:i+ti.blockSize], src[o:o+ti.typeSize])
	}
	return nil
}

func f16(b []byte) float32 {
	return float16.Frombits(binary.LittleEndian.Uint16(b)).Float32()
}

func bf16(b []byte) float32 {
	return math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16)
}

// Q4_0: d (f16), 16 bytes of nibbles; low nibbles are elements 0..15, high
// nibbles 16..31; value = (q - 8) * d.
func dequantQ4_0(y []float32, b []byte) {
	d := f16(b)
	qs := b[2:]
	for j := range qk / 2 {
		y[j] = float32(int(qs[j]&0x0F)-8) * d
		y[j+qk/2] = float32(int(qs[j]>>4)-8) * d
	}
}

// Q4_1: d, m (f16), 16 bytes of nibbles; value = q*d + m. The explicit
// float32 conversion of the product forbids a fused multiply-add, which Go
// may use on arm64, so results are the same bits on every platform (and as
// gguf-py's numpy reference).
func dequantQ4_1(y []float32, b []byte) {
	d, m := f16(b), f16(b[2:])
	qs := b[4:]
	for j := range qk / 2 {
		y[j] = float32(float32(qs[j]&0x0F)*d) + m
		y[j+qk/2] = float32(float32(qs[j]>>4)*d) + m
	}
}

// Q5_0: d (f16), qh (32 fifth bits), 16 bytes of nibbles; value = (q - 16) * d.
func dequantQ5_0(y []float32, b []byte) {
	d := f16(b)
	qh := binary.LittleEndian.Uint32(b[2:])
	qs := b[6:]
	for j := range qk / 2 {
		h0 := byte((qh>>uint(j))<<4) & 0x10
		h1 := byte(qh>>uint(j+12)) & 0x10
		y[j] = float32(int(qs[j]&0x0F|h0)-16) * d
		y[j+qk/2] = float32(int(qs[j]>>4|h1)-16) * d
	}
}

// Q5_1: d, m (f16), qh, 16 bytes of nibbles; value = q*d + m.
func dequantQ5_1(y []float32, b []byte) {
	d, m := f16(b), f16(b[2:])
	qh := binary.LittleEndian.Uint32(b[4:])
	qs := b[8:]
	for j := range qk / 2 {
		h0 := byte((qh>>uint(j))<<4) & 0x10
		h1 := byte(qh>>uint(j+12)) & 0x10
		y[j] = float32(float32(qs[j]&0x0F|h0)*d) + m
		y[j+qk/2] = float32(float32(qs[j]>>4|h1)*d) + m
	}
}

// Q8_0: d (f16), 32 int8; value = q * d.
func dequantQ8_0(y []float32, b []byte) {
	d := f16(b)
	for j := range qk {
		y[j] = float32(int8(b[2+j])) * d
	}
}
