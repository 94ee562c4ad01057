package predictors

import (
	"math"
	"testing"
)

// TestReLUKernels checks the branch-free kernels against the branching
// loops they replace, bit for bit, on values that include -0, NaN and ±Inf.
func TestReLUKernels(t *testing.T) {
	nz := math.Copysign(0, -1)
	z := []float64{-1.5, 2, nz, 0, math.NaN(), math.Inf(-1), 1e-300, -1e-300, 3, -0.25, math.Inf(1), nz}
	b := []float64{0, -2, nz, nz, 1, 5, 0, 0, -3, 0.25, -1, 0} // two rows of 6
	for _, relu := range []bool{false, true} {
		want := make([]float64, len(z))
		for i, v := range z {
			v += b[i%6]
			if relu && v < 0 {
				v = 0
			}
			want[i] = v
		}
		got := append([]float64(nil), z...)
		addBias(got, b[:6], relu)
		got32 := make([]float32, len(z))
		b32 := make([]float32, 6)
		for i, v := range z {
			got32[i] = float32(v)
		}
		for i := range b32 {
			b32[i] = float32(b[i])
		}
		addBias(got32, b32, relu)
		for i := range want {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Errorf("relu=%v: float64 [%d] = %v, want %v", relu, i, got[i], want[i])
			}
			if w := float32(want[i]); math.Float32bits(got32[i]) != math.Float32bits(w) {
				t.Errorf("relu=%v: float32 [%d] = %v, want %v", relu, i, got32[i], w)
			}
		}
	}
	// The gradient passes where the activation is positive (NaN blocks it).
	a := []float64{1, 0, nz, -2, math.NaN(), 1e-300}
	da := []float64{5, 6, 7, 8, 9, -10}
	want := []float64{5, 0, 0, 0, 9, -10}
	reluGrad(da, a)
	for i := range want {
		if math.Float64bits(da[i]) != math.Float64bits(want[i]) {
			t.Errorf("reluGrad [%d] = %v, want %v", i, da[i], want[i])
		}
	}
}

// TestSumSquaresEach checks the interleaved sums against one sequential
// loop per slice, bit for bit, over lengths with ties, an empty slice and
// more than four slices.
func TestSumSquaresEach(t *testing.T) {
	rng := newRNG(5)
	for i, lens := range [][]int{{30000, 1000000, 1000000, 1000000, 1000}, {7}, {0, 3, 3, 1000, 5, 999, 2, 6, 1}, {}} {
		xs := make([][]float64, len(lens))
		want := make([]float64, len(lens))
		for j, n := range lens {
			xs[j] = make([]float64, n)
			for k := range xs[j] {
				xs[j][k] = rng.NormFloat64() * 0.05
				want[j] += xs[j][k] * xs[j][k]
			}
		}
		got := make([]float64, len(lens))
		sumSquaresEach(got, xs)
		for j := range want {
			if math.Float64bits(got[j]) != math.Float64bits(want[j]) {
				t.Errorf("%d: slice %d (len %d): got %v, want %v", i, j, lens[j], got[j], want[j])
			}
		}
	}
}
