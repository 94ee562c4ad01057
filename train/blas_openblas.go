//go:build openblas && cgo

package train

// OpenBLAS backend: with -tags openblas, internal/openblas routes the
// blas32/blas64 GEMMs used by every kernel in this package to OpenBLAS's
// cblas_sgemm/dgemm (Debian: apt-get install libopenblas-dev), single-
// threaded because the kernels already split work across goroutines; here
// gorgonia's own BLAS (stock Conv2d, Mul) is switched as well.

import (
	G "gorgonia.org/gorgonia"

	"github.com/nbquery/nbquery/internal/openblas"
)

// BLASBackend names the GEMM implementation compiled in.
const BLASBackend = openblas.Backend

func init() {
	G.Use(openblas.Impl{}) // gorgonia's stock ops (Conv2d, Mul) too
}
