package predictors

import (
	"fmt"
	"math/rand/v2"
	"sort"
)

// DefaultWeakGBDT is the default weak predictor's configuration: small
// enough to fit 1,000 NB201 samples and score all 15,625 cells in tens of
// milliseconds.
func DefaultWeakGBDT() GBDTConfig { return GBDTConfig{Trees: 40, MaxDepth: 7, LearningRate: 0.2} }

// NewDefault returns the default weak predictor (a GBDT with
// DefaultWeakGBDT). It is a Factory.
func NewDefault(rng *rand.Rand) Predictor { return NewGBDT(DefaultWeakGBDT(), rng) }

type regEntry struct {
	desc string
	f    Factory
}

var registry = map[string]regEntry{
	"mlp": {"MLP 2 x 64 ReLU, Adam lr 1e-2, batch 100, at most 200 epochs (fast default)",
		func(rng *rand.Rand) Predictor { return NewMLP(SmallMLPConfig(), rng) }},
	"mlp-paper": {"MLP 4 x 1000 ReLU, sklearn MLPRegressor defaults, max_iter 100 (WeakNAS paper; float64, as sklearn)",
		func(rng *rand.Rand) Predictor { return NewMLP(PaperMLPConfig(), rng) }},
	"mlp-paper-f32": {"mlp-paper in float32 (same ranking quality, about half the GEMM time; not bit-comparable with sklearn)",
		func(rng *rand.Rand) Predictor {
			c := PaperMLPConfig()
			c.Float32 = true
			return NewMLP(c, rng)
		}},
	"gbdt": {"histogram gradient-boosted trees, 40 trees of depth 7, lr 0.2 (default weak predictor)",
		NewDefault},
	"rf": {"random forest, 100 bootstrap trees of depth 10",
		func(rng *rand.Rand) Predictor { return NewForest(ForestConfig{}, rng) }},
	"ridge": {"ridge regression, alpha 1",
		func(*rand.Rand) Predictor { return NewRidge(1) }},
	"blr": {"Bayesian linear regression, evidence-maximised precisions",
		func(*rand.Rand) Predictor { return NewBayesLinear() }},
	"gp": {"Gaussian process, RBF kernel, ML-II grid over length scale and noise",
		func(rng *rand.Rand) Predictor { return NewGP(GPConfig{}, rng) }},
	"ensemble": {"ensemble of 5 'mlp' members; mean and population std",
		func(rng *rand.Rand) Predictor {
			return NewEnsemble(func(r *rand.Rand) Predictor { return NewMLP(SmallMLPConfig(), r) }, 5, rng)
		}},
}

// Names returns the registered model names, sorted.
func Names() []string {
	var ns []string
	for n := range registry {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Describe returns a one-line description of a registered model, or "".
func Describe(name string) string { return registry[name].desc }

// Lookup returns the Factory registered under name, or an error wrapping
// ErrUnknownModel.
func Lookup(name string) (Factory, error) {
	e, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("predictors: model %q (have %v): %w", name, Names(), ErrUnknownModel)
	}
	return e.f, nil
}

// Specs looks up each name and returns the Specs for Evaluate.
func Specs(names ...string) ([]Spec, error) {
	var out []Spec
	for _, n := range names {
		f, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Spec{Name: n, Factory: f})
	}
	return out, nil
}
