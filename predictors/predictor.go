package predictors

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Predictor is a regression model from architecture encodings to a score.
// Fit trains from scratch (nothing is carried over from a previous Fit).
// Predict writes one prediction per row of X into dst (len(dst) == rows of X)
// and returns dst.
type Predictor interface {
	Fit(X mat.Matrix, y []float64) error
	Predict(dst []float64, X mat.Matrix) []float64
}

// Uncertain is a Predictor that also gives a standard deviation per row
// (ensembles, GP, Bayesian linear regression), for acquisition functions.
type Uncertain interface {
	Predictor
	PredictStd(mean, std []float64, X mat.Matrix)
}

// Factory makes a fresh, untrained predictor drawing all its randomness from rng.
type Factory func(rng *rand.Rand) Predictor
