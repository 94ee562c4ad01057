package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/index"
)

// metricQuery holds the flags that name one number per architecture.
type metricQuery struct {
	dataset string
	split   string
	hp      string
	metric  string
	epoch   int
	seed    string
}

func (m *metricQuery) flags(cmd *cobra.Command) { m.flagsNamed(cmd, "seed") }

// flagsNamed registers the flags with the seed policy under seedFlag (the
// experiment and predictor commands keep --seed for their random seed).
func (m *metricQuery) flagsNamed(cmd *cobra.Command, seedFlag string) {
	f := cmd.Flags()
	f.StringVar(&m.dataset, "dataset", "", "cifar10-valid, cifar10, cifar100 or ImageNet16-120")
	f.StringVar(&m.split, "split", "valid", "train, valid, test, valtest, x-valid, x-test or ori-test")
	f.StringVar(&m.hp, "hp", "", "training schedule in epochs (required)")
	f.StringVar(&m.metric, "metric", "accuracy", "accuracy, loss, per-time, all-time, params, flops, latency or hw:<device>")
	f.IntVar(&m.epoch, "epoch", -1, "0-based epoch (default: the last)")
	f.StringVar(&m.seed, seedFlag, "mean", "seed policy of the labels: mean, random or a seed number")
}

func (m *metricQuery) query(opts *globalOptions) (index.Query, error) {
	if m.dataset == "" && !strings.HasPrefix(m.metric, "hw:") {
		return index.Query{}, usagef("--dataset is required")
	}
	if m.hp == "" && !strings.HasPrefix(m.metric, "hw:") {
		return index.Query{}, usagef("--hp is required (the number of training epochs, e.g. 200 or 12)")
	}
	if m.epoch < -1 {
		return index.Query{}, usagef("--epoch %d: epochs are 0-based (-1 or no flag: the last)", m.epoch)
	}
	p, err := index.ParseSeedPolicy(m.seed, rand.New(rand.NewPCG(opts.randSeed, 0)))
	if err != nil {
		return index.Query{}, usageError{err}
	}
	return index.Query{Dataset: m.dataset, HP: m.hp, Split: m.split, Metric: m.metric, Epoch: m.epoch, Seed: p}, nil
}

func lowerIsBetter(metric string) bool { return index.LowerIsBetter(metric) }

type topOptions struct {
	metricQuery
	k      int
	lowest bool
}

func newTopCommand(opts *globalOptions) *cobra.Command {
	var t topOptions
	cmd := &cobra.Command{
		Use:   "top BENCH --dataset D --split S --hp H [-k K]",
		Short: "The best architectures by a metric",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("lowest") {
				t.lowest = lowerIsBetter(t.metric)
			}
			return runTop(cmd.Context(), opts, t, args[0], opts.stdout)
		},
	}
	t.flags(cmd)
	cmd.Flags().IntVarP(&t.k, "k", "k", 10, "how many")
	cmd.Flags().BoolVar(&t.lowest, "lowest", false, "rank lowest first (default for losses, times, costs)")
	return cmd
}

func runTop(ctx context.Context, opts *globalOptions, t topOptions, bench string, w io.Writer) error {
	if bench == index.NB101 {
		return runTopNB101(ctx, opts, t, w)
	}
	q, err := t.query(opts)
	if err != nil {
		return err
	}
	if t.k <= 0 {
		return usagef("-k must be positive")
	}
	st, b, err := openBench(opts, bench)
	if err != nil {
		return err
	}
	defer st.Close()
	top, cov, err := b.Rank(q, t.k, t.lowest)
	if err != nil {
		return err
	}
	rw := newRowWriter(opts, w)
	for i, r := range top {
		arch, _ := b.Arch(r.Index)
		if opts.structured() {
			var o jsonObject
			o.add("rank", i+1)
			o.add("index", r.Index)
			o.add("value", r.Value)
			o.add("arch", arch)
			if err := rw.object(&o); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "%3d  %6d  %-20s  %s\n", i+1, r.Index, index.FormatFloat(r.Value), arch)
	}
	if opts.structured() {
		if err := rw.close(); err != nil {
			return err
		}
	}
	if n := coverageNote(q.Metric, cov.Count, cov.Missing, cov.Computed); n != "" {
		opts.note("%s", n)
	}
	return nil
}
