// Package experiment is the samples-to-optimum harness: it runs search
// algorithms (WeakNAS, its EI variant, random search, regularized evolution,
// local search, BANANAS) many times on a benchmark of an nbquery store,
// counts the queries each run needs to reach the global optimum of the target
// metric under an explicit counting rule (Config.Count; strictly, and with
// WeakNAS's looser rule that also counts the predictor's top-1), records
// best-so-far curves, and writes a summary as CSV, JSON, PNG and SVG.
//
// Runs that did not reach the optimum within the budget are right-censored,
// never dropped: Stat gives the found fraction with its Wilson interval,
// the Kaplan–Meier quartiles of samples-to-optimum with Brookmeyer–Crowley
// intervals (KaplanMeier) and the restricted mean up to the budget; the
// mean over found runs only is kept as a secondary statistic. Statistics
// that do not exist are NaN in Go and null in JSON (Float). Every setting
// is recorded with its real value in Summary.Config, so that ReadConfig can
// repeat an experiment from its summary.json.
//
// Run is the entry point. Runs execute in parallel on Config.Workers
// goroutines (default GOMAXPROCS); run i of every algorithm draws from
// RunRNG(Config.Seed, i) = rand.NewPCG(Config.Seed, i), so results do not depend on the number of
// workers. The whole-space label vectors and encodings are computed once per
// experiment and shared read-only; each worker owns its search.Session and
// its prediction buffers. The returned Summary is owned by the caller.
//
// NAS-Bench-101 (Config.Bench "nb101") runs over the rows of the store's
// NB101 table (the full benchmark or a partial one, search.NB101): splits
// valid, test and train are api.py's final_* accuracies at Config.HP epochs
// (default 108), averaged over the recorded repeats; the simulated cost is
// final_training_time where recorded; WeakNAS defaults to the paper's 100
// initial samples. Latency constraints and objectives are NB201-only.
//
// Hardware-aware searches take a Constraint ("latency:pixel3<=5ms": cells
// that violate it are never sampled and cannot be the optimum) or an
// Objective ("acc - 0.07*log(latency:pixel3)"), and then write the Pareto
// fronts (accuracy vs latency) of the whole space and of what each algorithm
// found.
package experiment
