//go:build !nbquery_light

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb201"
	"github.com/nbquery/nbquery/train"
)

func init() { extraCommands = append(extraCommands, newTrainCommand) }

func newTrainCommand(opts *globalOptions) *cobra.Command {
	cfg := train.DefaultConfig()
	var noStore bool
	var trialConfig string
	var x trainExec
	var dt dartsTrain
	cmd := &cobra.Command{
		Use:   "train nb201|darts --arch STR|--genotype G --data DIR --dataset D --epochs E --out DIR",
		Short: "Train an NB201 cell network live (CPU, gorgonia) and store its result as a table row",
		Long: `Train an NB201 cell network (stem, N cells per stage, residual reduction blocks,
C channels; the benchmark's C=16, N=5 by default) on Fashion-MNIST / MNIST IDX
files, CIFAR-10 binary batches or an ImageNet-style folder. Checkpoints are
written atomically to --out every few minutes and on SIGINT/SIGTERM; --resume
continues from one (and refuses a checkpoint of another configuration). A
finished run is recorded in the store under (nb201, arch, dataset, epochs,
seed), so that 'nbquery query nb201 --arch STR --dataset D --hp E' answers from
it where no table has the cell.

train darts trains DARTS genotypes from scratch (the evaluation network of
quark0/darts model.py: C channels, --layers cells, auxiliary head, drop-path and
cutout as flags): each --genotype, the argmax and DARTS-PT genotypes of a search
(--from-search DIR) and --random K random genotypes, each for --seeds seeds,
then a table of mean ± std test accuracy and the relative improvement over the
random genotypes' mean (RI, Yang et al. 2020). Runs live in --out/LABEL-seedS,
resume where they stopped and are skipped once finished; each finished run is
recorded in the store under bench darts with the protocol in the dataset name.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if trialConfig != "" {
				return runTrialTask(cmd.Context(), opts, args[0], trialConfig, cfg.OutDir, &x, opts.stdout)
			}
			if args[0] == "darts" {
				return runTrainDARTS(cmd, opts, cfg, dt, noStore, opts.stdout)
			}
			if args[0] != index.NB201 {
				return usagef("train: nb201 cells and darts genotypes are trained live (got %q)", args[0])
			}
			return runTrain(cmd.Context(), opts, cfg, noStore, &x, opts.stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Arch, "arch", "", "NB201 arch string")
	f.StringVar(&cfg.DataDir, "data", "", "data directory")
	f.StringVar(&cfg.Dataset, "dataset", "fashion-mnist", "fashion-mnist, mnist, cifar10 or imagenet")
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "training epochs")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "batch size")
	f.Float64Var(&cfg.LR, "lr", cfg.LR, "peak learning rate")
	f.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "SGD momentum")
	f.BoolVar(&cfg.Nesterov, "nesterov", cfg.Nesterov, "Nesterov momentum")
	f.Float64Var(&cfg.WeightDecay, "weight-decay", cfg.WeightDecay, "weight decay")
	f.StringVar(&cfg.Optimizer, "optimizer", cfg.Optimizer, "sgd, adam or rmsprop")
	f.StringVar(&cfg.Schedule, "schedule", cfg.Schedule, "cosine, step or const")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of initialisation, shuffling and augmentation")
	f.IntVar(&cfg.C, "c", cfg.C, "channels of the first stage")
	f.IntVar(&cfg.N, "n", cfg.N, "cells per stage")
	f.IntVar(&cfg.MaxTrain, "max-train", 0, "use at most this many training images (0 = all)")
	f.Float64Var(&cfg.ValidFraction, "valid-fraction", cfg.ValidFraction, "share of the training images held out for validation")
	f.BoolVar(&cfg.SkipCorrupt, "skip-corrupt", false, "imagenet: skip and count undecodable images instead of failing")
	addRunFlags(f, "run directory (checkpoints, result.json)", runFlags{&cfg.OutDir, &cfg.Resume, &cfg.ResumeOrStart, &cfg.TimeLimit, &cfg.CheckpointEvery})
	f.BoolVar(&noStore, "no-store", false, "do not record the result in the store")
	f.StringVar(&trialConfig, "trial-config", "", "the whole training configuration as JSON (the Slurm tasks of live experiments)")
	f.MarkHidden("trial-config")
	addTrainExecFlags(f, &x)
	addTrainDARTSFlags(f, &dt)
	return cmd
}

// runFlags are the fields of a checkpointed run (train, search darts,
// search single-path): its directory and how it stops and resumes.
type runFlags struct {
	out                   *string
	resume, resumeOrStart *bool
	timeLimit, every      *time.Duration
}

// addRunFlags registers --out (described by outHelp), --resume,
// --resume-or-start, --time-limit and --checkpoint-every (default *r.every).
func addRunFlags(f *pflag.FlagSet, outHelp string, r runFlags) {
	f.StringVar(r.out, "out", "", outHelp)
	f.BoolVar(r.resume, "resume", false, "continue from the checkpoint in --out (an error if there is none; a damaged one falls back to the previous)")
	f.BoolVar(r.resumeOrStart, "resume-or-start", false, "like --resume, but start from step 0 when --out has no checkpoint")
	f.DurationVar(r.timeLimit, "time-limit", 0, "stop with a checkpoint after this long (e.g. 30m)")
	f.DurationVar(r.every, "checkpoint-every", *r.every, "checkpoint interval")
}

func runTrain(ctx context.Context, opts *globalOptions, cfg train.Config, noStore bool, x *trainExec, w io.Writer) error {
	c, err := nb201.Parse(cfg.Arch)
	if err != nil {
		return usageError{err}
	}
	cfg.Arch = c.String()
	if cfg.DataDir == "" {
		return usagef("--data is required")
	}
	if done, err := x.remote(ctx, opts, cfg, noStore, w); done {
		return err
	}
	res, err := train.Run(ctx, cfg, opts.progress())
	if err != nil {
		if errors.Is(err, train.ErrConfig) {
			return usageError{err}
		}
		return err
	}
	if err := x.writeResultFile(index.NB201, cfg, res); err != nil {
		return err
	}
	if !noStore && res.Completed {
		st, err := index.Open(opts.storeDir())
		if err != nil {
			return err
		}
		defer st.Close()
		lr := index.LiveResult{Bench: index.NB201, Arch: cfg.Arch, Dataset: cfg.Dataset, Epochs: cfg.Epochs,
			Seed: cfg.Seed, Metrics: res.Metrics(), Config: res.ConfigHash}
		if err := catalog.For(st).PutLive(lr); err != nil {
			return err
		}
	}
	if opts.structured() {
		return writeJSONValue(w, res)
	}
	fmt.Fprintf(w, "trained %s on %s for %d epochs (seed %d): train %.2f%%, valid %.2f%%, test %.2f%%, %.1f images/s\n",
		cfg.Arch, cfg.Dataset, cfg.Epochs, cfg.Seed, res.TrainAccuracy, res.ValidAccuracy, res.TestAccuracy, res.ImagesPerSec)
	if !noStore {
		fmt.Fprintf(w, "recorded in %s: nbquery query nb201 --arch '%s' --dataset %s --hp %d\n", opts.storeDir(), cfg.Arch, cfg.Dataset, cfg.Epochs)
	}
	return nil
}
