package predictors

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	_ "github.com/nbquery/nbquery/internal/openblas" // OpenBLAS GEMM with -tags openblas
)

// blasGeneral is a row-major float64 matrix view.
type blasGeneral = blas64.General

// gemmSplitFlops is the smallest m*n*k that gemm splits across goroutines.
const gemmSplitFlops = 1 << 21

// gemm computes C = alpha*op(A)*op(B) + beta*C (row-major, as BLAS's
// ?gemm) through the registered blas32/blas64 implementation. For large
// products it splits C's columns into par blocks, each computed by its own
// goroutine: OpenBLAS is linked single-threaded (the trainer's kernels
// already split work), and the split keeps both cores busy for one product.
func gemm[F float32 | float64](tA, tB bool, m, n, k int, alpha F, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int, par int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	call := func(j0, j1 int) {
		bo := j0 // first column of op(B): a column offset of B, or a row of B^T
		if tB {
			bo = j0 * ldb
		}
		switch a := any(a).(type) {
		case []float64:
			blas64.Implementation().Dgemm(ta, tb, m, j1-j0, k, float64(alpha), a, lda,
				any(b).([]float64)[bo:], ldb, float64(beta), any(c).([]float64)[j0:], ldc)
		case []float32:
			blas32.Implementation().Sgemm(ta, tb, m, j1-j0, k, float32(alpha), a, lda,
				any(b).([]float32)[bo:], ldb, float32(beta), any(c).([]float32)[j0:], ldc)
		}
	}
	if par <= 1 || m*n*k < gemmSplitFlops || n < 2*64 {
		call(0, n)
		return
	}
	par = min(par, n/64)
	chunk := (n + par - 1) / par
	chunk = (chunk + 15) &^ 15 // keep blocks aligned for the kernels
	var wg sync.WaitGroup
	for j0 := chunk; j0 < n; j0 += chunk {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(j0, min(n, j0+chunk))
		}()
	}
	call(0, min(n, chunk))
	wg.Wait()
}
