// Package executor runs the trials of a live search (one trial = train one
// NB201 cell at one fidelity with one seed) somewhere: in this process on a
// bounded worker pool (Local) or as the tasks of Slurm job arrays (Slurm).
//
// Only the coordinating process writes the store: an executor returns each
// trial's result (an index.LiveResult) and the caller merges it, keyed by
// (space, cell, fidelity, seed), so that a duplicated or re-submitted trial
// changes nothing. The Slurm executor exchanges trials and results through
// a spool directory on a filesystem shared with the compute nodes; a
// coordinator that restarts with the same spool collects the results of
// tasks that finished (or were still running) while it was away instead of
// running them again.
package executor
