//go:build !nbquery_light

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/train"
)

func init() { searchSpaces = append(searchSpaces, newSearchDARTSCommand) }

func newSearchDARTSCommand(opts *globalOptions) *cobra.Command {
	cfg := train.DefaultSearchConfig()
	cmd := &cobra.Command{
		Use:   "darts --data DIR --out DIR [--select argmax|pt]",
		Short: "DARTS supernet search (first order) with argmax or DARTS-PT selection",
		Long: `Train a DARTS supernet (mixed ops over the 8 DARTS ops on the 14 edges of
every normal and reduction cell) with first-order bilevel optimisation: an Adam
step on the architecture weights with an α-data batch, then a clipped SGD step
on the weights with a w-data batch. Then select a genotype by DARTS' argmax, or
(--select pt) by DARTS-PT's perturbation-based projection with tuning
iterations between projections. Progress, the supernet accuracies behind every
decision and the genotypes go to stderr; OUT/search.json holds the result.
Defaults are the CPU proxy of TRAINER.md §9 (C=8, 5 cells, 16x16 inputs, 2k + 2k
images, 10 epochs). Checkpoints are written atomically to --out; --resume
continues a search or a selection mid-way.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSearchDARTS(cmd.Context(), opts, cfg, opts.stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", "", "data directory (Fashion-MNIST/MNIST IDX or CIFAR-10 binary)")
	f.StringVar(&cfg.Dataset, "dataset", cfg.Dataset, "fashion-mnist, mnist or cifar10")
	f.IntVar(&cfg.C, "c", cfg.C, "supernet channels")
	f.IntVar(&cfg.Layers, "layers", cfg.Layers, "supernet cells (reductions at layers/3 and 2·layers/3)")
	f.IntVar(&cfg.Resize, "size", cfg.Resize, "input side after zero-padding and box-averaging (0 = native)")
	f.IntVar(&cfg.MaxTrain, "max-train", cfg.MaxTrain, "w-data images (0 = half the training set)")
	f.IntVar(&cfg.MaxValid, "max-valid", cfg.MaxValid, "α-data images (0 = the other half)")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "batch size")
	f.IntVar(&cfg.EvalBatch, "eval-batch", cfg.EvalBatch, "batch size of supernet accuracy passes")
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "search epochs")
	f.Float64Var(&cfg.LR, "lr", cfg.LR, "weight learning rate (cosine to --min-lr)")
	f.Float64Var(&cfg.MinLR, "min-lr", cfg.MinLR, "final weight learning rate")
	f.Float64Var(&cfg.ArchLR, "arch-lr", cfg.ArchLR, "architecture (α) Adam learning rate")
	f.Float64Var(&cfg.ClipNorm, "clip", cfg.ClipNorm, "global gradient-norm clip of the weight step")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of data subsets, initialisation, order and projections")
	f.StringVar(&cfg.Select, "select", cfg.Select, "argmax or pt (DARTS-PT)")
	f.IntVar(&cfg.ProjInterval, "proj-interval", cfg.ProjInterval, "pt: tuning iterations after each projection round")
	f.Float64Var(&cfg.TuneLR, "tune-lr", cfg.TuneLR, "pt: weight learning rate while tuning")
	f.IntVar(&cfg.ProjImages, "proj-images", cfg.ProjImages, "pt: images of the projection set (from α-data)")
	addRunFlags(f, "run directory (checkpoints, search.json)", runFlags{&cfg.OutDir, &cfg.Resume, &cfg.ResumeOrStart, &cfg.TimeLimit, &cfg.CheckpointEvery})
	f.IntVar(&cfg.GCPercent, "gc-percent", 0, "Go GC target while searching (0 = process default)")
	return cmd
}

func runSearchDARTS(ctx context.Context, opts *globalOptions, cfg train.SearchConfig, w io.Writer) error {
	if cfg.DataDir == "" || cfg.OutDir == "" {
		return usagef("search darts: --data and --out are required")
	}
	var log io.Writer = opts.stderr
	if opts.quiet {
		log = nil
	}
	res, err := train.Search(ctx, cfg, log)
	if err != nil {
		if errors.Is(err, train.ErrConfig) {
			return usageError{err}
		}
		return err
	}
	if opts.structured() {
		return writeJSONValue(w, res)
	}
	fmt.Fprintf(w, "argmax: %s\n", res.Argmax)
	if res.PT != "" {
		fmt.Fprintf(w, "pt: %s\n", res.PT)
	}
	fmt.Fprintf(w, "supernet accuracy per epoch (%%): %.2f; %d steps, %.0fs; result in %s/search.json\n", res.EpochAccuracy, res.Steps, res.SearchTime, cfg.OutDir)
	return nil
}
