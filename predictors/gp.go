package predictors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// GPConfig configures a Gaussian process regressor with the RBF kernel
// k(x, x') = exp(-|x - x'|^2 / (2 l^2)) on standardised labels, plus noise
// variance s2 on the diagonal. A zero LengthScale or Noise is chosen by
// ML-II: the pair maximising the log marginal likelihood over a grid (length
// scales {0.25, 0.5, 1, 2, 4} x the median pairwise distance, noise
// {1e-3, 1e-2, 1e-1, 0.3}), evaluated on at most MLSubset random training
// points to keep Fit fast.
type GPConfig struct {
	LengthScale float64
	Noise       float64 // noise variance relative to the (unit) signal variance
	MLSubset    int     // 0: 300
}

// GP is an exact Gaussian process regressor (Cholesky via gonum). Not safe
// for concurrent use.
type GP struct {
	cfg GPConfig
	rng *rand.Rand

	LengthScale, Noise float64 // hyperparameters in use after Fit

	x           mat.Dense // training inputs
	sq          []float64 // |x_i|^2
	alpha       []float64 // K^-1 y (standardised)
	chol        mat.Cholesky
	l           mat.TriDense
	yMean, yStd float64
	d           int
	kbuf, vbuf  []float64
}

// NewGP returns an untrained GP; rng picks the ML-II subset.
func NewGP(cfg GPConfig, rng *rand.Rand) *GP {
	if rng == nil {
		panic("predictors: NewGP: nil rng")
	}
	if cfg.MLSubset <= 0 {
		cfg.MLSubset = 300
	}
	return &GP{cfg: cfg, rng: rng, d: -1}
}

// kernelInto writes the RBF kernel between rows of a (m x d) and b (n x d)
// into dst (m x n), given their squared norms.
func kernelInto(dst, a, b blas64.General, sa, sb []float64, ls float64) {
	blas64.Gemm(blas.NoTrans, blas.Trans, -2, a, b, 0, dst)
	g := -1 / (2 * ls * ls)
	for i := 0; i < dst.Rows; i++ {
		row := dst.Data[i*dst.Stride : i*dst.Stride+dst.Cols]
		for j := range row {
			d2 := math.Max(0, row[j]+sa[i]+sb[j])
			row[j] = math.Exp(g * d2)
		}
	}
}

func sqNorms(dst []float64, a blas64.General) []float64 {
	dst = grow(dst, a.Rows)
	for i := range dst {
		var s float64
		for _, v := range a.Data[i*a.Stride : i*a.Stride+a.Cols] {
			s += v * v
		}
		dst[i] = s
	}
	return dst
}

// factor builds K + s2 I for the rows of x and its Cholesky factor.
func factor(ch *mat.Cholesky, x blas64.General, sq []float64, ls, s2 float64) bool {
	n := x.Rows
	k := make([]float64, n*n)
	kernelInto(blas64.General{Rows: n, Cols: n, Stride: n, Data: k}, x, x, sq, sq, ls)
	for i := 0; i < n; i++ {
		k[i*n+i] += s2
	}
	return ch.Factorize(mat.NewSymDense(n, k))
}

// logML returns the log marginal likelihood of standardised labels y.
func logML(ch *mat.Cholesky, y []float64) float64 {
	n := len(y)
	a := mat.NewVecDense(n, nil)
	if err := ch.SolveVecTo(a, mat.NewVecDense(n, y)); err != nil {
		return math.Inf(-1)
	}
	return -0.5*mat.Dot(a, mat.NewVecDense(n, y)) - 0.5*ch.LogDet() - 0.5*float64(n)*math.Log(2*math.Pi)
}

// Fit conditions the GP on (X, y). It returns an error wrapping ErrSingular
// if the kernel matrix is not positive definite.
func (gp *GP) Fit(X mat.Matrix, y []float64) error {
	n, d, err := checkFit("GP", X, y)
	if err != nil {
		return err
	}
	if n < 2 {
		return fmt.Errorf("predictors: GP.Fit: %d samples: %w", n, ErrTooFew)
	}
	gp.d = -1
	gp.x.Reset()
	gp.x.ReuseAs(n, d)
	gp.x.Copy(X)
	xr := gp.x.RawMatrix()
	gp.sq = sqNorms(gp.sq, xr)
	gp.yMean, gp.yStd = meanStd(y)
	if gp.yStd == 0 {
		gp.yStd = 1
	}
	ys := make([]float64, n)
	for i, v := range y {
		ys[i] = (v - gp.yMean) / gp.yStd
	}
	ls, s2 := gp.cfg.LengthScale, gp.cfg.Noise
	if ls <= 0 || s2 <= 0 {
		// ML-II on a random subset.
		m := min(n, gp.cfg.MLSubset)
		idx := gp.rng.Perm(n)[:m]
		slices.Sort(idx)
		sub := mat.NewDense(m, d, nil)
		ysub := make([]float64, m)
		for r, i := range idx {
			sub.SetRow(r, xr.Data[i*xr.Stride:i*xr.Stride+d])
			ysub[r] = ys[i]
		}
		sr := sub.RawMatrix()
		ssq := sqNorms(nil, sr)
		med := medianDist(sr, ssq)
		lss := []float64{ls}
		if ls <= 0 {
			lss = []float64{0.25 * med, 0.5 * med, med, 2 * med, 4 * med}
		}
		s2s := []float64{s2}
		if s2 <= 0 {
			s2s = []float64{1e-3, 1e-2, 1e-1, 0.3}
		}
		best := math.Inf(-1)
		var ch mat.Cholesky
		for _, l := range lss {
			for _, s := range s2s {
				if !factor(&ch, sr, ssq, l, s) {
					continue
				}
				if v := logML(&ch, ysub); v > best {
					best, ls, s2 = v, l, s
				}
			}
		}
		if math.IsInf(best, -1) {
			return fmt.Errorf("predictors: GP.Fit: no hyperparameters give a positive definite kernel on %d points: %w", m, ErrSingular)
		}
	}
	if !factor(&gp.chol, xr, gp.sq, ls, s2) {
		return fmt.Errorf("predictors: GP.Fit: kernel matrix (%d points, length scale %g, noise %g): %w", n, ls, s2, ErrSingular)
	}
	gp.LengthScale, gp.Noise = ls, s2
	gp.alpha = grow(gp.alpha, n)
	if err := gp.chol.SolveVecTo(mat.NewVecDense(n, gp.alpha), mat.NewVecDense(n, ys)); err != nil {
		return fmt.Errorf("predictors: GP.Fit: %v: %w", err, ErrSingular)
	}
	gp.l.Reset()
	gp.chol.LTo(&gp.l)
	gp.d = d
	return nil
}

// medianDist returns the median pairwise Euclidean distance between rows
// (1 if all rows coincide).
func medianDist(a blas64.General, sq []float64) float64 {
	n := a.Rows
	var ds []float64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			var dot float64
			for k := 0; k < a.Cols; k++ {
				dot += a.Data[i*a.Stride+k] * a.Data[j*a.Stride+k]
			}
			ds = append(ds, math.Sqrt(math.Max(0, sq[i]+sq[j]-2*dot)))
		}
	}
	if len(ds) == 0 {
		return 1
	}
	slices.Sort(ds)
	if m := ds[len(ds)/2]; m > 0 {
		return m
	}
	return 1
}

// Predict writes the posterior mean for X into dst and returns dst.
func (gp *GP) Predict(dst []float64, X mat.Matrix) []float64 {
	gp.predict(dst, nil, X)
	return dst
}

// PredictStd writes the posterior mean and the std of the latent function
// (without the noise term) for X.
func (gp *GP) PredictStd(mean, std []float64, X mat.Matrix) {
	n, _ := X.Dims()
	if len(std) != n {
		panic(fmt.Sprintf("predictors: GP.PredictStd: len(std) = %d, X has %d rows", len(std), n))
	}
	gp.predict(mean, std, X)
}

func (gp *GP) predict(mean, std []float64, X mat.Matrix) {
	n := checkPredict("GP", mean, X, gp.d)
	raw := rawOf(X)
	xr := gp.x.RawMatrix()
	nt := xr.Rows
	const batch = 512
	gp.kbuf = grow(gp.kbuf, batch*nt)
	sq := make([]float64, batch)
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		b := subRows(raw, lo, hi)
		b.Cols = gp.d
		sq = sqNorms(sq, b)
		k := blas64.General{Rows: hi - lo, Cols: nt, Stride: nt, Data: gp.kbuf[:(hi-lo)*nt]}
		kernelInto(k, b, xr, sq, gp.sq, gp.LengthScale)
		for r := 0; r < hi-lo; r++ {
			var s float64
			for j, v := range k.Data[r*nt : (r+1)*nt] {
				s += v * gp.alpha[j]
			}
			mean[lo+r] = s*gp.yStd + gp.yMean
		}
		if std == nil {
			continue
		}
		// v = L^-1 k*' for the batch: solve K* L^-T, rows = test points.
		blas64.Trsm(blas.Right, blas.Trans, 1, gp.l.RawTriangular(), k)
		for r := 0; r < hi-lo; r++ {
			var s float64
			for _, v := range k.Data[r*nt : (r+1)*nt] {
				s += v * v
			}
			std[lo+r] = math.Sqrt(math.Max(0, 1-s)) * gp.yStd
		}
	}
}
