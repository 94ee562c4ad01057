// Package search runs architecture searches against a tabular benchmark.
//
// A Space describes the architectures of a benchmark by their benchmark
// index 0..Len()-1 (sampling, one-edge/one-op mutation, neighbours, encoding
// into a caller row, isomorphism class). NB201 is provided by NewNB201;
// NB101 plugs in by implementing Space over its 423,624 cells.
//
// An Oracle holds the whole-space label vectors of one experiment (the
// target metric that the search maximises, the report metric, the simulated
// training cost and the constraint mask), precomputed once from the index and
// shared read-only by every run. A Session is one run's mutable state: the
// query budget, the set of queried cells, the history and the
// samples-to-optimum counters. Sessions are owned by one goroutine; reuse one
// per worker with Reset, so that its buffers (Session.Buffer) are allocated
// once per worker.
//
// Algorithms (Random, Evolution, LocalSearch, Bananas, and weaknas.WeakNAS)
// implement Algorithm. They draw all randomness from the injected
// *rand.Rand (math/rand/v2): the same seed gives the same run. A Session
// counts samples under a rule (Count): CountAll charges every query, a
// repeat included, as the papers' loops do; CountDistinct answers a repeat
// for free; CountIsomorph also answers a cell isomorphic to a queried one
// (with the queried twin's value) and treats isomorphs of the optimum as
// the optimum. Regularized evolution's one-edge mutation may propose a seen
// cell; the other algorithms skip cells they have seen.
//
// Slices returned by Space, Oracle and Session methods alias internal state
// and must not be modified; they stay valid until the next Reset.
package search
