//go:build !(openblas && cgo)

package openblas

// Backend names the GEMM implementation compiled in: gonum's pure-Go BLAS
// by default, "openblas" with -tags openblas.
const Backend = "gonum"
