package predictors

import (
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// GBDTConfig configures gradient-boosted regression trees (squared loss).
// Zero fields take the defaults noted.
type GBDTConfig struct {
	Trees        int     // boosting rounds (100)
	MaxDepth     int     // tree depth (4)
	LearningRate float64 // shrinkage (0.1)
	MinLeaf      float64 // minimum samples in a child (2)
	Lambda       float64 // L2 on leaf values (1)
	MaxBins      int     // histogram bins per feature, at most 256 (255)
	Subsample    float64 // fraction of rows per tree, without replacement (1)
	ColSample    float64 // fraction of features tried per node (1)
}

func (c GBDTConfig) withDefaults() GBDTConfig {
	if c.Trees == 0 {
		c.Trees = 100
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = 4
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.1
	}
	if c.MinLeaf == 0 {
		c.MinLeaf = 2
	}
	if c.Lambda == 0 {
		c.Lambda = 1
	}
	if c.MaxBins == 0 {
		c.MaxBins = 255
	}
	c.MaxBins = min(c.MaxBins, 256)
	if c.Subsample <= 0 || c.Subsample > 1 {
		c.Subsample = 1
	}
	if c.ColSample <= 0 || c.ColSample > 1 {
		c.ColSample = 1
	}
	return c
}

// GBDT is a histogram-based gradient-boosted tree regressor (see tree.go for
// why it is hand-written). Buffers are reused across Fit calls; a GBDT is not
// safe for concurrent use.
type GBDT struct {
	cfg  GBDTConfig
	rng  *rand.Rand
	fo   forest
	base float64
	d    int

	b     binner
	gr    grower
	col   []float64
	g, h  []float64
	pred  []float64
	order []int
}

// NewGBDT returns an untrained GBDT drawing row and feature samples from rng.
func NewGBDT(cfg GBDTConfig, rng *rand.Rand) *GBDT {
	if rng == nil {
		panic("predictors: NewGBDT: nil rng")
	}
	return &GBDT{cfg: cfg.withDefaults(), rng: rng, d: -1}
}

// Fit trains from scratch on (X, y).
func (m *GBDT) Fit(X mat.Matrix, y []float64) error {
	m.d = -1
	cfg := m.cfg
	n, d, err := prepareTrees("GBDT", X, y, cfg.MaxBins, &m.b, &m.gr, &m.col, &m.fo)
	if err != nil {
		return err
	}
	m.base, _ = meanStd(y)
	m.g, m.h, m.pred = grow(m.g, n), grow(m.h, n), grow(m.pred, n)
	for i := range m.pred {
		m.pred[i] = m.base
	}
	sub := int(cfg.Subsample*float64(n) + 0.5)
	if cfg.Subsample < 1 && cap(m.order) < n {
		m.order = make([]int, n)
	}
	maxFeat := 0
	if cfg.ColSample < 1 {
		maxFeat = max(1, int(cfg.ColSample*float64(d)+0.5))
	}
	p := treeParams{maxDepth: cfg.MaxDepth, minLeaf: cfg.MinLeaf, lambda: cfg.Lambda, scale: cfg.LearningRate, maxFeat: maxFeat}
	for t := 0; t < cfg.Trees; t++ {
		for i := range m.g {
			m.g[i] = y[i] - m.pred[i]
			m.h[i] = 1
		}
		if cfg.Subsample < 1 {
			m.order = m.order[:n]
			for i := range m.order {
				m.order[i] = i
			}
			for i := 0; i < n-sub; i++ { // choose the n-sub rows left out
				j := i + m.rng.IntN(n-i)
				m.order[i], m.order[j] = m.order[j], m.order[i]
				m.h[m.order[i]] = 0
			}
		}
		m.gr.grow(&m.fo, m.g, m.h, p, m.rng)
		for i := 0; i < n; i++ {
			m.pred[i] += m.fo.evalBinned(t, m.gr.bins[i*d:i*d+d])
		}
	}
	m.fo.nfeat = d
	m.fo.compile()
	m.d = d
	return nil
}

// Predict writes the prediction for each row of X into dst and returns dst.
func (m *GBDT) Predict(dst []float64, X mat.Matrix) []float64 {
	n := checkPredict("GBDT", dst, X, m.d)
	raw := rawOf(X)
	if nw := workers(n); nw == 1 {
		m.predictRange(dst, raw.Data, raw.Stride, 0, n)
	} else {
		parallelRows(n, nw, func(_, lo, hi int) { m.predictRange(dst, raw.Data, raw.Stride, lo, hi) })
	}
	return dst
}

func (m *GBDT) predictRange(dst, data []float64, stride, lo, hi int) {
	m.fo.accumulate(dst, nil, data, stride, lo, hi)
	for i := lo; i < hi; i++ {
		dst[i] += m.base
	}
}

func (m *GBDT) trees() *forest { return &m.fo }

// prepareTrees checks (X, y) and bins X into the grower shared by the tree
// models' Fit: the quantile bin edges into b and col, the binned matrix and
// its index into gr, and an empty forest fo. It returns the shape.
func prepareTrees(name string, X mat.Matrix, y []float64, maxBins int, b *binner, gr *grower, col *[]float64, fo *forest) (n, d int, err error) {
	n, d, err = checkFit(name, X, y)
	if err != nil {
		return 0, 0, err
	}
	if n < 1 {
		return 0, 0, fmt.Errorf("predictors: %s.Fit: %d samples: %w", name, n, ErrTooFew)
	}
	if d > maxTreeFeatures {
		panic(fmt.Sprintf("predictors: %s.Fit: %d features, at most %d", name, d, maxTreeFeatures))
	}
	raw := rawOf(X)
	*col = b.fit(raw.Data, n, d, raw.Stride, maxBins, *col)
	if cap(gr.bins) < n*d {
		gr.bins = make([]uint8, n*d)
	}
	gr.bins = gr.bins[:n*d]
	b.transform(gr.bins, raw.Data, n, d, raw.Stride)
	gr.b, gr.n, gr.d = b, n, d
	gr.index()
	fo.reset()
	return n, d, nil
}
