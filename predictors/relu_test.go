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

// TestScaleSumSquares checks the interleaved sums against one sequential
// loop per slice, bit for bit, and the scaled copies, over lengths with
// ties, an empty slice and more than four slices.
func TestScaleSumSquares(t *testing.T) {
	rng := newRNG(5)
	const alpha = 1e-4 / 200
	for i, lens := range [][]int{{30000, 1000000, 1000000, 1000000, 1000}, {7}, {0, 3, 3, 1000, 5, 999, 2, 6, 1}, {}} {
		xs, dst := make([][]float64, len(lens)), make([][]float64, len(lens))
		want := make([]float64, len(lens))
		for j, n := range lens {
			xs[j], dst[j] = make([]float64, n), make([]float64, n)
			for k := range xs[j] {
				xs[j][k] = rng.NormFloat64() * 0.05
				want[j] += xs[j][k] * xs[j][k]
			}
		}
		got := make([]float64, len(lens))
		scaleSumSquares(dst, alpha, xs, got)
		for j := range want {
			if math.Float64bits(got[j]) != math.Float64bits(want[j]) {
				t.Errorf("%d: slice %d (len %d): got %v, want %v", i, j, lens[j], got[j], want[j])
			}
			for k, v := range xs[j] {
				if dst[j][k] != alpha*v {
					t.Fatalf("%d: slice %d [%d] = %v, want %v", i, j, k, dst[j][k], alpha*v)
				}
			}
		}
	}
}

// TestAdamStepAsm checks the float64 step (four lanes where the CPU has
// AVX) against the scalar loop, bit for bit, on a length that leaves a tail.
func TestAdamStepAsm(t *testing.T) {
	if !haveAdamAsm {
		t.Skip("no AVX assembly on this build")
	}
	rng := newRNG(6)
	const n = 1031
	p, g, m, v := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range p {
		p[i], g[i] = rng.NormFloat64(), rng.NormFloat64()*1e-2
		m[i], v[i] = rng.NormFloat64()*1e-3, rng.Float64()*1e-4
	}
	g[3] = 0 // v stays at its decayed value, sqrt near eps
	v[3] = 0
	wp, wm, wv := append([]float64(nil), p...), append([]float64(nil), m...), append([]float64(nil), v...)
	b1, b2, lr, eps := 0.9, 0.999, 1e-3*math.Sqrt(1-0.999*0.999)/(1-0.9*0.9), 1e-8
	for i := range wp {
		mi := b1*wm[i] + (1-b1)*g[i]
		vi := b2*wv[i] + (1-b2)*g[i]*g[i]
		wm[i], wv[i] = mi, vi
		wp[i] -= lr * mi / (math.Sqrt(vi) + eps)
	}
	adamStep(p, g, m, v, b1, b2, lr, eps)
	for i := range p {
		if math.Float64bits(p[i]) != math.Float64bits(wp[i]) || m[i] != wm[i] || v[i] != wv[i] {
			t.Fatalf("[%d]: p, m, v = %v, %v, %v, want %v, %v, %v", i, p[i], m[i], v[i], wp[i], wm[i], wv[i])
		}
	}
}
