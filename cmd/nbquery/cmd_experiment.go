package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/index"
)

func init() { extraCommands = append(extraCommands, newExperimentCommand) }

type experimentOptions struct {
	cfg       experiment.Config
	algos     string
	topDecay  bool
	init      int
	k, topN   int
	keepIsoms bool
}

func newExperimentCommand(opts *globalOptions) *cobra.Command {
	var e experimentOptions
	cmd := &cobra.Command{
		Use:   "experiment --bench B --dataset D --target S --report S --hp H --algos A,... --runs N --budget Q --seed S --out DIR",
		Short: "Samples-to-optimum experiment: WeakNAS and the baselines over many seeded runs, with plots",
		Long: `Run every algorithm --runs times (run i seeded from (--seed, i), in parallel over
the cores, identical results whatever the core count) with --budget queries on
the target split, and count the queries until the global optimum of the target
is queried (strict) and the WeakNAS authors' looser count (queried or the
predictor's top-1). Prints the summary table (mean, median, std and 95% CI of
samples-to-optimum, fraction found, best-so-far values, relative improvement
over the average architecture) and writes CSV, JSON, PNG and SVG files to --out.

Algorithms: weaknas (uniform sampling in the predicted top-N), weaknas-ei (EI
over a 5-member ensemble), random, re (regularized evolution), ls (local
search), bananas. Hardware-aware: --constraint 'latency:pixel3<=5ms' or
--objective 'acc - 0.07*log(latency:pixel3)' on any device column.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExperiment(cmd.Context(), opts, e, opts.stdout)
		},
	}
	f := cmd.Flags()
	c := &e.cfg
	f.StringVar(&c.Bench, "bench", index.NB201, "benchmark")
	f.StringVar(&c.Dataset, "dataset", "", "dataset (cifar10-valid, cifar10, cifar100, ImageNet16-120)")
	f.StringVar(&c.Target, "target", "valid", "split searched on (valid, test, x-valid, ...)")
	f.StringVar(&c.Report, "report", "test", "split reported")
	f.StringVar(&c.HP, "hp", "", "training schedule in epochs (required)")
	f.StringVar(&e.algos, "algos", "weaknas,random,re,ls,bananas", "comma-separated algorithms")
	f.IntVar(&c.Runs, "runs", 100, "runs per algorithm")
	f.IntVar(&c.Budget, "budget", 1000, "queries per run")
	f.Uint64Var(&c.Seed, "seed", 1, "experiment seed")
	f.StringVar(&c.OutDir, "out", "", "output directory for CSV/JSON/PNG/SVG (none if empty)")
	f.StringVar(&c.Predictor, "predictor", "", "WeakNAS predictor (see nbquery predictors list; default: the fast weak predictor; mlp-paper = 4x1000 MLP)")
	f.StringVar(&c.Constraint, "constraint", "", "e.g. latency:pixel3<=5ms")
	f.StringVar(&c.Objective, "objective", "", "e.g. acc - 0.07*log(latency:pixel3)")
	f.BoolVar(&e.keepIsoms, "keep-isomorphs", false, "query isomorphic duplicates as distinct cells, as the papers did")
	f.IntVar(&c.Workers, "workers", 0, "parallel runs (default: all cores)")
	f.IntVar(&e.init, "init", 0, "WeakNAS initial samples (default 10)")
	f.IntVar(&e.k, "k", 0, "WeakNAS samples per iteration (default 10)")
	f.IntVar(&e.topN, "top", 0, "WeakNAS top-N pool (default 100)")
	f.BoolVar(&e.topDecay, "top-decay", false, "WeakNAS: shrink the top-N pool with the 0.96 schedule down to k")
	return cmd
}

func runExperiment(ctx context.Context, opts *globalOptions, e experimentOptions, w io.Writer) error {
	c := e.cfg
	if c.Dataset == "" {
		return usagef("--dataset is required")
	}
	if c.HP == "" {
		return usagef("--hp is required (the number of training epochs, e.g. 200)")
	}
	c.Algos = strings.Split(e.algos, ",")
	c.KeepIsomorphs = e.keepIsoms
	c.WeakNAS.Init, c.WeakNAS.K, c.WeakNAS.TopStart = e.init, e.k, e.topN
	if e.topDecay {
		c.WeakNAS.TopEnd = max(1, e.k)
		if c.WeakNAS.TopEnd == 1 {
			c.WeakNAS.TopEnd = 10
		}
	}
	st, err := index.Open(opts.storeDir())
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := experiment.Run(ctx, st, c, opts.progress())
	if err != nil {
		return err
	}
	if opts.json {
		return writeJSONValue(w, s)
	}
	if err := experiment.PrintSummary(w, s); err != nil {
		return err
	}
	if c.OutDir != "" {
		fmt.Fprintf(w, "wrote %s\n", c.OutDir)
	}
	return nil
}
