// Package weaknas implements WeakNAS (Wu et al., NeurIPS 2021, "Stronger NAS
// with Weaker Predictors") as the authors' released code runs it
// (VITA-Group/WeakNAS@86dc0f4 WeakNAS.py; see shared/notes/WEAKNAS.md §1):
// a schedule of init samples then k per iteration; each iteration a fresh
// predictor is fitted on all samples (labels z-scored over the whole space,
// population std) and predicts every architecture; the next k are drawn
// uniformly from the predicted top-N among unqueried cells (greedy fallback
// down the ranking), or, in the EI variant, taken greedily by the expected
// improvement of a 5-member ensemble (with the authors' threshold quirk or the
// corrected threshold). DefaultConfig adds adaptive steps, local moves
// around the best cell and tabu restarts to the same loop (the "weaknas"
// default of the experiment harness; the zero Config is the authors' loop,
// "weaknas-paper").
//
// What still differs from the authors' loop with their MLP
// (predictors.PaperMLPConfig, which computes what sklearn's MLPRegressor
// computes): the random streams (math/rand/v2 PCG, one stream per run,
// instead of numpy's MT19937 reseeded with seed + z at every iteration and
// sklearn drawing from numpy's global state), so a seed gives other initial
// samples, weights and batch orders than theirs; ties in the ranking are
// broken at random where numpy's argsort leaves them unspecified; the
// one-hot columns follow nbquery's op order (a fixed column permutation);
// and GEMM summation order (rounding only). The counting rule is the
// harness's (--count all charges every query, as their loop does).
//
// A WeakNAS value holds the whole-space encoding and z-scored labels of one
// experiment, computed once and shared read-only by concurrent runs; all
// per-run buffers live in the search.Session of the worker. Returned slices
// (Schedule, TopSchedule) are owned by the caller.
package weaknas
