//go:build !(openblas && cgo)

package train

// BLASBackend names the GEMM implementation compiled in: gonum's pure-Go
// BLAS by default, "openblas" with -tags openblas.
const BLASBackend = "gonum"
