// Package nbquery is the root of the nbquery module: a query engine, surrogate
// search harness and live trainer for neural-architecture-search benchmarks.
//
// The packages depend on each other in one direction only:
//
//	cmd/nbquery -> {experiment, weaknas, search, train} -> predictors -> index <- ingest
//
// with the search-space definitions in space/ shared by all. deps_test.go
// enforces the order.
package nbquery
