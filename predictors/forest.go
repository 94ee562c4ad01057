package predictors

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// ForestConfig configures a random forest of regression trees grown on
// bootstrap samples. Zero fields take the defaults noted.
type ForestConfig struct {
	Trees    int     // number of trees (100)
	MaxDepth int     // tree depth (10, WeakNAS's setting)
	MinLeaf  float64 // minimum (bootstrap-weighted) samples in a child (1)
	MaxBins  int     // histogram bins per feature, at most 256 (255)
	MaxFeat  float64 // fraction of features tried per node (1, sklearn's regression default)
}

func (c ForestConfig) withDefaults() ForestConfig {
	if c.Trees == 0 {
		c.Trees = 100
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = 10
	}
	if c.MinLeaf == 0 {
		c.MinLeaf = 1
	}
	if c.MaxBins == 0 {
		c.MaxBins = 255
	}
	c.MaxBins = min(c.MaxBins, 256)
	if c.MaxFeat <= 0 || c.MaxFeat > 1 {
		c.MaxFeat = 1
	}
	return c
}

// Forest is a random-forest regressor on histogram trees (tree.go). Its
// PredictStd gives the population std of the trees' predictions. Not safe for
// concurrent use.
type Forest struct {
	cfg ForestConfig
	rng *rand.Rand
	fo  forest
	d   int

	b    binner
	gr   grower
	col  []float64
	g, h []float64
}

// NewForest returns an untrained forest drawing bootstraps and feature
// samples from rng.
func NewForest(cfg ForestConfig, rng *rand.Rand) *Forest {
	if rng == nil {
		panic("predictors: NewForest: nil rng")
	}
	return &Forest{cfg: cfg.withDefaults(), rng: rng, d: -1}
}

// Fit trains from scratch on (X, y).
func (m *Forest) Fit(X mat.Matrix, y []float64) error {
	m.d = -1
	cfg := m.cfg
	n, d, err := prepareTrees("Forest", X, y, cfg.MaxBins, &m.b, &m.gr, &m.col, &m.fo)
	if err != nil {
		return err
	}
	m.g, m.h = grow(m.g, n), grow(m.h, n)
	maxFeat := 0
	if cfg.MaxFeat < 1 {
		maxFeat = max(1, int(cfg.MaxFeat*float64(d)+0.5))
	}
	p := treeParams{maxDepth: cfg.MaxDepth, minLeaf: cfg.MinLeaf, scale: 1, maxFeat: maxFeat}
	for t := 0; t < cfg.Trees; t++ {
		clear(m.h)
		for k := 0; k < n; k++ {
			m.h[m.rng.IntN(n)]++
		}
		for i := range m.g {
			m.g[i] = m.h[i] * y[i]
		}
		m.gr.grow(&m.fo, m.g, m.h, p, m.rng)
	}
	m.fo.nfeat = d
	m.fo.compile()
	m.d = d
	return nil
}

// Predict writes the mean of the trees' predictions into dst and returns dst.
func (m *Forest) Predict(dst []float64, X mat.Matrix) []float64 {
	n := checkPredict("Forest", dst, X, m.d)
	raw := rawOf(X)
	nt := float64(len(m.fo.roots))
	if nw := workers(n); nw == 1 {
		m.predictRange(dst, raw.Data, raw.Stride, nt, 0, n)
	} else {
		parallelRows(n, nw, func(_, lo, hi int) { m.predictRange(dst, raw.Data, raw.Stride, nt, lo, hi) })
	}
	return dst
}

// PredictStd writes the mean and the population std of the trees'
// predictions for each row of X.
func (m *Forest) PredictStd(mean, std []float64, X mat.Matrix) {
	n := checkPredict("Forest", mean, X, m.d)
	if len(std) != n {
		panic(fmt.Sprintf("predictors: Forest.PredictStd: len(std) = %d, X has %d rows", len(std), n))
	}
	raw := rawOf(X)
	nt := float64(len(m.fo.roots))
	parallelRows(n, workers(n), func(_, lo, hi int) {
		m.fo.accumulate(mean, std, raw.Data, raw.Stride, lo, hi)
		for i := lo; i < hi; i++ {
			mu := mean[i] / nt
			mean[i] = mu
			std[i] = math.Sqrt(math.Max(0, std[i]/nt-mu*mu))
		}
	})
}

func (m *Forest) predictRange(dst, data []float64, stride int, nt float64, lo, hi int) {
	m.fo.accumulate(dst, nil, data, stride, lo, hi)
	for i := lo; i < hi; i++ {
		dst[i] /= nt
	}
}

func (m *Forest) trees() *forest { return &m.fo }
