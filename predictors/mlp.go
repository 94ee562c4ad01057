package predictors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"

	"gonum.org/v1/gonum/mat"
)

// MLPConfig configures an MLP regressor. Zero fields take the defaults of
// scikit-learn's MLPRegressor (adam, lr 1e-3, alpha 1e-4, batch min(200, n),
// 200 epochs, tol 1e-4 with 10 epochs of patience, beta 0.9/0.999, eps 1e-8),
// except Hidden, which must be set.
type MLPConfig struct {
	Hidden       []int   // hidden layer widths (ReLU)
	LearningRate float64 // Adam step size
	Alpha        float64 // L2 penalty, scaled by 1/batch as in sklearn
	BatchSize    int     // 0: min(200, n)
	Epochs       int     // max_iter
	Tol          float64 // stop when the epoch loss fails to improve by Tol ...
	NoChange     int     // ... for more than NoChange consecutive epochs; < 0 disables
	Beta1, Beta2 float64
	Eps          float64
	NoShuffle    bool // keep the row order in every epoch (sklearn shuffle=False)

	// StandardizeY re-standardises the training labels by their own mean
	// and std inside Fit and maps predictions back. sklearn does not; the
	// small MLP does, so that its step size suits raw accuracies too.
	StandardizeY bool
	// Float32 keeps weights, activations and Adam moments in float32, as
	// sklearn does for float32 input: half the memory traffic of the
	// GEMMs, the same ranking (see TestMLPFloat32Ranking).
	Float32 bool
}

// PaperMLPConfig is the WeakNAS setting: MLPRegressor((1000,)*4,
// max_iter=100), in float64 as sklearn runs it on numpy's default dtype.
func PaperMLPConfig() MLPConfig {
	return MLPConfig{Hidden: []int{1000, 1000, 1000, 1000}, Epochs: 100}
}

// SmallMLPConfig is the small MLP: two hidden layers of 64 units, Adam step
// 1e-2, batches of 100, at most 200 epochs, labels re-standardised (chosen
// on NB201: Kendall tau about 0.72 at n = 1000 in a few hundred
// milliseconds).
func SmallMLPConfig() MLPConfig {
	return MLPConfig{Hidden: []int{64, 64}, Epochs: 200, LearningRate: 1e-2, BatchSize: 100, StandardizeY: true}
}

func (c MLPConfig) withDefaults() MLPConfig {
	if c.LearningRate == 0 {
		c.LearningRate = 1e-3
	}
	if c.Alpha == 0 {
		c.Alpha = 1e-4
	}
	if c.Epochs == 0 {
		c.Epochs = 200
	}
	if c.Tol == 0 {
		c.Tol = 1e-4
	}
	if c.NoChange == 0 {
		c.NoChange = 10
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	return c
}

// MLP is a fully connected ReLU regressor trained with Adam on mini-batches.
// It computes what scikit-learn's MLPRegressor computes (checked against
// sklearn on the same initial weights by TestMLPMatchesSklearn): Glorot
// uniform init of weights and biases with bound sqrt(6/(fan_in+fan_out)),
// loss 0.5*mean squared error + 0.5*alpha*|W|^2/batch, gradients averaged
// over the batch, sklearn's Adam with bias-corrected step, batches of
// min(200, n) in a fresh shuffled order each epoch, the epoch loss the
// batch-size-weighted mean, and the tol / n_iter_no_change stop on the
// training loss. What differs: the random streams (math/rand/v2 instead of
// numpy's MT19937, so the same seed gives other weights and batch orders)
// and GEMM summation order (rounding only).
//
// The matrix work goes through gonum's BLAS interface (blas32/blas64: the
// pure-Go gonum implementation, or OpenBLAS with -tags openblas, see
// internal/openblas), split by output columns across cores. Buffers are
// kept and reused across Fit and Predict calls, so an MLP is not safe for
// concurrent use.
type MLP struct {
	cfg MLPConfig
	rng *rand.Rand

	n64 *mlpNet[float64]
	n32 *mlpNet[float32]

	yMean, yStd float64
	d           int // fitted input width, -1 before Fit

	Loss []float64 // training loss per epoch of the last Fit
}

// NewMLP returns an untrained MLP drawing its initial weights and batch order
// from rng. It panics if cfg.Hidden is empty or has a non-positive width.
func NewMLP(cfg MLPConfig, rng *rand.Rand) *MLP {
	if len(cfg.Hidden) == 0 {
		panic("predictors: MLPConfig.Hidden is empty")
	}
	for _, h := range cfg.Hidden {
		if h <= 0 {
			panic(fmt.Sprintf("predictors: MLPConfig.Hidden has width %d", h))
		}
	}
	if rng == nil {
		panic("predictors: NewMLP: nil rng")
	}
	p := &MLP{cfg: cfg.withDefaults(), rng: rng, d: -1}
	if p.cfg.Float32 {
		p.n32 = &mlpNet[float32]{}
	} else {
		p.n64 = &mlpNet[float64]{}
	}
	return p
}

// Fit trains from scratch on (X, y).
func (p *MLP) Fit(X mat.Matrix, y []float64) error {
	n, d, err := checkFit("MLP", X, y)
	if err != nil {
		return err
	}
	if n < 1 {
		return fmt.Errorf("predictors: MLP.Fit: %d samples: %w", n, ErrTooFew)
	}
	p.d = -1
	if p.n32 != nil {
		p.n32.layout(d, p.cfg.Hidden)
		p.n32.glorot(p.rng)
	} else {
		p.n64.layout(d, p.cfg.Hidden)
		p.n64.glorot(p.rng)
	}
	return p.train(X, y)
}

// train runs Adam from the current weights (laid out by Fit, or set by a
// test to compare with sklearn).
func (p *MLP) train(X mat.Matrix, y []float64) error {
	n, d := X.Dims()
	p.yMean, p.yStd = 0, 1
	if p.cfg.StandardizeY {
		p.yMean, p.yStd = meanStd(y)
		if p.yStd == 0 || n == 1 {
			p.yStd = 1
		}
	}
	var err error
	if p.n32 != nil {
		p.Loss, err = p.n32.train(p.cfg, p.rng, rawOf(X), y, p.yMean, p.yStd, p.Loss[:0])
	} else {
		p.Loss, err = p.n64.train(p.cfg, p.rng, rawOf(X), y, p.yMean, p.yStd, p.Loss[:0])
	}
	if err != nil {
		return err
	}
	p.d = d
	return nil
}

// Predict writes the prediction for each row of X into dst and returns dst.
// Rows are processed in batches of a few thousand, split across cores for
// large inputs.
func (p *MLP) Predict(dst []float64, X mat.Matrix) []float64 {
	checkPredict("MLP", dst, X, p.d)
	if p.n32 != nil {
		p.n32.predict(dst, rawOf(X), p.yMean, p.yStd)
	} else {
		p.n64.predict(dst, rawOf(X), p.yMean, p.yStd)
	}
	return dst
}

// mlpNet holds the weights, Adam state and buffers of an MLP in precision F.
type mlpNet[F float32 | float64] struct {
	sizes  []int // layer widths, input .. 1
	params []F   // W0, b0, W1, b1, ... (W row-major in x out)
	grads  []F
	m, v   []F
	wOff   []int     // offset of W_l in params
	bOff   []int     // offset of b_l
	wSq    []float64 // per layer sum of squared weights (for the loss)
	wViews [][]F     // W_l and their gradients' views for scaleSumSquares
	gViews [][]F

	acts  [][]F // activations per layer, batch x width
	delta [][]F
	perm  []int
	yb    []F
	pbuf  [][2][]F // prediction buffers, per worker
}

func (nt *mlpNet[F]) layout(d int, hidden []int) {
	nt.sizes = append(nt.sizes[:0], d)
	nt.sizes = append(nt.sizes, hidden...)
	nt.sizes = append(nt.sizes, 1)
	nt.wOff, nt.bOff = nt.wOff[:0], nt.bOff[:0]
	off := 0
	for l := 0; l+1 < len(nt.sizes); l++ {
		nt.wOff = append(nt.wOff, off)
		off += nt.sizes[l] * nt.sizes[l+1]
		nt.bOff = append(nt.bOff, off)
		off += nt.sizes[l+1]
	}
	nt.params = growT(nt.params, off)
	nt.grads = growT(nt.grads, off)
	nt.m = growT(nt.m, off)
	nt.v = growT(nt.v, off)
	nt.wSq = make([]float64, len(nt.wOff))
	nt.wViews = make([][]F, len(nt.wOff))
	nt.gViews = make([][]F, len(nt.wOff))
	for l := range nt.wOff {
		nt.wViews[l] = nt.params[nt.wOff[l]:nt.bOff[l]]
		nt.gViews[l] = nt.grads[nt.wOff[l]:nt.bOff[l]]
	}
}

// glorot draws sklearn's _init_coef for relu: per layer, W then b, uniform
// in ±sqrt(6/(fan_in+fan_out)).
func (nt *mlpNet[F]) glorot(rng *rand.Rand) {
	for l := 0; l+1 < len(nt.sizes); l++ {
		in, out := nt.sizes[l], nt.sizes[l+1]
		bound := math.Sqrt(6 / float64(in+out))
		for i := nt.wOff[l]; i < nt.bOff[l]+out; i++ {
			nt.params[i] = F((2*rng.Float64() - 1) * bound)
		}
	}
}

func (nt *mlpNet[F]) train(cfg MLPConfig, rng *rand.Rand, raw blasGeneral, y []float64, yMean, yStd float64, losses []float64) ([]float64, error) {
	n, d := len(y), nt.sizes[0]
	clear(nt.m)
	clear(nt.v)
	bs := cfg.BatchSize
	if bs <= 0 {
		bs = min(200, n)
	}
	bs = min(bs, n)
	L := len(nt.sizes) - 1
	if len(nt.acts) != L+1 {
		nt.acts = make([][]F, L+1)
		nt.delta = make([][]F, L+1)
	}
	for l := 0; l <= L; l++ {
		nt.acts[l] = growT(nt.acts[l], bs*nt.sizes[l])
		nt.delta[l] = growT(nt.delta[l], bs*nt.sizes[l])
	}
	nt.yb = growT(nt.yb, bs)
	if cap(nt.perm) < n {
		nt.perm = make([]int, n)
	}
	nt.perm = nt.perm[:n]
	for i := range nt.perm {
		nt.perm[i] = i
	}
	par := runtime.GOMAXPROCS(0)
	best, stall := math.Inf(1), 0
	t := 0
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		if !cfg.NoShuffle {
			rng.Shuffle(n, func(i, j int) { nt.perm[i], nt.perm[j] = nt.perm[j], nt.perm[i] })
		}
		var total float64
		for lo := 0; lo < n; lo += bs {
			hi := min(n, lo+bs)
			m := hi - lo
			x0 := nt.acts[0][:m*d]
			for r, idx := range nt.perm[lo:hi] {
				for j, v := range raw.Data[idx*raw.Stride : idx*raw.Stride+d] {
					x0[r*d+j] = F(v)
				}
				nt.yb[r] = F((y[idx] - yMean) / yStd)
			}
			out := nt.forward(nt.acts, m, par)
			// Squared loss and output delta.
			dl := nt.delta[L][:m]
			var sq float64
			for r := 0; r < m; r++ {
				e := out[r] - nt.yb[r]
				dl[r] = e
				sq += float64(e) * float64(e)
			}
			nt.backward(m, F(cfg.Alpha), par) // also sums the squared weights into wSq
			var w2 float64
			for _, v := range nt.wSq {
				w2 += v
			}
			total += (sq/float64(m)/2 + 0.5*cfg.Alpha*w2/float64(m)) * float64(m)
			t++
			nt.adam(cfg, t, par)
		}
		loss := total / float64(n)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return losses, fmt.Errorf("predictors: MLP.Fit: epoch %d loss %v: %w", epoch, loss, ErrDiverged)
		}
		losses = append(losses, loss)
		if cfg.NoChange > 0 {
			if loss > best-cfg.Tol {
				stall++
			} else {
				stall = 0
			}
			if loss < best {
				best = loss
			}
			if stall > cfg.NoChange {
				break
			}
		}
	}
	return losses, nil
}

// adam is sklearn's AdamOptimizer step t, split across par goroutines.
func (nt *mlpNet[F]) adam(cfg MLPConfig, t, par int) {
	b1, b2 := cfg.Beta1, cfg.Beta2
	lr := F(cfg.LearningRate * math.Sqrt(1-math.Pow(b2, float64(t))) / (1 - math.Pow(b1, float64(t))))
	fb1, fb2, eps := F(b1), F(b2), F(cfg.Eps)
	nw := 1
	if len(nt.params) >= 1<<16 {
		nw = par
	}
	parallelRows(len(nt.params), nw, func(_, lo, hi int) {
		adamStep(nt.params[lo:hi], nt.grads[lo:hi], nt.m[lo:hi], nt.v[lo:hi], fb1, fb2, lr, eps)
	})
}

// adamStep updates the moments mm, vv and the parameters pm from the
// gradient g, elementwise. float64 runs four lanes at a time where the CPU
// has AVX (adam_amd64.s: the same operations in the same order, so the
// same bits; sqrt and division dominate the scalar loop).
func adamStep[F float32 | float64](pm, g, mm, vv []F, fb1, fb2, lr, eps F) {
	g, mm, vv = g[:len(pm)], mm[:len(pm)], vv[:len(pm)]
	if p64, ok := any(pm).([]float64); ok && haveAdamAsm {
		c := [6]float64{float64(fb1), float64(1 - fb1), float64(fb2), float64(1 - fb2), float64(lr), float64(eps)}
		n := len(pm) &^ 3
		adamAsm(p64[:n], any(g).([]float64)[:n], any(mm).([]float64)[:n], any(vv).([]float64)[:n], &c)
		pm, g, mm, vv = pm[n:], g[n:], mm[n:], vv[n:]
	}
	for i := range pm {
		mi := fb1*mm[i] + (1-fb1)*g[i]
		vi := fb2*vv[i] + (1-fb2)*g[i]*g[i]
		mm[i], vv[i] = mi, vi
		pm[i] -= lr * mi / (F(math.Sqrt(float64(vi))) + eps)
	}
}

// forward runs m rows already in acts[0] through the net, leaving each
// layer's activations in acts, and returns the output column.
func (nt *mlpNet[F]) forward(acts [][]F, m, par int) []F {
	L := len(nt.sizes) - 1
	for l := 0; l < L; l++ {
		in, out := nt.sizes[l], nt.sizes[l+1]
		z := acts[l+1][:m*out]
		b := nt.params[nt.bOff[l] : nt.bOff[l]+out]
		// z = a*W, then the intercept and the ReLU in one pass over z (as
		// sklearn: safe_sparse_dot, += intercept, relu).
		gemm(false, false, m, out, in, 1, acts[l][:m*in], in, nt.params[nt.wOff[l]:nt.bOff[l]], out, 0, z, out, par)
		addBias(z, b, l+1 < L)
	}
	return acts[L][:m]
}

// backward computes the gradients of the batch loss from delta[L], and
// each layer's sum of squared weights (the loss's L2 term) into wSq.
func (nt *mlpNet[F]) backward(m int, alpha F, par int) {
	L := len(nt.sizes) - 1
	inv := 1 / F(m)
	// gw = inv*a^T*dz + (alpha*inv)*w: the GEMMs below run with beta = 1
	// on gw = (alpha*inv)*w, their beta pass done here in the same pass
	// over the weights that sums their squares (same products, same sums).
	scaleSumSquares(nt.gViews, alpha*inv, nt.wViews, nt.wSq)
	for l := L - 1; l >= 0; l-- {
		in, out := nt.sizes[l], nt.sizes[l+1]
		a := nt.acts[l][:m*in]
		dz := nt.delta[l+1][:m*out]
		w := nt.params[nt.wOff[l]:nt.bOff[l]]
		gw := nt.grads[nt.wOff[l]:nt.bOff[l]]
		gemm(true, false, in, out, m, inv, a, in, dz, out, 1, gw, out, par)
		gb := nt.grads[nt.bOff[l] : nt.bOff[l]+out]
		clear(gb)
		for r := 0; r < m; r++ {
			for j, v := range dz[r*out : (r+1)*out] {
				gb[j] += v
			}
		}
		for j := range gb {
			gb[j] *= inv
		}
		if l == 0 {
			break
		}
		da := nt.delta[l][:m*in]
		gemm(false, true, m, in, out, 1, dz, out, w, out, 0, da, in, par)
		reluGrad(da, a)
	}
}

func (nt *mlpNet[F]) predict(dst []float64, raw blasGeneral, yMean, yStd float64) {
	n, d := len(dst), nt.sizes[0]
	nw := workers(n)
	par := 1 // rows already split across cores
	if nw == 1 {
		par = runtime.GOMAXPROCS(0)
	}
	width := 0
	for _, s := range nt.sizes {
		width = max(width, s)
	}
	for len(nt.pbuf) < nw {
		nt.pbuf = append(nt.pbuf, [2][]F{})
	}
	for w := 0; w < nw; w++ {
		for k := 0; k < 2; k++ {
			nt.pbuf[w][k] = growT(nt.pbuf[w][k], predictBatch*width)
		}
	}
	parallelRows(n, nw, func(w, lo, hi int) {
		var acts [8][]F
		layers := acts[:0]
		if len(nt.sizes) > len(acts) {
			layers = make([][]F, 0, len(nt.sizes))
		}
		buf := nt.pbuf[w]
		for l := range nt.sizes {
			layers = append(layers, buf[l%2])
		}
		for s := lo; s < hi; s += predictBatch {
			e := min(hi, s+predictBatch)
			m := e - s
			x0 := layers[0][:m*d]
			for r := 0; r < m; r++ {
				for j, v := range raw.Data[(s+r)*raw.Stride : (s+r)*raw.Stride+d] {
					x0[r*d+j] = F(v)
				}
			}
			out := nt.forward(layers, m, par)
			for r, v := range out {
				dst[s+r] = float64(v)*yStd + yMean
			}
		}
	})
}

// scaleSumSquares sets dst[i][j] = alpha*xs[i][j] and sums[i] to the sum
// of squares of xs[i], taken in index order from zero in float64. Up to
// four slices advance together (longest first), so that their sums' additions
// overlap instead of each waiting on the latency of the one before: the same
// sums as one loop per slice, bit for bit, in one pass over the weights.
func scaleSumSquares[F float32 | float64](dst [][]F, alpha F, xs [][]F, sums []float64) {
	var order [16]int
	idx := order[:0]
	if len(xs) > len(order) {
		idx = make([]int, 0, len(xs))
	}
	for i := range xs {
		// Insertion by decreasing length (a handful of layers).
		j := len(idx)
		idx = append(idx, i)
		for ; j > 0 && len(xs[idx[j-1]]) < len(xs[i]); j-- {
			idx[j] = idx[j-1]
		}
		idx[j] = i
	}
	for g := 0; g < len(idx); g += 4 {
		grp := idx[g:min(len(idx), g+4)]
		var s [4]float64
		off := 0
		for k := len(grp); k > 0; k-- {
			// Slices grp[:k] are all at least len(xs[grp[k-1]]) long.
			n := len(xs[grp[k-1]])
			switch k {
			case 4:
				a, b, c, d := xs[grp[0]][off:n], xs[grp[1]][off:n], xs[grp[2]][off:n], xs[grp[3]][off:n]
				da, db, dc, dd := dst[grp[0]][off:n], dst[grp[1]][off:n], dst[grp[2]][off:n], dst[grp[3]][off:n]
				b, c, d, da, db, dc, dd = b[:len(a)], c[:len(a)], d[:len(a)], da[:len(a)], db[:len(a)], dc[:len(a)], dd[:len(a)]
				for i, v := range a {
					s[0] += float64(v) * float64(v)
					s[1] += float64(b[i]) * float64(b[i])
					s[2] += float64(c[i]) * float64(c[i])
					s[3] += float64(d[i]) * float64(d[i])
					da[i], db[i], dc[i], dd[i] = alpha*v, alpha*b[i], alpha*c[i], alpha*d[i]
				}
			case 3:
				a, b, c := xs[grp[0]][off:n], xs[grp[1]][off:n], xs[grp[2]][off:n]
				da, db, dc := dst[grp[0]][off:n], dst[grp[1]][off:n], dst[grp[2]][off:n]
				b, c, da, db, dc = b[:len(a)], c[:len(a)], da[:len(a)], db[:len(a)], dc[:len(a)]
				for i, v := range a {
					s[0] += float64(v) * float64(v)
					s[1] += float64(b[i]) * float64(b[i])
					s[2] += float64(c[i]) * float64(c[i])
					da[i], db[i], dc[i] = alpha*v, alpha*b[i], alpha*c[i]
				}
			case 2:
				a, b := xs[grp[0]][off:n], xs[grp[1]][off:n]
				da, db := dst[grp[0]][off:n], dst[grp[1]][off:n]
				b, da, db = b[:len(a)], da[:len(a)], db[:len(a)]
				for i, v := range a {
					s[0] += float64(v) * float64(v)
					s[1] += float64(b[i]) * float64(b[i])
					da[i], db[i] = alpha*v, alpha*b[i]
				}
			case 1:
				a, da := xs[grp[0]][off:n], dst[grp[0]][off:n]
				da = da[:len(a)]
				for i, v := range a {
					s[0] += float64(v) * float64(v)
					da[i] = alpha * v
				}
			}
			off = n
			sums[grp[k-1]] = s[k-1]
		}
	}
}

// growT returns s resized to n, reusing its storage when it is large enough.
func growT[F float32 | float64](s []F, n int) []F {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]F, n)
}
