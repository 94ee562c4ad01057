//go:build nbquery_light

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"
)

// The light build (go build -tags nbquery_light, what make build installs
// as bin/nbquery) keeps the query path (query, top, stats, info, version)
// and leaves out the commands whose packages cost every process their
// linking and initialisation: train (gorgonia and its graph, protobuf and
// tensor packages), experiment (gonum/plot and its fonts), predictors
// (gonum), ingest and space (the parsers, bzip2, the NB101 enumerator),
// export (Parquet).
// Those commands run the full build, nbquery-full, installed beside it,
// with the same arguments and streams, so users keep one nbquery command.

func init() {
	for _, c := range []struct{ name, short string }{
		{"train", "Train an NB201 cell live (runs nbquery-full)"},
		{"experiment", "Run searches with the samples-to-optimum harness (runs nbquery-full)"},
		{"ingest", "Ingest benchmark files into the store (runs nbquery-full)"},
		{"predictors", "Evaluate accuracy predictors (runs nbquery-full)"},
		{"space", "Enumerate a search space (runs nbquery-full)"},
		{"export", "Write a benchmark as Parquet or Arrow (runs nbquery-full)"},
	} {
		extraCommands = append(extraCommands, func(opts *globalOptions) *cobra.Command {
			return &cobra.Command{
				Use:                c.name,
				Short:              c.short,
				DisableFlagParsing: true,
				RunE: func(cmd *cobra.Command, args []string) error {
					return runFull(cmd, opts)
				},
			}
		})
	}
}

// runFull runs nbquery-full (beside this executable, else on PATH) with this
// process's arguments, standard streams and exit status.
func runFull(cmd *cobra.Command, opts *globalOptions) error {
	path := ""
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "nbquery-full"); fileExists(p) {
			path = p
		}
	}
	if path == "" {
		p, err := exec.LookPath("nbquery-full")
		if err != nil {
			return fmt.Errorf("%s needs nbquery-full (the full build) beside nbquery or on PATH: build it with make build, or go build -o nbquery-full ./cmd/nbquery", cmd.Name())
		}
		path = p
	}
	c := exec.CommandContext(cmd.Context(), path, os.Args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = opts.stdin, opts.stdout, opts.stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return codedError{code: ee.ExitCode(), err: errSilent}
	}
	return err
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
