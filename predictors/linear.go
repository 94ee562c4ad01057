package predictors

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// centered fills xc (n x d) with X minus its column means and returns the
// means.
func centered(xc *mat.Dense, raw blas64.General, n, d int, mu []float64) []float64 {
	mu = grow(mu, d)
	clear(mu)
	for i := 0; i < n; i++ {
		for j, v := range raw.Data[i*raw.Stride : i*raw.Stride+d] {
			mu[j] += v
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	xr := xc.RawMatrix()
	for i := 0; i < n; i++ {
		src := raw.Data[i*raw.Stride : i*raw.Stride+d]
		dst := xr.Data[i*xr.Stride : i*xr.Stride+d]
		for j, v := range src {
			dst[j] = v - mu[j]
		}
	}
	return mu
}

// linearPredict writes b + X w into dst.
func linearPredict(dst []float64, X mat.Matrix, w []float64, b float64, d int) {
	raw := rawOf(X)
	n := len(dst)
	for i := 0; i < n; i++ {
		s := b
		for j, v := range raw.Data[i*raw.Stride : i*raw.Stride+d] {
			s += v * w[j]
		}
		dst[i] = s
	}
}

// Ridge is L2-regularised least squares with an unpenalised intercept,
// solved through the Cholesky factor of X'X + Alpha*I on centred data.
type Ridge struct {
	Alpha float64 // L2 penalty; 0 is ordinary least squares

	w    []float64
	b    float64
	d    int
	mu   []float64
	xc   mat.Dense
	gram mat.SymDense
	chol mat.Cholesky
}

// NewRidge returns an untrained ridge regressor.
func NewRidge(alpha float64) *Ridge {
	if alpha < 0 || math.IsNaN(alpha) {
		panic(fmt.Sprintf("predictors: NewRidge: alpha = %v", alpha))
	}
	return &Ridge{Alpha: alpha, d: -1}
}

// Fit solves the ridge problem on (X, y). It returns an error wrapping
// ErrSingular when X'X + Alpha*I is not numerically positive definite.
func (r *Ridge) Fit(X mat.Matrix, y []float64) error {
	n, d, err := checkFit("Ridge", X, y)
	if err != nil {
		return err
	}
	if n < 1 {
		return fmt.Errorf("predictors: Ridge.Fit: %d samples: %w", n, ErrTooFew)
	}
	r.d = -1
	r.xc.Reset()
	r.xc.ReuseAs(n, d)
	r.mu = centered(&r.xc, rawOf(X), n, d, r.mu)
	ym, _ := meanStd(y)
	r.gram.Reset()
	r.gram.ReuseAsSym(d)
	r.gram.SymOuterK(1, r.xc.T())
	for j := 0; j < d; j++ {
		r.gram.SetSym(j, j, r.gram.At(j, j)+r.Alpha)
	}
	if ok := r.chol.Factorize(&r.gram); !ok {
		return fmt.Errorf("predictors: Ridge.Fit: X'X + %g I (%dx%d): %w", r.Alpha, d, d, ErrSingular)
	}
	if c := r.chol.Cond(); c > 1e14 {
		return fmt.Errorf("predictors: Ridge.Fit: condition number %.3g: %w", c, ErrSingular)
	}
	r.w = grow(r.w, d)
	rhs := mat.NewVecDense(d, nil)
	yc := make([]float64, n)
	for i, v := range y {
		yc[i] = v - ym
	}
	rhs.MulVec(r.xc.T(), mat.NewVecDense(n, yc))
	wv := mat.NewVecDense(d, r.w)
	if err := r.chol.SolveVecTo(wv, rhs); err != nil {
		return fmt.Errorf("predictors: Ridge.Fit: %v: %w", err, ErrSingular)
	}
	r.b = ym - mat.Dot(wv, mat.NewVecDense(d, r.mu))
	r.d = d
	return nil
}

// Coef returns the fitted weights (a view, valid until the next Fit) and the
// intercept.
func (r *Ridge) Coef() ([]float64, float64) { return r.w, r.b }

// Predict writes the predictions for X into dst and returns dst.
func (r *Ridge) Predict(dst []float64, X mat.Matrix) []float64 {
	checkPredict("Ridge", dst, X, r.d)
	linearPredict(dst, X, r.w, r.b, r.d)
	return dst
}

// BayesLinear is Bayesian linear regression with Gaussian prior precision
// Lambda on the weights and noise precision Alpha, both set by evidence
// maximisation (MacKay's fixed-point updates, as sklearn's BayesianRidge) on
// the eigendecomposition of the centred X'X. The intercept is the label mean
// (not penalised). PredictStd gives the predictive std
// sqrt(1/Alpha + x' S x), S the posterior covariance.
type BayesLinear struct {
	MaxIter int     // evidence iterations (300)
	Tol     float64 // stop when the weights move less than Tol (1e-3, L1)

	Alpha, Lambda float64 // fitted precisions

	w      []float64
	b      float64
	d      int
	mu     []float64
	evals  []float64
	evecs  mat.Dense // V: columns are eigenvectors of X'X
	scaleV []float64 // 1/(Lambda + Alpha*e_i)
	xc     mat.Dense
	gram   mat.SymDense
	eig    mat.EigenSym
	proj   []float64
}

// NewBayesLinear returns an untrained Bayesian linear regressor.
func NewBayesLinear() *BayesLinear { return &BayesLinear{MaxIter: 300, Tol: 1e-3, d: -1} }

// Fit computes the posterior on (X, y).
func (m *BayesLinear) Fit(X mat.Matrix, y []float64) error {
	n, d, err := checkFit("BayesLinear", X, y)
	if err != nil {
		return err
	}
	if n < 2 {
		return fmt.Errorf("predictors: BayesLinear.Fit: %d samples: %w", n, ErrTooFew)
	}
	m.d = -1
	m.xc.Reset()
	m.xc.ReuseAs(n, d)
	m.mu = centered(&m.xc, rawOf(X), n, d, m.mu)
	ym, ys := meanStd(y)
	yc := make([]float64, n)
	for i, v := range y {
		yc[i] = v - ym
	}
	m.gram.Reset()
	m.gram.ReuseAsSym(d)
	m.gram.SymOuterK(1, m.xc.T())
	if ok := m.eig.Factorize(&m.gram, true); !ok {
		return fmt.Errorf("predictors: BayesLinear.Fit: eigendecomposition of X'X (%dx%d) failed: %w", d, d, ErrSingular)
	}
	m.evals = m.eig.Values(m.evals)
	for i, e := range m.evals {
		m.evals[i] = math.Max(e, 0)
	}
	m.eig.VectorsTo(&m.evecs)
	// Project X'y onto the eigenvectors: z = V' X' y.
	xty := mat.NewVecDense(d, nil)
	xty.MulVec(m.xc.T(), mat.NewVecDense(n, yc))
	z := mat.NewVecDense(d, nil)
	z.MulVec(m.evecs.T(), xty)
	var yy float64
	for _, v := range yc {
		yy += v * v
	}
	varY := ys * ys
	if varY == 0 {
		varY = 1
	}
	alpha, lambda := 1/varY, 1.0
	m.w = grow(m.w, d)
	wz := make([]float64, d) // weights in the eigenbasis
	prev := make([]float64, d)
	m.scaleV = grow(m.scaleV, d)
	for it := 0; it < max(1, m.MaxIter); it++ {
		var gamma, w2 float64
		for i, e := range m.evals {
			s := 1 / (lambda + alpha*e)
			wz[i] = alpha * s * z.AtVec(i)
			w2 += wz[i] * wz[i]
			gamma += alpha * e * s
		}
		// Residual |y - Xw|^2 = y'y - 2 w'X'y + w'X'Xw, in the eigenbasis.
		var rss float64 = yy
		for i, e := range m.evals {
			rss += -2*wz[i]*z.AtVec(i) + e*wz[i]*wz[i]
		}
		rss = math.Max(rss, 1e-12*yy+1e-300)
		if w2 <= 0 {
			w2 = 1e-300
		}
		lambda = gamma / w2
		alpha = (float64(n) - gamma) / rss
		if math.IsNaN(alpha) || math.IsNaN(lambda) || alpha <= 0 || math.IsInf(alpha, 0) || math.IsInf(lambda, 0) {
			return fmt.Errorf("predictors: BayesLinear.Fit: iteration %d: alpha %v lambda %v: %w", it, alpha, lambda, ErrDiverged)
		}
		var delta float64
		for i := range wz {
			delta += math.Abs(wz[i] - prev[i])
		}
		copy(prev, wz)
		if it > 0 && delta < m.Tol {
			break
		}
	}
	for i, e := range m.evals {
		m.scaleV[i] = 1 / (lambda + alpha*e)
		wz[i] = alpha * m.scaleV[i] * z.AtVec(i)
	}
	wv := mat.NewVecDense(d, m.w)
	wv.MulVec(&m.evecs, mat.NewVecDense(d, wz))
	m.Alpha, m.Lambda = alpha, lambda
	m.b = ym - mat.Dot(wv, mat.NewVecDense(d, m.mu))
	m.d = d
	return nil
}

// Predict writes the posterior mean for X into dst and returns dst.
func (m *BayesLinear) Predict(dst []float64, X mat.Matrix) []float64 {
	checkPredict("BayesLinear", dst, X, m.d)
	linearPredict(dst, X, m.w, m.b, m.d)
	return dst
}

// PredictStd writes the posterior predictive mean and std for X.
func (m *BayesLinear) PredictStd(mean, std []float64, X mat.Matrix) {
	n := checkPredict("BayesLinear", mean, X, m.d)
	if len(std) != n {
		panic(fmt.Sprintf("predictors: BayesLinear.PredictStd: len(std) = %d, X has %d rows", len(std), n))
	}
	linearPredict(mean, X, m.w, m.b, m.d)
	raw := rawOf(X)
	d := m.d
	m.proj = grow(m.proj, predictBatch*d)
	xb := make([]float64, predictBatch*d)
	vr := m.evecs.RawMatrix()
	for lo := 0; lo < n; lo += predictBatch {
		hi := min(n, lo+predictBatch)
		k := hi - lo
		for r := 0; r < k; r++ {
			row := raw.Data[(lo+r)*raw.Stride : (lo+r)*raw.Stride+d]
			for j, v := range row {
				xb[r*d+j] = v - m.mu[j]
			}
		}
		a := blas64.General{Rows: k, Cols: d, Stride: d, Data: xb[:k*d]}
		p := blas64.General{Rows: k, Cols: d, Stride: d, Data: m.proj[:k*d]}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, a, vr, 0, p)
		for r := 0; r < k; r++ {
			v := 1 / m.Alpha
			for j, q := range p.Data[r*d : (r+1)*d] {
				v += q * q * m.scaleV[j]
			}
			std[lo+r] = math.Sqrt(v)
		}
	}
}
