// Command nbquery ingests NAS benchmark files into a local store and answers
// queries with the official APIs' semantics, runs predictor evaluations and
// samples-to-optimum search experiments, and trains NB201 cells live.
//
// This package holds wiring only: one file per command, each a
// newXCommand(opts) constructor whose RunE calls a plain runX function that
// writes to an injected io.Writer. Exit codes (see main.go): 0 success,
// 1 error, 2 usage, 3 not found / not recorded, 130 cancelled.
package main
