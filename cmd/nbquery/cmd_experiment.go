package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/space/nb201"
	"github.com/nbquery/nbquery/train"
)

func init() {
	extraCommands = append(extraCommands, newExperimentCommand)
	usageSentinels = append(usageSentinels, experiment.ErrConfig)
}

type experimentOptions struct {
	cfg       experiment.Config
	live      bool
	liveTrain train.Config
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
	// Live search: where no table has the dataset, each queried cell is
	// trained (once; earlier live results in the store are reused) and
	// recorded in the store.
	lt := &e.liveTrain
	*lt = train.DefaultConfig()
	f.BoolVar(&e.live, "live", false, "train each queried nb201 cell instead of reading a table (random, re, ls, bananas)")
	f.StringVar(&lt.DataDir, "data", "", "live: data directory")
	f.IntVar(&lt.Epochs, "train-epochs", 1, "live: training epochs per cell (the fidelity, --hp of the recorded result)")
	f.IntVar(&lt.Batch, "train-batch", 64, "live: batch size")
	f.Float64Var(&lt.LR, "train-lr", 0.05, "live: learning rate")
	f.IntVar(&lt.C, "train-c", 8, "live: channels")
	f.IntVar(&lt.N, "train-n", 1, "live: cells per stage")
	f.IntVar(&lt.MaxTrain, "train-max", 0, "live: at most this many training images (0 = all)")
	f.Uint64Var(&lt.Seed, "train-seed", 0, "live: training seed (the same for every cell)")
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
	if e.live {
		if e.liveTrain.DataDir == "" {
			return usagef("--live needs --data")
		}
		lt := e.liveTrain
		lt.Dataset = c.Dataset
		c.Live = liveEvaluator(ctx, st, lt, c.Target, c.Report)
		c.Workers = 1 // training uses both cores already
	}
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

// liveEvaluator trains NB201 cell `code` with cfg (or reuses a recorded
// live result of the same cell, dataset, epochs and seed), records it, and
// answers with the target and report splits' accuracies and the training time.
func liveEvaluator(ctx context.Context, st *index.Store, cfg train.Config, target, report string) search.Evaluator {
	key := func(split string) string {
		switch split {
		case "valid", index.SetXValid:
			return "valid-accuracy"
		case "train":
			return "train-accuracy"
		}
		return "test-accuracy"
	}
	return func(code int) (float64, float64, float64, error) {
		arch := nb201.FromCode(code).String()
		var m map[string]float64
		if runs, err := st.Live(index.NB201, arch, cfg.Dataset, cfg.Epochs); err == nil {
			for _, r := range runs {
				if r.Seed == cfg.Seed {
					m = r.Metrics
				}
			}
		}
		if m == nil {
			c := cfg
			c.Arch = arch
			dir, err := os.MkdirTemp("", "nbquery-live-")
			if err != nil {
				return 0, 0, 0, err
			}
			defer os.RemoveAll(dir) // checkpoints of a finished run are not needed
			c.OutDir = dir
			res, err := train.Run(ctx, c, nil)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("train %s: %w", arch, err)
			}
			m = res.Metrics()
			if err := st.PutLive(index.LiveResult{Bench: index.NB201, Arch: arch, Dataset: cfg.Dataset, Epochs: cfg.Epochs,
				Seed: cfg.Seed, Metrics: m, Config: res.ConfigHash}); err != nil {
				return 0, 0, 0, err
			}
		}
		return m[key(target)], m[key(report)], m["train-all-time"], nil
	}
}
