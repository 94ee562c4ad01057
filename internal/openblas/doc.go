// Package openblas routes the GEMMs of gonum's blas32/blas64 to OpenBLAS's
// cblas_sgemm/cblas_dgemm when built with -tags openblas (cgo; Debian:
// apt-get install libopenblas-dev). Importing it registers the backend in
// init; without the tag it does nothing and gonum's pure-Go BLAS stays.
// OpenBLAS runs single-threaded: callers split their work across
// goroutines themselves.
package openblas
