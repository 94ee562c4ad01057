//go:build !nbquery_light

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/train"
)

func init() {
	extraCommands = append(extraCommands, newExperimentCommand)
	usageSentinels = append(usageSentinels, experiment.ErrConfig)
}

type experimentOptions struct {
	cfg       experiment.Config
	live      bool
	liveDARTS liveDARTS
	liveMBV2  liveMBV2
	liveTrain train.Config
	algos     string
	topDecay  bool
	init      int
	k, topN   int
	keepIsoms bool
	count     string
	lsRestart string
	from      string
	changed   func(name string) bool // a flag was given on the command line
	exec      executorFlags
}

// countHelp explains --count and why "all" is the default.
const countHelp = `counting rule: which queries cost one sample of the budget.
  all       every query the algorithm makes, a repeat of a queried cell included.
            The default, because it is how the field's published samples-to-optimum
            figures were counted: the search loops of NAS-Bench-201 (R-EA, random),
            naszilla (RE, local search, BANANAS) and WeakNAS charge every query they
            make and never skip a repeat or an isomorphic duplicate.
  distinct  a repeated cell is answered free from the run's history.
  isomorph  a cell isomorphic to a queried one is free too, and any isomorph of the
            optimum counts as the optimum (nbquery's rule before this flag existed).`

func newExperimentCommand(opts *globalOptions) *cobra.Command {
	var e experimentOptions
	cmd := &cobra.Command{
		Use:   "experiment --bench B --dataset D --target S --report S --hp H --algos A,... --runs N --budget Q --seed S --out DIR",
		Short: "Samples-to-optimum experiment: WeakNAS and the baselines over many seeded runs, with plots",
		Long: `Run every algorithm --runs times (run i seeded from (--seed, i), in parallel over
the cores, identical results whatever the core count) with --budget queries on
the target split, and count the queries until the global optimum of the target
is queried (strict) and the WeakNAS authors' looser count (queried or the
predictor's top-1), under the counting rule --count (default all; see below).

Runs that do not find the optimum within the budget are censored at the
budget, not dropped. The table gives per algorithm: found (fraction of runs
that found the optimum, Wilson 95% interval), the Kaplan-Meier median of
samples-to-optimum with its 95% interval (">budget" where fewer than half of
the runs found it), the restricted mean (mean of min(samples, budget)) with its
interval, the final regret (optimum - best target found) and RI (relative
improvement of the final pick over the average architecture). --out writes
summary.json/csv (every setting with its real value, the counting rule, the
seeds), runs.json/csv, curves.csv, km.csv and plots (PNG and SVG).
--from DIR/summary.json repeats an experiment from its summary alone (only
--out and --workers may be given with it).

Algorithms: weaknas (the default: weak predictors narrowing to the predicted
top-N, small adaptive steps, local moves around the best cell, tabu restarts),
weaknas-paper (the authors' loop: k uniform in the predicted top-N; with
--predictor mlp-paper --keep-isomorphs it is their setting), weaknas-ei (EI
over a 5-member ensemble), random, re (regularized evolution), ls (local
search, best improvement), ls-first (first improvement), bananas.
Hardware-aware: --constraint 'latency:pixel3<=5ms' or
--objective 'acc - 0.07*log(latency:pixel3)' on any device column.

--count, the ` + countHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e.changed = cmd.Flags().Changed
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
	f.StringVar(&e.count, "count", "all", "counting rule: all, distinct or isomorph (see the help)")
	f.BoolVar(&e.keepIsoms, "keep-isomorphs", false, "same as --count distinct")
	_ = f.MarkDeprecated("keep-isomorphs", "use --count distinct (or all, the default)")
	f.StringVar(&e.from, "from", "", "repeat the experiment recorded in this summary.json")
	f.IntVar(&c.Workers, "workers", 0, "parallel runs (default: all cores)")
	f.BoolVar(&c.StopAtOptimum, "stop-at-optimum", false, "end each run when it queries the optimum (samples-to-optimum unchanged; saves the rest of the budget)")
	f.IntVar(&c.RE.Population, "re-population", 30, "RE: population size")
	f.IntVar(&c.RE.Tournament, "re-tournament", 10, "RE: tournament size")
	f.BoolVar(&c.RE.WithReplacement, "re-with-replacement", false, "RE: draw the tournament with replacement (NAS-Bench-201's R-EA; naszilla draws without)")
	f.StringVar(&c.RE.Mutation, "re-mutation", search.MutateOneEdge, "RE: one-edge (query the mutated child, seen or not) or unseen (retry until the child is new)")
	f.IntVar(&c.LS.Neighbours, "ls-neighbours", 0, "LS: neighbours examined per step, in random order (0 = the whole one-mutation neighbourhood)")
	f.StringVar(&e.lsRestart, "ls-restart", "random", "LS: at a local optimum, random (restart from a random unseen cell) or none (end the run)")
	f.IntVar(&c.Bananas.Members, "bananas-ensemble", 5, "BANANAS: ensemble size")
	f.StringVar(&c.Bananas.Encoding, "bananas-encoding", "path", "BANANAS: path (the paper's path encoding) or onehot")
	f.IntVar(&c.Bananas.Candidates, "bananas-candidates", 100, "BANANAS: candidates (mutations of the best cells) per iteration")
	f.IntVar(&c.Bananas.Init, "bananas-init", 10, "BANANAS: initial random cells")
	f.IntVar(&c.Bananas.K, "bananas-k", 10, "BANANAS: queries per iteration")
	f.IntVar(&c.Bananas.Parents, "bananas-parents", 10, "BANANAS: best cells mutated into candidates")
	f.IntVar(&e.init, "init", 0, "WeakNAS initial samples (default 10)")
	f.IntVar(&e.k, "k", 0, "WeakNAS samples per iteration (default: weaknas 5, growing with 5 % of the queried cells; weaknas-paper 10)")
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
	addLiveDARTSFlags(f, &e.liveDARTS, lt)
	addLiveMBV2Flags(f, &e.liveMBV2)
	f.IntVar(&lt.MaxTrain, "train-max", 0, "live: at most this many training images (0 = all)")
	f.Uint64Var(&lt.Seed, "train-seed", 0, "live: training seed (the same for every cell)")
	addExecutorFlags(f, &e.exec)
	addRunTaskFlags(f, &e.exec)
	return cmd
}

// experimentConfig builds the configuration from the flags, or from the
// summary named by --from.
func experimentConfig(e experimentOptions) (experiment.Config, error) {
	if e.from != "" {
		return configFrom(e)
	}
	c := e.cfg
	if c.Dataset == "" {
		return c, usagef("--dataset is required")
	}
	if c.HP == "" {
		return c, usagef("--hp is required (the number of training epochs, e.g. 200)")
	}
	c.Algos = strings.Split(e.algos, ",")
	var err error
	if c.Count, err = search.ParseCount(e.count); err != nil {
		return c, usagef("--count %q: want all, distinct or isomorph", e.count)
	}
	if e.keepIsoms {
		c.Count = search.CountDistinct
	}
	switch e.lsRestart {
	case "random":
	case "none":
		c.LS.NoRestart = true
	default:
		return c, usagef("--ls-restart %q: want random or none", e.lsRestart)
	}
	c.WeakNAS.Init, c.WeakNAS.K, c.WeakNAS.TopStart = e.init, e.k, e.topN
	if e.topDecay {
		c.WeakNAS.TopEnd = max(1, e.k)
		if c.WeakNAS.TopEnd == 1 {
			c.WeakNAS.TopEnd = 10
		}
	}
	return c, nil
}

// configFrom reads the configuration recorded in a summary.json; only
// --out and --workers may change it.
func configFrom(e experimentOptions) (experiment.Config, error) {
	var bad []string
	for _, name := range []string{"bench", "dataset", "target", "report", "hp", "algos", "runs", "budget", "seed", "predictor",
		"constraint", "objective", "count", "keep-isomorphs", "stop-at-optimum", "init", "k", "top", "top-decay", "live",
		"re-population", "re-tournament", "re-with-replacement", "re-mutation", "ls-neighbours", "ls-restart",
		"bananas-ensemble", "bananas-encoding", "bananas-candidates", "bananas-init", "bananas-k", "bananas-parents"} {
		if e.changed != nil && e.changed(name) {
			bad = append(bad, "--"+name)
		}
	}
	if len(bad) > 0 {
		return experiment.Config{}, usagef("--from repeats a recorded experiment; %s cannot be given with it (only --out and --workers)", strings.Join(bad, ", "))
	}
	c, err := experiment.ReadConfig(e.from)
	if err != nil {
		return c, err
	}
	c.OutDir = e.cfg.OutDir
	c.Workers = e.cfg.Workers
	return c, nil
}

func runExperiment(ctx context.Context, opts *globalOptions, e experimentOptions, w io.Writer) error {
	c, err := experimentConfig(e)
	if err != nil {
		return err
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
		archOf, err := e.liveSpace(&c, &lt)
		if err != nil {
			return err
		}
		if err := e.exec.setupLive(ctx, opts, st, lt, &c, archOf, w); err != nil {
			return err
		}
		if e.liveMBV2.wrap != nil {
			c.Live = e.liveMBV2.wrap(c.Live)
		}
	} else if err := e.exec.setupRuns(opts, &c, w); err != nil {
		return err
	}
	s, err := experiment.Run(ctx, st, c, opts.progress())
	if errors.Is(err, errDryRun) {
		return nil
	}
	if err != nil {
		return err
	}
	if opts.structured() {
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
