package export

import (
	"math"
	"slices"
	"testing"

	"github.com/vulntune/vulntune/internal/modelstore"
)

// TestEncodeQ8_0 holds the encoder to ggml's reference on hand-checked
// blocks, decoded by modelstore's dequantizer.
func TestEncodeQ8_0(t *testing.T) {
	t.Parallel()
	ramp := make([]float32, 32)
	for i := range ramp {
		ramp[i] = float32(i-16) / 16 // -1 .. 0.9375: max|x| = 1, so d = 1/127
	}
	half := make([]float32, 32)
	half[0], half[1] = 1.27, 0.005 // 0.005/0.01 = 0.5 rounds away from zero to 1
	for _, tt := range []struct {
		name  string
		x     []float32
		wantQ []int8 // the first quants
	}{
		{"zeros", make([]float32, 32), []int8{0, 0, 0}},
		{"ramp", ramp, []int8{-127, -119, -111}},
		{"half away from zero", half, []int8{127, 1, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := encodeQ8_0(tt.x)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != 34 {
				t.Fatalf("%d bytes, want 34", len(b))
			}
			for i, q := range tt.wantQ {
				if got := int8(b[2+i]); got != q {
					t.Errorf("q[%d] = %d, want %d", i, got, q)
				}
			}
			y, err := modelstore.Dequantize(modelstore.TypeQ8_0, b, 32)
			if err != nil {
				t.Fatal(err)
			}
			var amax float64
			for _, v := range tt.x {
				amax = math.Max(amax, math.Abs(float64(v)))
			}
			for i := range y {
				if d := math.Abs(float64(y[i] - tt.x[i])); d > amax/127*0.51 {
					t.Errorf("x[%d] = %g came back as %g", i, tt.x[i], y[i])
				}
			}
		})
	}
	if _, err := encodeQ8_0(make([]float32, 33)); err == nil {
		t.Error("33 elements encoded as Q8_0; want an error")
	}
}

// TestPermuteRows checks convert_hf_to_gguf's permute on a worked case:
// one head of four rows [a0 a1 b0 b1] (two rotary halves) is stored
// interleaved [a0 b0 a1 b1]; with two heads each head is permuted alone.
func TestPermuteRows(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name             string
		rows, cols, head int
		want             []float32 // source rows 0..rows-1, cols values each
	}{
		{"one head", 4, 1, 1, []float32{0, 2, 1, 3}},
		{"two heads", 8, 1, 2, []float32{0, 2, 1, 3, 4, 6, 5, 7}},
		{"two columns", 4, 2, 1, []float32{0, 0.5, 2, 2.5, 1, 1.5, 3, 3.5}},
	} {
		w := make([]float32, tt.rows*tt.cols)
		for i := range w {
			w[i] = float32(i/tt.cols) + float32(i%tt.cols)/2
		}
		got, err := modelstore.PermuteRows(w, tt.rows, tt.cols, tt.head)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: permuteRows = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	if _, err := modelstore.PermuteRows(make([]float32, 6), 6, 1, 2); err == nil {
		t.Error("6 rows permuted for 2 heads of odd size; want an error")
	}
}

func TestTensorType(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		quant string
		shape []int64
		want  modelstore.GGMLType
	}{
		{QuantF16, []int64{576}, modelstore.TypeF32},
		{QuantF16, []int64{64, 576}, modelstore.TypeF16},
		{QuantQ8_0, []int64{64, 576}, modelstore.TypeQ8_0},
		{QuantQ8_0, []int64{64, 40}, modelstore.TypeF16}, // rows not whole blocks
		{QuantQ8_0, []int64{576}, modelstore.TypeF32},
	} {
		if got := tensorType(tt.quant, tt.shape); got != tt.want {
			t.Errorf("tensorType(%s, %v) = %s, want %s", tt.quant, tt.shape, got, tt.want)
		}
	}
}
