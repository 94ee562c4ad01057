package predictors

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Sentinel errors. Fit wraps them with the model and the offending record.
var (
	// ErrNaN marks a NaN or infinite label or feature.
	ErrNaN = errors.New("predictors: NaN or Inf in input")
	// ErrSingular marks a numerically singular system (e.g. a kernel or
	// normal matrix that is not positive definite).
	ErrSingular = errors.New("predictors: singular matrix")
	// ErrTooFew marks a training set too small for the model.
	ErrTooFew = errors.New("predictors: too few training samples")
	// ErrUnknownModel marks a model name missing from the registry.
	ErrUnknownModel = errors.New("predictors: unknown model")
	// ErrDiverged marks training that produced non-finite parameters.
	ErrDiverged = errors.New("predictors: training diverged")
)

// predictBatch is the number of rows a model handles at a time when it
// predicts, so that large inputs (423,624 NB101 rows) never need a full
// activation or kernel matrix.
const predictBatch = 2048

// parallelMinRows is the smallest input that Predict splits across cores.
const parallelMinRows = 4096

// checkFit validates a training set: shapes panic, non-finite values return
// an error naming the record.
func checkFit(model string, X mat.Matrix, y []float64) (n, d int, err error) {
	n, d = X.Dims()
	if n != len(y) {
		panic(fmt.Sprintf("predictors: %s.Fit: X has %d rows, y has %d values", model, n, len(y)))
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return n, d, fmt.Errorf("predictors: %s.Fit: label %d = %v: %w", model, i, v, ErrNaN)
		}
	}
	raw := rawOf(X)
	for i := 0; i < n; i++ {
		for j, v := range raw.Data[i*raw.Stride : i*raw.Stride+d] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return n, d, fmt.Errorf("predictors: %s.Fit: feature (%d,%d) = %v: %w", model, i, j, v, ErrNaN)
			}
		}
	}
	return n, d, nil
}

// checkPredict panics unless dst has one slot per row of X and X has the
// fitted width.
func checkPredict(model string, dst []float64, X mat.Matrix, d int) int {
	if d < 0 {
		panic(fmt.Sprintf("predictors: %s.Predict called before a successful Fit", model))
	}
	n, c := X.Dims()
	if len(dst) != n {
		panic(fmt.Sprintf("predictors: %s.Predict: len(dst) = %d, X has %d rows", model, len(dst), n))
	}
	if c != d {
		panic(fmt.Sprintf("predictors: %s.Predict: X has %d columns, model was fitted on %d", model, c, d))
	}
	return n
}

// rawOf returns X's backing storage when X is a *mat.Dense (or another
// RawMatrixer), else a dense copy.
func rawOf(X mat.Matrix) blas64.General {
	if rm, ok := X.(mat.RawMatrixer); ok {
		return rm.RawMatrix()
	}
	return mat.DenseCopyOf(X).RawMatrix()
}

// subRows returns rows [lo, hi) of g as a view.
func subRows(g blas64.General, lo, hi int) blas64.General {
	if hi == lo {
		return blas64.General{Rows: 0, Cols: g.Cols, Stride: g.Stride}
	}
	return blas64.General{Rows: hi - lo, Cols: g.Cols, Stride: g.Stride, Data: g.Data[lo*g.Stride : (hi-1)*g.Stride+g.Cols]}
}

// workers returns how many goroutines to use for n rows.
func workers(n int) int {
	if n < parallelMinRows {
		return 1
	}
	return min(runtime.GOMAXPROCS(0), (n+parallelMinRows/2-1)/(parallelMinRows/2))
}

// parallelRows calls fn(w, lo, hi) over nw contiguous chunks of [0, n), chunk
// w on its own goroutine (w in [0, nw)).
func parallelRows(n, nw int, fn func(w, lo, hi int)) {
	if nw <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + nw - 1) / nw
	for w := 0; w < nw; w++ {
		lo, hi := w*chunk, min(n, (w+1)*chunk)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, lo, hi)
		}()
	}
	wg.Wait()
}

// meanStd returns the mean and population standard deviation of x.
func meanStd(x []float64) (mean, std float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}

// grow returns s resized to n, reusing its storage when it is large enough.
func grow(s []float64, n int) []float64 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float64, n)
}
