// Package predictors holds architecture encodings and performance predictors
// (MLP, gradient-boosted trees, random forest, ridge / Bayesian linear
// regression, Gaussian process, ensembles) behind one small interface, and the
// code that evaluates them (Kendall tau, Spearman rho, top-k precision).
//
// Inputs are gonum dense matrices allocated by the caller, one row per
// architecture; outputs are written into caller slices. Shape mistakes panic
// with a "predictors:" message; numerical failures return errors. All
// randomness comes from an injected *rand.Rand (math/rand/v2).
package predictors
