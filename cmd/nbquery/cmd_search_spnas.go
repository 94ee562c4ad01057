//go:build !nbquery_light

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/mbv2"
	"github.com/nbquery/nbquery/train"
)

func init() { searchSpaces = append(searchSpaces, newSearchSinglePathCommand) }

// spnasFlags are the network and data flags shared by search single-path and
// latency measure.
type spnasFlags struct {
	width      float64
	divisor    int
	stemStride int
}

func (f *spnasFlags) macro() mbv2.Macro {
	return mbv2.Macro{Width: f.width, Divisor: f.divisor, StemStride: f.stemStride}
}

func newSearchSinglePathCommand(opts *globalOptions) *cobra.Command {
	cfg := train.SPNASConfig{Train: train.Config{Batch: 32, LR: 0.05, Momentum: 0.9, WeightDecay: 4e-5, ValidFraction: 0.1,
		Optimizer: "sgd", EvalBatch: 100, Epochs: 8, ImageSize: 32, CheckpointEvery: train.DefaultConfig().CheckpointEvery}}
	var net spnasFlags
	var latFile string
	var noStore bool
	cmd := &cobra.Command{
		Use:   "single-path --data DIR --dataset D --lambda L --latency-table FILE --out DIR",
		Short: "Single-Path NAS on the MobileNetV2 space: superkernels, a latency model, the decided arch trained from scratch",
		Long: `Single-Path NAS (Stamoulis et al. 2019) on the MobileNetV2 space (space/mbv2) as a CPU
proxy: one supernet whose 20 searched layers are superkernels (a 5x5 depthwise kernel
whose 3x3 core is always used, its ring and the upper half of its expansion channels
used when their norms exceed trainable thresholds, and the layer skipped below a third);
loss = cross-entropy + lambda * log(R), R the latency table's runtime of the decisions
(differentiable through the straight-through indicators); the first --warmup-fraction of
the steps without the latency term and with the indicators dropped out (--warmup-keep),
then weights and thresholds trained jointly. Prints the decided architecture, its
predicted latency and its accuracy with the supernet's weights, then trains it from
scratch for --child-epochs and records that result in the store (bench mbv2). Checkpoints
go to --out/search and --out/child; --resume continues.

Latency tables: 'nbquery latency measure' (the JSON format is documented there and in
README.md). --lambda 0 searches for accuracy alone and needs no table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSearchSinglePath(cmd.Context(), opts, cfg, net, latFile, noStore, opts.stdout)
		},
	}
	f := cmd.Flags()
	t := &cfg.Train
	f.StringVar(&t.DataDir, "data", "", "data directory (IDX files, CIFAR-10 batches, or an ImageNet folder with train/ and val/)")
	f.StringVar(&t.Dataset, "dataset", "fashion-mnist", "fashion-mnist, mnist, cifar10 or imagenet")
	f.Float64Var(&cfg.Lambda, "lambda", 0, "coefficient of log(predicted runtime) in the loss")
	f.StringVar(&latFile, "latency-table", "", "latency table (JSON, see 'nbquery latency measure')")
	f.IntVar(&t.Epochs, "epochs", t.Epochs, "search epochs")
	f.Float64Var(&cfg.WarmupFraction, "warmup-fraction", 5.0/8, "share of the search steps without the latency term")
	f.Float64Var(&cfg.WarmupKeep, "warmup-keep", 0.6, "warm-up: keep probability of the indicator dropout (1 = off)")
	f.Float64Var(&cfg.ThresholdLR, "threshold-lr", 0, "constant learning rate of the thresholds (RMSProp, not scheduled: the reference decays its rate only 0.97x per 2.4 epochs; 0 = --lr)")
	f.IntVar(&cfg.ChildEpochs, "child-epochs", 1, "epochs to train the decided architecture from scratch (0 = skip)")
	f.IntVar(&t.Batch, "batch", t.Batch, "batch size")
	f.Float64Var(&t.LR, "lr", t.LR, "peak learning rate (cosine schedule)")
	f.Float64Var(&t.Momentum, "momentum", t.Momentum, "momentum")
	f.Float64Var(&t.WeightDecay, "weight-decay", t.WeightDecay, "weight decay (not on thresholds)")
	f.StringVar(&t.Optimizer, "optimizer", t.Optimizer, "sgd, adam or rmsprop (rmsprop: the reference's decay 0.9, eps 1e-3)")
	f.Uint64Var(&t.Seed, "seed", 0, "seed of initialisation, splits, shuffling, augmentation and dropout")
	f.IntVar(&t.MaxTrain, "max-train", 0, "use at most this many training images (0 = all)")
	f.IntVar(&cfg.MaxTest, "max-test", 0, "evaluate on a seeded subset of at most this many test images (0 = all)")
	f.IntVar(&cfg.MaxPerClass, "max-per-class", 0, "imagenet: at most this many images per class (0 = all)")
	f.Float64Var(&t.ValidFraction, "valid-fraction", t.ValidFraction, "share of the training images held out for validation")
	f.IntVar(&t.ImageSize, "image-size", t.ImageSize, "imagenet: crop side (RandomResizedCrop for training, Resize+CenterCrop for evaluation)")
	f.Float64Var(&net.width, "width", 0.25, "width multiplier of the MobileNetV2 layout")
	f.IntVar(&net.divisor, "divisor", 8, "channels are rounded to multiples of this")
	f.IntVar(&net.stemStride, "stem-stride", 1, "stride of the stem convolution (the reference's 2 is for 224x224)")
	addRunFlags(f, "run directory (checkpoints in search/ and child/, search.json, child/result.json)", runFlags{&t.OutDir, &t.Resume, &t.ResumeOrStart, &t.TimeLimit, &t.CheckpointEvery})
	f.BoolVar(&noStore, "no-store", false, "do not record the child's result in the store")
	return cmd
}

func runSearchSinglePath(ctx context.Context, opts *globalOptions, cfg train.SPNASConfig, net spnasFlags, latFile string, noStore bool, w io.Writer) error {
	if cfg.Train.DataDir == "" || cfg.Train.OutDir == "" {
		return usagef("search single-path: --data and --out are required")
	}
	cfg.Macro = net.macro()
	if latFile != "" {
		lt, err := train.ReadLatencyTable(latFile)
		if err != nil {
			return usageError{err}
		}
		cfg.Latency, cfg.LatencyFile = lt, latFile
	} else if cfg.Lambda != 0 {
		return usagef("search single-path: --lambda %v needs --latency-table", cfg.Lambda)
	}
	ctx, stop := train.SignalContext(ctx)
	defer stop()
	res, err := train.SearchSinglePath(ctx, cfg, opts.progress())
	if err != nil {
		if errors.Is(err, train.ErrConfig) || errors.Is(err, train.ErrLatencyTable) {
			return usageError{err}
		}
		return err
	}
	if !noStore && res.Child != nil && res.Child.Completed {
		st, err := index.Open(opts.storeDir())
		if err != nil {
			return err
		}
		defer st.Close()
		m := res.Child.Metrics()
		m["predicted-latency"] = res.PredictedLatency
		m["supernet-valid-accuracy"], m["supernet-test-accuracy"] = res.SupernetValid, res.SupernetTest
		lr := index.LiveResult{Bench: "mbv2", Arch: res.Arch, Dataset: cfg.Train.Dataset, Epochs: cfg.ChildEpochs,
			Seed: cfg.Train.Seed, Metrics: m, Config: res.Child.ConfigHash}
		if err := catalog.For(st).PutLive(lr); err != nil {
			return err
		}
	}
	if opts.structured() {
		return writeJSONValue(w, res)
	}
	fmt.Fprintf(w, "decided %s\n", res.Arch)
	if cfg.Latency != nil {
		fmt.Fprintf(w, "predicted latency %.4g %s (lambda %g, table %s)\n", res.PredictedLatency, res.LatencyUnit, cfg.Lambda, latFile)
	}
	fmt.Fprintf(w, "supernet accuracy (decided arch, shared weights): valid %.2f%%, test %.2f%% (%d search steps, %d warm-up, %.0f s)\n",
		res.SupernetValid, res.SupernetTest, res.SearchSteps, res.WarmupSteps, res.SearchTime)
	if c := res.Child; c != nil {
		fmt.Fprintf(w, "trained from scratch for %d epochs: valid %.2f%%, test %.2f%% (%.3f M params, %.2f M MACs)\n",
			c.Epochs, c.ValidAccuracy, c.TestAccuracy, c.ParamsMB, c.FlopsM)
	}
	fmt.Fprintf(w, "wrote %s/search.json\n", cfg.Train.OutDir)
	return nil
}
