// Package predictors holds architecture encodings and performance predictors
// (MLP, gradient-boosted trees, random forest, ridge / Bayesian linear
// regression, Gaussian process, ensembles) behind one small interface, and the
// code that evaluates them (Kendall tau, Spearman rho, top-k precision).
//
// Encodings (EncodeNB201, EncodeNB101, EncodePathNB201, EncodePathNB101,
// EncodeOneHot) write into a caller-allocated *mat.Dense, one row per
// architecture, and keep no reference to it. NB101 cells come in as
// NB101Cell (a 7x7 row-major adjacency bitmask and op codes), so this package
// does not depend on space/nb101.
//
// Models implement Predictor (and Uncertain where they have a spread). Fit
// reads X and y during the call only; nothing is carried over from an earlier
// Fit, although internal buffers are reused so that refitting does not
// allocate much. Predict writes into the caller's dst. A model is not safe for
// concurrent use: give each goroutine its own (Factory makes them). Large
// Predict calls are processed in batches of a few thousand rows and split
// across GOMAXPROCS goroutines internally.
//
// Inputs are gonum dense matrices allocated by the caller, one row per
// architecture; outputs are written into caller slices. Shape mistakes panic
// with a "predictors:" message; numerical failures (NaN or Inf input,
// singular systems, divergence, too few samples) return errors wrapping
// ErrNaN, ErrSingular, ErrDiverged or ErrTooFew. All randomness comes from an
// injected *rand.Rand (math/rand/v2): the same seed gives bit-identical
// predictions.
//
// Evaluate / EvaluateWith score registered models (Names, Lookup, Specs) on
// random train/test splits; WriteResults formats the results as a table or
// JSON for the CLI.
package predictors
