package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// TestGemmBackend checks the compiled-in GEMM (gonum, or OpenBLAS with
// -tags openblas) against gonum's reference for every transpose case.
func TestGemmBackend(t *testing.T) {
	t.Logf("BLAS backend: %s", BLASBackend)
	rng := rand.New(rand.NewPCG(1, 1))
	m, n, k := 7, 5, 9
	for _, tc := range []struct {
		name   string
		tA, tB bool
	}{{"NN", false, false}, {"TN", true, false}, {"NT", false, true}, {"TT", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			a := make([]float64, m*k)
			b := make([]float64, k*n)
			c := make([]float64, m*n)
			for i := range a {
				a[i] = rng.NormFloat64()
			}
			for i := range b {
				b[i] = rng.NormFloat64()
			}
			for i := range c {
				c[i] = rng.NormFloat64()
			}
			lda, ldb := k, n
			ta, tb := blas.NoTrans, blas.NoTrans
			if tc.tA {
				lda, ta = m, blas.Trans
			}
			if tc.tB {
				ldb, tb = k, blas.Trans
			}
			want := append([]float64(nil), c...)
			gonum.Implementation{}.Dgemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, want, n)
			got := append([]float64(nil), c...)
			gemm(tc.tA, tc.tB, m, n, k, 0.5, a, lda, b, ldb, 2, got, n)
			got32 := make([]float32, len(c))
			a32, b32 := make([]float32, len(a)), make([]float32, len(b))
			for i := range a {
				a32[i] = float32(a[i])
			}
			for i := range b {
				b32[i] = float32(b[i])
			}
			for i := range c {
				got32[i] = float32(c[i])
			}
			gemm(tc.tA, tc.tB, m, n, k, 0.5, a32, lda, b32, ldb, 2, got32, n)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12 || math.Abs(float64(got32[i])-want[i]) > 1e-4 {
					t.Fatalf("c[%d] = %v (float32 %v), want %v", i, got[i], got32[i], want[i])
				}
			}
		})
	}
}
