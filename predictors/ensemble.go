package predictors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// Ensemble fits several independently seeded members made by one Factory and
// reports their mean and population std (ddof 0, as numpy's np.std in
// naszilla's acquisition functions). Not safe for concurrent use.
type Ensemble struct {
	Members []Predictor
	buf     []float64
	d       int
}

// NewEnsemble makes size members from f, member i seeded from rng by two
// draws (so the same rng state gives the same members). It panics if size < 1.
func NewEnsemble(f Factory, size int, rng *rand.Rand) *Ensemble {
	if size < 1 {
		panic(fmt.Sprintf("predictors: NewEnsemble: size %d", size))
	}
	e := &Ensemble{d: -1}
	for i := 0; i < size; i++ {
		e.Members = append(e.Members, f(rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))))
	}
	return e
}

// Fit fits every member on (X, y), each from scratch. Members are fitted
// concurrently, up to GOMAXPROCS at a time; each draws only from its own rng,
// so the result does not depend on scheduling. On failure it returns the
// error of the lowest-numbered failing member.
func (e *Ensemble) Fit(X mat.Matrix, y []float64) error {
	e.d = -1
	if n, _ := X.Dims(); n != len(y) { // panic here, not in a member's goroutine
		panic(fmt.Sprintf("predictors: Ensemble.Fit: X has %d rows, y has %d values", n, len(y)))
	}
	if _, ok := X.(mat.RawMatrixer); !ok {
		X = mat.DenseCopyOf(X) // members read X concurrently
	}
	errs := make([]error, len(e.Members))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, m := range e.Members {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = m.Fit(X, y)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("predictors: Ensemble.Fit: member %d: %w", i, err)
		}
	}
	_, e.d = X.Dims()
	return nil
}

// Predict writes the members' mean prediction into dst and returns dst.
func (e *Ensemble) Predict(dst []float64, X mat.Matrix) []float64 {
	n := checkPredict("Ensemble", dst, X, e.d)
	e.buf = grow(e.buf, n)
	clear(dst)
	for _, m := range e.Members {
		m.Predict(e.buf, X)
		for i, v := range e.buf {
			dst[i] += v
		}
	}
	inv := 1 / float64(len(e.Members))
	for i := range dst {
		dst[i] *= inv
	}
	return dst
}

// PredictStd writes the members' mean and population std for each row.
func (e *Ensemble) PredictStd(mean, std []float64, X mat.Matrix) {
	n := checkPredict("Ensemble", mean, X, e.d)
	if len(std) != n {
		panic(fmt.Sprintf("predictors: Ensemble.PredictStd: len(std) = %d, X has %d rows", len(std), n))
	}
	e.buf = grow(e.buf, n)
	clear(mean)
	clear(std)
	k := float64(len(e.Members))
	// Welford's update keeps the variance accurate when members agree closely.
	for j, m := range e.Members {
		m.Predict(e.buf, X)
		for i, v := range e.buf {
			d := v - mean[i]
			mean[i] += d / float64(j+1)
			std[i] += d * (v - mean[i])
		}
	}
	for i := range std {
		std[i] = math.Sqrt(std[i] / k)
	}
}

// Acquisition functions for maximisation. Each writes one score per row into
// dst and returns dst; they panic unless dst, mean and std have equal length.
// Where std is 0 the scores take their limits.

func checkAcq(name string, dst, mean, std []float64) {
	if len(dst) != len(mean) || len(std) != len(mean) {
		panic(fmt.Sprintf("predictors: %s: len(dst) = %d, len(mean) = %d, len(std) = %d", name, len(dst), len(mean), len(std)))
	}
}

func normPDF(z float64) float64 { return math.Exp(-0.5*z*z) / math.Sqrt(2*math.Pi) }
func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// EI writes the expected improvement over best,
// (mu-best)Phi(z) + sigma phi(z) with z = (mu-best)/sigma.
func EI(dst, mean, std []float64, best float64) []float64 {
	checkAcq("EI", dst, mean, std)
	for i, mu := range mean {
		s := std[i]
		imp := mu - best
		if s <= 0 {
			dst[i] = math.Max(imp, 0)
			continue
		}
		z := imp / s
		dst[i] = imp*normCDF(z) + s*normPDF(z)
	}
	return dst
}

// PI writes the probability of improving on best, Phi((mu-best)/sigma).
func PI(dst, mean, std []float64, best float64) []float64 {
	checkAcq("PI", dst, mean, std)
	for i, mu := range mean {
		s := std[i]
		switch {
		case s > 0:
			dst[i] = normCDF((mu - best) / s)
		case mu > best:
			dst[i] = 1
		default:
			dst[i] = 0
		}
	}
	return dst
}

// UCB writes the upper confidence bound mu + kappa*sigma.
func UCB(dst, mean, std []float64, kappa float64) []float64 {
	checkAcq("UCB", dst, mean, std)
	for i, mu := range mean {
		dst[i] = mu + kappa*std[i]
	}
	return dst
}
