// Package shared locates the real benchmark data and notes that live beside
// the repository (../shared/data, ../shared/notes) for tests and benchmarks.
// NBQUERY_DATA overrides the data directory.
package shared
