//go:build !nbquery_light

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nbquery/nbquery/executor"
	"github.com/nbquery/nbquery/experiment"
)

// Whole runs of a (table) experiment as Slurm tasks: with --executor slurm
// and no --live, run i of algorithm A is the task
//
//	nbquery [global flags] experiment [the same flags] --runs 1 --run-index i --algos A --trace-file F
//
// which writes the run's trace (queried cells, costs, samples-to-optimum)
// to F in the spool; the coordinator rebuilds every run from its trace.

// addRunTaskFlags adds the task side's flags to the experiment command.
func addRunTaskFlags(f *pflag.FlagSet, x *executorFlags) {
	f.IntVar(&x.runIndex, "run-index", 0, "number the runs from this index (their seeds too): with --runs 1, one run of a larger experiment")
	f.StringVar(&x.traceFile, "trace-file", "", "write the trace of the (single) run to this file, atomically (the Slurm run tasks' output)")
}

// notForwarded are the experiment flags a run task does not inherit: the
// executor's own, and those it is given per task.
var notForwarded = map[string]bool{"executor": true, "trials": true, "slurm-config": true, "slurm-partition": true,
	"slurm-time": true, "slurm-cpus": true, "slurm-mem": true, "slurm-option": true, "spool": true,
	"slurm-max-attempts": true, "slurm-poll": true, "dry-run": true, "runs": true, "run-index": true, "algos": true,
	"out": true, "workers": true, "trace-file": true, "json": true, "jsonl": true, "quiet": true, "from": true}

// setupRuns points the experiment c at the executor: locally nothing
// changes; with slurm every run is a task. On the task side it sets the
// run index and the trace file.
func (x *executorFlags) setupRuns(opts *globalOptions, c *experiment.Config, w io.Writer) error {
	c.FirstRun = x.runIndex
	if x.kind == "slurm" && x.fs.Changed("from") {
		return usagef("--executor slurm repeats the flags of the experiment in each task; give them instead of --from")
	}
	if x.traceFile != "" {
		if c.Runs != 1 || len(c.Algos) != 1 {
			return usagef("--trace-file records one run: give --runs 1 and one algorithm")
		}
		path := x.traceFile
		c.Trace = func(tr experiment.RunTrace) {
			b, err := json.Marshal(tr)
			if err == nil {
				err = executor.WriteFile(path, append(b, '\n'))
			}
			if err != nil {
				fmt.Fprintf(opts.stderr, "nbquery: trace: %v\n", err)
			}
		}
	}
	if x.kind == "local" && !x.dryRun {
		return nil
	}
	ex, sl, err := x.build(opts, w)
	if err != nil {
		return err
	}
	if sl == nil {
		return nil
	}
	_, dry := ex.(dryRunExec)
	args := x.forwarded()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("executor: the nbquery binary: %w", err)
	}
	c.Runner = func(ctx context.Context, specs []experiment.RunSpec) ([]experiment.RunTrace, error) {
		units := make([]executor.Unit, len(specs))
		for i, sp := range specs {
			units[i] = runUnit(exe, args, sp)
		}
		if dry {
			if err := sl.DryRunUnits(w, units); err != nil {
				return nil, err
			}
			return nil, errDryRun
		}
		raw, err := sl.RunUnits(ctx, units)
		if err != nil {
			return nil, err
		}
		out := make([]experiment.RunTrace, len(raw))
		for i, b := range raw {
			json.Unmarshal(b, &out[i]) // checked by the unit
		}
		return out, nil
	}
	return nil
}

// forwarded returns the flags given to this command that a run task
// inherits, as --name=value, in a fixed order.
func (x *executorFlags) forwarded() []string {
	var out []string
	x.fs.VisitAll(func(f *pflag.Flag) {
		if !f.Changed || notForwarded[f.Name] {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+f.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	return out
}

// runUnit is the Slurm task of run spec: its ID digests the whole command
// line, so that a spool shared by different experiments never mixes them.
func runUnit(exe string, args []string, spec experiment.RunSpec) executor.Unit {
	argv := func(result string) []string {
		a := []string{exe, "-q", "experiment"}
		a = append(a, args...)
		a = append(a, "--runs", "1", "--run-index", strconv.Itoa(spec.Run), "--algos", spec.Algo, "--workers", "1")
		if result != "" {
			a = append(a, "--trace-file", result)
		}
		return a
	}
	h := sha256.Sum256([]byte(strings.Join(argv(""), "\x00")))
	return executor.Unit{ID: "run-" + hex.EncodeToString(h[:12]), Key: fmt.Sprintf("%s run %d", spec.Algo, spec.Run), Argv: argv,
		Check: func(b []byte) error {
			var tr experiment.RunTrace
			if err := json.Unmarshal(b, &tr); err != nil {
				return err
			}
			if tr.RunSpec != spec {
				return fmt.Errorf("trace of %s run %d, want %s run %d", tr.Algo, tr.Run, spec.Algo, spec.Run)
			}
			return nil
		}}
}
