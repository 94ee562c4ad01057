//go:build nbquery_light

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/index"
)

// The light build (go build -tags nbquery_light, what make build installs
// as bin/nbquery) keeps the query path (query, top, stats, info, version)
// and leaves out the commands whose packages cost every process their
// linking and initialisation: train (gorgonia and its graph, protobuf and
// tensor packages), experiment (gonum/plot and its fonts), predictors
// (gonum), ingest and space (the parsers, bzip2, the NB101 enumerator),
// export (Parquet), serve (net/http) and info (the catalogue: Badger, its
// protobuf, compression and telemetry packages). A query the tables cannot
// answer goes to nbquery-full as well when the store has a catalogue,
// which may hold live-training results of the architecture.
// Those commands run the full build, nbquery-full, installed beside it,
// with the same arguments and streams, so users keep one nbquery command.

func init() {
	for _, c := range []struct{ name, short string }{
		{"train", "Train an NB201 cell live (runs nbquery-full)"},
		{"search", "Search a space live by supernet training (runs nbquery-full)"},
		{"experiment", "Run searches with the samples-to-optimum harness (runs nbquery-full)"},
		{"ingest", "Ingest benchmark files into the store (runs nbquery-full)"},
		{"predictors", "Evaluate accuracy predictors (runs nbquery-full)"},
		{"space", "Enumerate a search space (runs nbquery-full)"},
		{"export", "Write a benchmark as Parquet or Arrow (runs nbquery-full)"},
		{"serve", "Answer queries over HTTP (runs nbquery-full)"},
		{"info", "What the store holds: benchmarks, sources, columns (runs nbquery-full)"},
		{"latency", "Measure a Single-Path NAS latency table on this machine (runs nbquery-full)"},
	} {
		extraCommands = append(extraCommands, func(opts *globalOptions) *cobra.Command {
			return &cobra.Command{
				Use:                c.name,
				Short:              c.short,
				DisableFlagParsing: true,
				RunE: func(cmd *cobra.Command, args []string) error {
					return runFull(cmd.Context(), cmd.Name(), opts)
				},
			}
		})
	}
}

// runFull runs nbquery-full (beside this executable, else on PATH) with
// this process's arguments, standard streams and exit status. With the
// process's own streams it replaces this process (execve), so that signals
// reach nbquery-full directly (serve's graceful shutdown, ingest's clean
// abort) and no second process waits; it returns only on failure.
func runFull(ctx context.Context, name string, opts *globalOptions) error {
	path := ""
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "nbquery-full"); fileExists(p) {
			path = p
		}
	}
	if path == "" {
		p, err := exec.LookPath("nbquery-full")
		if err != nil {
			return fmt.Errorf("%s needs nbquery-full (the full build) beside nbquery or on PATH: build it with make build, or go build -o nbquery-full ./cmd/nbquery", name)
		}
		path = p
	}
	if opts.stdin == os.Stdin && opts.stdout == os.Stdout && opts.stderr == os.Stderr {
		argv := append([]string{path}, os.Args[1:]...)
		return fmt.Errorf("%s: exec %s: %w", name, path, syscall.Exec(path, argv, os.Environ()))
	}
	c := exec.CommandContext(ctx, path, os.Args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = opts.stdin, opts.stdout, opts.stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return codedError{code: ee.ExitCode(), err: errSilent}
	}
	return err
}

// liveElsewhere hands a query the tables cannot answer to nbquery-full,
// which reads the live-training results in the catalogue, when the store
// has one; the answer, or its error, is final.
func liveElsewhere(ctx context.Context, st *index.Store, opts *globalOptions) (bool, error) {
	if !st.HasCatalog() {
		return false, nil
	}
	return true, runFull(ctx, "query", opts)
}

// liveRuns: without a catalogue there are no live results.
func liveRuns(st *index.Store, bench, arch, dataset string, epochs int) ([]index.LiveResult, error) {
	return nil, fmt.Errorf("%w: no live result for %s %s on %s (the store %s has no catalogue)", index.ErrNotFound, bench, arch, dataset, st.Dir())
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
