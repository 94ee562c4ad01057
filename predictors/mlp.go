package predictors

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
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
	NoShuffle    bool // keep the row order in every epoch
}

// PaperMLPConfig is the WeakNAS setting: MLPRegressor((1000,)*4, max_iter=100).
func PaperMLPConfig() MLPConfig {
	return MLPConfig{Hidden: []int{1000, 1000, 1000, 1000}, Epochs: 100}
}

// SmallMLPConfig is the fast default: two hidden layers of 64 units, Adam
// step 1e-2, batches of 100, at most 200 epochs (chosen on NB201: Kendall
// tau about 0.72 at n = 1000 in a few hundred milliseconds).
func SmallMLPConfig() MLPConfig {
	return MLPConfig{Hidden: []int{64, 64}, Epochs: 200, LearningRate: 1e-2, BatchSize: 100}
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

// MLP is a fully connected ReLU regressor trained with Adam on mini-batches,
// following scikit-learn's MLPRegressor (Glorot-uniform init, loss
// 0.5*MSE + 0.5*alpha*|W|^2/batch, early stop on the training loss). One
// deliberate difference: targets are standardised to zero mean and unit
// variance inside Fit and predictions are mapped back, so the defaults work on
// raw accuracies as well as on z-scores (for z-scored labels this is the
// identity up to rounding).
//
// The matrix work goes through gonum's BLAS (Dgemm). Buffers are kept and
// reused across Fit and Predict calls, so an MLP is not safe for concurrent
// use.
type MLP struct {
	cfg MLPConfig
	rng *rand.Rand

	sizes  []int     // layer widths, input .. 1
	params []float64 // W0, b0, W1, b1, ... (W row-major in x out)
	grads  []float64
	m, v   []float64
	wOff   []int // offset of W_l in params
	bOff   []int // offset of b_l

	yMean, yStd float64
	d           int // fitted input width, -1 before Fit

	// training buffers
	acts  [][]float64 // activations per layer, batch x width
	delta [][]float64
	perm  []int
	yb    []float64

	// prediction buffers, per worker
	pbuf [][2][]float64

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
	return &MLP{cfg: cfg.withDefaults(), rng: rng, d: -1}
}

func (p *MLP) layout(d int) {
	p.sizes = append(p.sizes[:0], d)
	p.sizes = append(p.sizes, p.cfg.Hidden...)
	p.sizes = append(p.sizes, 1)
	p.wOff, p.bOff = p.wOff[:0], p.bOff[:0]
	off := 0
	for l := 0; l+1 < len(p.sizes); l++ {
		p.wOff = append(p.wOff, off)
		off += p.sizes[l] * p.sizes[l+1]
		p.bOff = append(p.bOff, off)
		off += p.sizes[l+1]
	}
	p.params = grow(p.params, off)
	p.grads = grow(p.grads, off)
	p.m = grow(p.m, off)
	p.v = grow(p.v, off)
}

func (p *MLP) weights(l int) blas64.General {
	in, out := p.sizes[l], p.sizes[l+1]
	return blas64.General{Rows: in, Cols: out, Stride: out, Data: p.params[p.wOff[l] : p.wOff[l]+in*out]}
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
	cfg := p.cfg
	p.layout(d)
	// Glorot uniform, as sklearn's _init_coef for relu.
	for l := 0; l+1 < len(p.sizes); l++ {
		in, out := p.sizes[l], p.sizes[l+1]
		bound := math.Sqrt(6 / float64(in+out))
		for i := p.wOff[l]; i < p.bOff[l]+out; i++ {
			p.params[i] = (2*p.rng.Float64() - 1) * bound
		}
	}
	clear(p.m)
	clear(p.v)
	p.yMean, p.yStd = meanStd(y)
	if p.yStd == 0 || n == 1 {
		p.yStd = 1
	}

	bs := cfg.BatchSize
	if bs <= 0 {
		bs = min(200, n)
	}
	bs = min(bs, n)
	L := len(p.sizes) - 1
	if len(p.acts) != L+1 {
		p.acts = make([][]float64, L+1)
		p.delta = make([][]float64, L+1)
	}
	for l := 0; l <= L; l++ {
		p.acts[l] = grow(p.acts[l], bs*p.sizes[l])
		p.delta[l] = grow(p.delta[l], bs*p.sizes[l])
	}
	p.yb = grow(p.yb, bs)
	if cap(p.perm) < n {
		p.perm = make([]int, n)
	}
	p.perm = p.perm[:n]
	for i := range p.perm {
		p.perm[i] = i
	}
	raw := rawOf(X)
	p.Loss = p.Loss[:0]
	best, stall := math.Inf(1), 0
	t := 0
	b1, b2 := cfg.Beta1, cfg.Beta2
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		if !cfg.NoShuffle {
			p.rng.Shuffle(n, func(i, j int) { p.perm[i], p.perm[j] = p.perm[j], p.perm[i] })
		}
		var total float64
		for lo := 0; lo < n; lo += bs {
			hi := min(n, lo+bs)
			m := hi - lo
			x0 := p.acts[0][:m*d]
			for r, idx := range p.perm[lo:hi] {
				copy(x0[r*d:(r+1)*d], raw.Data[idx*raw.Stride:idx*raw.Stride+d])
				p.yb[r] = (y[idx] - p.yMean) / p.yStd
			}
			out := p.forward(p.acts, m)
			// Squared loss and output delta.
			dl := p.delta[L][:m]
			var sq float64
			for r := 0; r < m; r++ {
				e := out[r] - p.yb[r]
				dl[r] = e
				sq += e * e
			}
			var w2 float64
			for l := 0; l < L; l++ {
				for _, w := range p.params[p.wOff[l]:p.bOff[l]] {
					w2 += w * w
				}
			}
			total += (sq/float64(m)/2 + 0.5*cfg.Alpha*w2/float64(m)) * float64(m)
			p.backward(m)
			// Adam (sklearn's AdamOptimizer).
			t++
			lr := cfg.LearningRate * math.Sqrt(1-math.Pow(b2, float64(t))) / (1 - math.Pow(b1, float64(t)))
			for i, g := range p.grads {
				mi := b1*p.m[i] + (1-b1)*g
				vi := b2*p.v[i] + (1-b2)*g*g
				p.m[i], p.v[i] = mi, vi
				p.params[i] -= lr * mi / (math.Sqrt(vi) + cfg.Eps)
			}
		}
		loss := total / float64(n)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("predictors: MLP.Fit: epoch %d loss %v: %w", epoch, loss, ErrDiverged)
		}
		p.Loss = append(p.Loss, loss)
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
	p.d = d
	return nil
}

// forward runs m rows already in acts[0] through the net, leaving each
// layer's activations in acts, and returns the output column.
func (p *MLP) forward(acts [][]float64, m int) []float64 {
	L := len(p.sizes) - 1
	for l := 0; l < L; l++ {
		in, out := p.sizes[l], p.sizes[l+1]
		a := blas64.General{Rows: m, Cols: in, Stride: in, Data: acts[l][:m*in]}
		z := blas64.General{Rows: m, Cols: out, Stride: out, Data: acts[l+1][:m*out]}
		b := p.params[p.bOff[l] : p.bOff[l]+out]
		for r := 0; r < m; r++ {
			copy(z.Data[r*out:(r+1)*out], b)
		}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, a, p.weights(l), 1, z)
		if l+1 < L {
			for i, v := range z.Data {
				if v < 0 {
					z.Data[i] = 0
				}
			}
		}
	}
	return acts[L][:m]
}

// backward computes the gradients of the batch loss from delta[L].
func (p *MLP) backward(m int) {
	L := len(p.sizes) - 1
	inv := 1 / float64(m)
	for l := L - 1; l >= 0; l-- {
		in, out := p.sizes[l], p.sizes[l+1]
		a := blas64.General{Rows: m, Cols: in, Stride: in, Data: p.acts[l][:m*in]}
		dz := blas64.General{Rows: m, Cols: out, Stride: out, Data: p.delta[l+1][:m*out]}
		w := p.weights(l)
		gw := blas64.General{Rows: in, Cols: out, Stride: out, Data: p.grads[p.wOff[l]:p.bOff[l]]}
		copy(gw.Data, w.Data)
		blas64.Gemm(blas.Trans, blas.NoTrans, inv, a, dz, p.cfg.Alpha*inv, gw)
		gb := p.grads[p.bOff[l] : p.bOff[l]+out]
		clear(gb)
		for r := 0; r < m; r++ {
			for j, v := range dz.Data[r*out : (r+1)*out] {
				gb[j] += v
			}
		}
		for j := range gb {
			gb[j] *= inv
		}
		if l == 0 {
			break
		}
		da := blas64.General{Rows: m, Cols: in, Stride: in, Data: p.delta[l][:m*in]}
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, dz, w, 0, da)
		for i, v := range a.Data {
			if v <= 0 {
				da.Data[i] = 0
			}
		}
	}
}

// Predict writes the prediction for each row of X into dst and returns dst.
// Rows are processed in batches of a few thousand, split across cores for
// large inputs.
func (p *MLP) Predict(dst []float64, X mat.Matrix) []float64 {
	n := checkPredict("MLP", dst, X, p.d)
	raw := rawOf(X)
	nw := workers(n)
	width := 0
	for _, s := range p.sizes {
		width = max(width, s)
	}
	for len(p.pbuf) < nw {
		p.pbuf = append(p.pbuf, [2][]float64{})
	}
	for w := 0; w < nw; w++ {
		for k := 0; k < 2; k++ {
			p.pbuf[w][k] = grow(p.pbuf[w][k], predictBatch*width)
		}
	}
	parallelRows(n, nw, func(w, lo, hi int) {
		var acts [8][]float64
		layers := acts[:0]
		if len(p.sizes) > len(acts) {
			layers = make([][]float64, 0, len(p.sizes))
		}
		buf := p.pbuf[w]
		for l := range p.sizes {
			layers = append(layers, buf[l%2])
		}
		d := p.d
		for s := lo; s < hi; s += predictBatch {
			e := min(hi, s+predictBatch)
			m := e - s
			x0 := layers[0][:m*d]
			if raw.Stride == d {
				copy(x0, raw.Data[s*d:e*d])
			} else {
				for r := 0; r < m; r++ {
					copy(x0[r*d:(r+1)*d], raw.Data[(s+r)*raw.Stride:(s+r)*raw.Stride+d])
				}
			}
			out := p.forward(layers, m)
			for r, v := range out {
				dst[s+r] = v*p.yStd + p.yMean
			}
		}
	})
	return dst
}
