//go:build !nbquery_light

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/executor"
	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/space/nb201"
	"github.com/nbquery/nbquery/train"
)

// executorFlags select where the trials of `experiment --live` and `train`
// run: in this process (local) or as Slurm job arrays (slurm).
type executorFlags struct {
	kind       string
	trials     int
	configFile string
	slurm      executor.SlurmConfig
	dryRun     bool
	fs         *pflag.FlagSet // the command's flags (forwarded to run tasks)
	runIndex   int            // experiment task side: run only this run
	traceFile  string         // experiment task side: write the run's trace here
}

func addExecutorFlags(f *pflag.FlagSet, x *executorFlags) {
	x.fs = f
	f.StringVar(&x.kind, "executor", "local", "where trials run: local (this process) or slurm (job arrays; see README)")
	f.IntVar(&x.trials, "trials", 1, "local: trials trained at once")
	f.StringVar(&x.configFile, "slurm-config", "", "slurm: JSON file with partition, time, cpus, mem, options, spool, max_attempts, ... (flags override it)")
	s := &x.slurm
	f.StringVar(&s.Partition, "slurm-partition", "", "slurm: partition")
	f.StringVar(&s.Time, "slurm-time", "", "slurm: time limit per trial (sbatch --time, e.g. 30 or 2:00:00)")
	f.IntVar(&s.CPUs, "slurm-cpus", 0, "slurm: CPUs per trial")
	f.StringVar(&s.Mem, "slurm-mem", "", "slurm: memory per trial (e.g. 4G)")
	f.StringArrayVar(&s.Options, "slurm-option", nil, "slurm: a further sbatch option, e.g. --account=lab (repeatable)")
	f.StringVar(&s.Spool, "spool", "", "slurm: spool directory on a filesystem shared with the nodes (default STORE/spool)")
	f.IntVar(&s.MaxAttempts, "slurm-max-attempts", 0, "slurm: submissions of one trial before it is reported failed (default 3)")
	f.StringVar(&s.Poll, "slurm-poll", "", "slurm: squeue interval (default 2s)")
	f.BoolVar(&x.dryRun, "dry-run", false, "slurm: print the job script of the first array and submit nothing")
}

// errDryRun stops a search after the first job script was printed.
var errDryRun = errors.New("dry run")

// build returns the executor and the parallelism the search should use.
func (x *executorFlags) build(opts *globalOptions, w io.Writer) (executor.Executor, *executor.Slurm, error) {
	switch x.kind {
	case "local":
		if x.dryRun {
			return nil, nil, usagef("--dry-run prints a Slurm job script: use it with --executor slurm")
		}
		if x.trials < 1 {
			return nil, nil, usagef("--trials must be at least 1")
		}
		return &executor.Local{Workers: x.trials}, nil, nil
	case "slurm":
	default:
		return nil, nil, usagef("--executor %q: want local or slurm", x.kind)
	}
	var c executor.SlurmConfig
	if x.configFile != "" {
		var err error
		if c, err = executor.LoadSlurmConfig(x.configFile); err != nil {
			return nil, nil, usageError{err}
		}
	}
	c = c.Merge(x.slurm)
	if c.Spool == "" {
		c.Spool = filepath.Join(opts.storeDir(), "spool")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("executor: the nbquery binary: %w", err)
	}
	s := &executor.Slurm{Config: c, Command: func(t executor.Trial, result string) []string { return trainArgs(exe, t, result) }}
	if !opts.quiet {
		s.Log = opts.stderr
	}
	if x.dryRun {
		return dryRunExec{s, w}, s, nil
	}
	return s, s, nil
}

// dryRunExec prints the job script of its first batch and stops.
type dryRunExec struct {
	s *executor.Slurm
	w io.Writer
}

func (d dryRunExec) Run(_ context.Context, trials []executor.Trial) ([]index.LiveResult, error) {
	if err := d.s.DryRun(d.w, trials); err != nil {
		return nil, err
	}
	return nil, errDryRun
}

// trainArgs is the command line of the Slurm task of trial t: this binary's
// train command with every setting of t spelled out (the coordinator checks
// the configuration hash of the result against t's), writing its result to
// the spool instead of the store. The job script appends --out.
func trainArgs(exe string, t executor.Trial, result string) []string {
	// The whole configuration travels as JSON, so that every setting of
	// every space (DARTS layers, input size, MobileNetV2 macro, ...) reaches
	// the task and the result's config hash matches the trial's.
	c := t.Train
	c.OutDir, c.Resume, c.ResumeOrStart = "", false, false
	b, _ := json.Marshal(c)
	return []string{exe, "-q", "train", t.Bench, "--trial-config", string(b), "--no-store", "--result-file", result}
}

// decodeTrialConfig reads trainArgs' --trial-config.
func decodeTrialConfig(s string) (train.Config, error) {
	var cfg train.Config
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, usagef("--trial-config: %v", err)
	}
	return cfg, nil
}

// runTrialTask is the Slurm task's side of trainArgs: it trains the
// configuration cfgJSON of a trial of bench (checkpoints in out) and writes
// the result's store record to x.resultFile.
func runTrialTask(ctx context.Context, opts *globalOptions, bench, cfgJSON, out string, x *trainExec, w io.Writer) error {
	cfg, err := decodeTrialConfig(cfgJSON)
	if err != nil {
		return err
	}
	cfg.OutDir = out
	res, err := train.Run(ctx, cfg, opts.progress())
	if err != nil {
		if errors.Is(err, train.ErrConfig) {
			return usageError{err}
		}
		return err
	}
	if err := x.writeResultFile(bench, cfg, res); err != nil {
		return err
	}
	if opts.structured() {
		return writeJSONValue(w, res)
	}
	fmt.Fprintf(w, "trained %s %s on %s for %d epochs (seed %d): valid %.2f%%, test %.2f%%\n",
		bench, cfg.Arch, cfg.Dataset, cfg.Epochs, cfg.Seed, res.ValidAccuracy, res.TestAccuracy)
	return nil
}

// liveStore merges trial results into the store: only this (coordinating)
// process writes it, and a result whose (space, cell, dataset, fidelity,
// seed) is already recorded changes nothing.
type liveStore struct {
	mu sync.Mutex
	st *index.Store
}

func (l *liveStore) lookup(r index.LiveResult) (map[string]float64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	runs, err := catalog.For(l.st).Live(r.Bench, r.Arch, r.Dataset, r.Epochs)
	if errors.Is(err, index.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, x := range runs {
		if x.Seed == r.Seed {
			return x.Metrics, nil
		}
	}
	return nil, nil
}

// merge records r unless its key is recorded; it reports whether it wrote.
func (l *liveStore) merge(r index.LiveResult) (bool, error) {
	if m, err := l.lookup(r); err != nil || m != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return true, catalog.For(l.st).PutLive(r)
}

// sweep merges the spool's results of configuration base (any cell) that
// the store does not have: the trials that finished while a killed
// coordinator was away.
func (l *liveStore) sweep(spool string, base train.Config) (int, error) {
	rs, err := (executor.Spool{Dir: spool}).Results()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rs {
		c := base
		c.Arch = r.Arch
		if r.Bench != index.NB201 || r.Config != c.Hash() || r.Dataset != c.Dataset || r.Epochs != c.Epochs || r.Seed != c.Seed {
			continue
		}
		ok, err := l.merge(r)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// setupLive points the live search of c at the executor: each queried cell
// not yet in the store is one trial; concurrent runs' trials are batched.
// archOf names the benchmark and architecture of a queried index (nil:
// NB201 cells numbered by their nb201 code).
func (x *executorFlags) setupLive(ctx context.Context, opts *globalOptions, st *index.Store, lt train.Config, c *experiment.Config, archOf func(int) (string, string), w io.Writer) error {
	if abs, err := filepath.Abs(lt.DataDir); err == nil {
		lt.DataDir = abs // the tasks run elsewhere; the same path keeps the config hash
	}
	ex, sl, err := x.build(opts, w)
	if err != nil {
		return err
	}
	c.FirstRun = x.runIndex
	ls := &liveStore{st: st}
	b := &executor.Batcher{Exec: ex}
	c.Workers = 1 // training uses both cores already
	if x.kind == "local" {
		c.Workers = x.trials
	} else {
		b.Linger = 300 * time.Millisecond
		c.Workers = max(1, c.Runs*len(c.Algos))
		if !x.dryRun {
			n, err := ls.sweep(sl.Config.Spool, lt)
			if err != nil {
				return err
			}
			if n > 0 && !opts.quiet {
				fmt.Fprintf(opts.stderr, "slurm: merged %d result(s) that were in the spool but not in the store\n", n)
			}
		}
	}
	if archOf == nil {
		archOf = func(code int) (string, string) { return index.NB201, nb201.FromCode(code).String() }
	}
	c.Live = liveEvaluator(ctx, ls, b, lt, c.Target, c.Report, archOf)
	return nil
}

// liveEvaluator answers a query of NB201 cell `code` from the store's live
// result of the same cell, dataset, epochs and seed, or runs the trial and
// records it, with the target and report splits' accuracies and the
// training time.
func liveEvaluator(ctx context.Context, ls *liveStore, b *executor.Batcher, cfg train.Config, target, report string, archOf func(int) (string, string)) search.Evaluator {
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
		bench, arch := archOf(code)
		t := executor.Trial{Bench: bench, Train: cfg}
		t.Train.Arch = arch
		want := index.LiveResult{Bench: t.Bench, Arch: t.Train.Arch, Dataset: cfg.Dataset, Epochs: cfg.Epochs, Seed: cfg.Seed}
		m, err := ls.lookup(want)
		if err != nil {
			return 0, 0, 0, err
		}
		if m == nil {
			r, err := b.Do(ctx, t)
			if err != nil {
				return 0, 0, 0, err
			}
			if _, err := ls.merge(r); err != nil {
				return 0, 0, 0, err
			}
			m = r.Metrics
		}
		return m[key(target)], m[key(report)], m["train-all-time"], nil
	}
}

// trainExec is the train command's part: --result-file for the Slurm task
// that trains one trial, and --executor to send `train` itself to Slurm.
type trainExec struct {
	executorFlags
	resultFile string
}

func addTrainExecFlags(f *pflag.FlagSet, x *trainExec) {
	addExecutorFlags(f, &x.executorFlags)
	f.StringVar(&x.resultFile, "result-file", "", "also write the finished run's store record (JSON) to this file, atomically (the Slurm tasks' output)")
}

// remote runs the training of cfg through the Slurm executor (or prints its
// job script) and records the result; done is false for --executor local.
func (x *trainExec) remote(ctx context.Context, opts *globalOptions, cfg train.Config, noStore bool, w io.Writer) (done bool, err error) {
	if x.kind == "local" && !x.dryRun {
		return false, nil
	}
	if abs, err := filepath.Abs(cfg.DataDir); err == nil {
		cfg.DataDir = abs
	}
	ex, _, err := x.build(opts, w)
	if err != nil {
		return true, err
	}
	t := executor.Trial{Bench: index.NB201, Train: cfg}
	t.Train.OutDir = ""
	rs, err := ex.Run(ctx, []executor.Trial{t})
	if errors.Is(err, errDryRun) {
		return true, nil
	}
	if err != nil {
		return true, err
	}
	r := rs[0]
	if !noStore {
		st, err := index.Open(opts.storeDir())
		if err != nil {
			return true, err
		}
		defer st.Close()
		if _, err := (&liveStore{st: st}).merge(r); err != nil {
			return true, err
		}
	}
	if opts.json {
		return true, writeJSONValue(w, r)
	}
	fmt.Fprintf(w, "trained %s on %s for %d epochs (seed %d) as a Slurm task: valid %.2f%%, test %.2f%%\n",
		r.Arch, r.Dataset, r.Epochs, r.Seed, r.Metrics["valid-accuracy"], r.Metrics["test-accuracy"])
	return true, nil
}

// writeResultFile is the task side of --result-file.
func (x *trainExec) writeResultFile(bench string, cfg train.Config, res train.Result) error {
	if x.resultFile == "" || !res.Completed {
		return nil
	}
	return executor.WriteResult(x.resultFile, executor.ResultOf(bench, cfg, res))
}
