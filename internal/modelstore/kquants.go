package modelstore

import (
	"encoding/binary"
	"math"
)

// The K-quants pack 256 elements in a super-block with per-sub-block scales.
// Layouts and loops follow dequantize_row_q*_K in ggml-quants.c; every
// product is rounded to float32 before the subtraction (see dequantQ4_1).

// scaleMinK4 unpacks the j-th 6-bit scale and min of Q4_K/Q5_K (get_scale_min_k4).
func scaleMinK4(j int, q []byte) (sc, m byte) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0x0F | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// Q2_K: scales[16] (4-bit scale, 4-bit min), qs[64] (2-bit), d, dmin (f16).
func dequantQ2K(y []float32, b []byte) {
	scales, qs := b[:16], b[16:80]
	d, dmin := f16(b[80:]), f16(b[82:])
	is, o := 0, 0
	for n := 0; n < qkK; n += 128 {
		q := qs[n/4:]
		for shift := uint(0); shift < 8; shift += 2 {
			for half := range 2 {
				sc := scales[is]
				is++
				dl, ml := d*float32(sc&0x0F), dmin*float32(sc>>4)
				for l := range 16 {
					y[o] = float32(dl*float32((q[l+16*half]>>shift)&3)) - ml
					o++
				}
			}
		}
	}
}

// Q3_K: hmask[32] (high bit), qs[64] (low 2 bits), scales[12] (16 6-bit
// scales), d (f16); value = d * (scale-32) * (q - 4 if high bit clear).
func dequantQ3K(y []float32, b []byte) {
	hm, qs := b[:32], b[32:96]
	d := f16(b[108:])
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	var aux [4]uint32
	for i := range 3 {
		aux[i] = binary.LittleEndian.Uint32(b[96+4*i:])
	}
	tmp := aux[2]
	aux[2] = (aux[0]>>4)&kmask2 | ((tmp>>4)&kmask1)<<4
	aux[3] = (aux[1]>>4)&kmask2 | ((tmp>>6)&kmask1)<<4
	aux[0] = aux[0]&kmask2 | (tmp&kmask1)<<4
	aux[1] = aux[1]&kmask2 | ((tmp>>2)&kmask1)<<4
	var scales [16]int8
	for i := range 16 {
		scales[i] = int8(aux[i/4] >> (8 * (i % 4)))
	}
	is, o := 0, 0
	m := byte(1)
	for n := 0; n < qkK; n += 128 {
		q := qs[n/4:]
		for shift := uint(0); shift < 8; shift += 2 {
			for half := range 2 {
				dl := d * float32(int(scales[is])-32)
				is++
				for l := range 16 {
					v := int((q[l+16*half] >> shift) & 3)
					if hm[l+16*half]&m == 0 {
						v -= 4
					}
					y[o] = dl * float32(v)
					o++
				}
			}
			m <<= 1
		}
	}
}

// Q4_K: d, dmin (f16), scales[12] (8 6-bit scale/min pairs), qs[128].
func dequantQ4K(y []float32, b []byte) {
	d, dmin := f16(b), f16(b[2:])
	scales, q := b[4:16], b[16:]
	is := 0
	for j := 0; j < qkK; j += 64 {
		sc1, m1 := scaleMinK4(is, scales)
		sc2, m2 := scaleMinK4(is+1, scales)
		d1, min1 := d*float32(sc1), dmin*float32(m1)
		d2, min2 := d*float32(sc2), dmin*float32(m2)
		for l := range 32 {
			y[j+l] = float32(d1*float32(q[l]&0x0F)) - min1
			y[j+32+l] = float32(d2*float32(q[l]>>4)) - min2
		}
		q = q[32:]
		is += 2
	}
}

// Q5_K: d, dmin (f16), scales[12], qh[32] (fifth bits), qs[128].
func dequantQ5K(y []float32, b []byte) {
	d, dmin := f16(b), f16(b[2:])
	scales, qh, ql := b[4:16], b[16:48], b[48:]
	is := 0
	u1, u2 := byte(1), byte(2)
	for j := 0; j < qkK; j += 64 {
		sc1, m1 := scaleMinK4(is, scales)
		sc2, m2 := scaleMinK4(is+1, scales)
		d1, min1 := d*float32(sc1), dmin*float32(m1)
		d2, min2 := d*float32(sc2), dmin*float32(m2)
		for l := range 32 {
			lo, hi := ql[l]&0x0F, ql[l]>>4
			if qh[l]&u1 != 0 {
				lo += 16
			}
			if qh[l]&u2 != 0 {
				hi += 16
			}
			y[j+l] = float32(d1*float32(lo)) - min1
			y[j+32+l] = float32(d2*float32(hi)) - min2
		}
		ql = ql[32:]
		is += 2
		u1 <<= 2
		u2 <<= 2
	}
}

// Q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (int8), d (f16).
func dequantQ6K(y []float32, b []byte) {
	ql, qh, sc := b[:128], b[128:192], b[192:208]
	d := f16(b[208:])
	for n := 0; n < qkK; n += 128 {
		for l := range 32 {
			is := l / 16
			q1 := int(ql[l]&0x0F|(qh[l]&3)<<4) - 32
			q2 := int(ql[l+32]&0x0F|((qh[l]>>2)&3)<<4) - 32
			q3 := int(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
			q4 := int(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
			y[n+l] = d * float32(int8(sc[is])) * float32(q1)
			y[n+l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			y[n+l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			y[n+l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
		ql, qh, sc = ql[64:], qh[32:], sc[8:]
	}
}

// Q8_K: d (f32), qs[256] (int8), bsums[16] (int16, only used by dot products).
func dequantQ8K(y []float32, b []byte) {
	d := math.Float32frombits(binary.LittleEndian.Uint32(b))
	for i := range qkK {
		y[i] = d * float32(int8(b[4+i]))
	}
}
