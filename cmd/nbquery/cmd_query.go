package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb201"
)

type queryOptions struct {
	arch    string
	index   int
	dataset string
	hp      string
	epoch   int
	seed    string
	devices bool
	nb101   nb101QueryOptions
}

func newQueryCommand(opts *globalOptions) *cobra.Command {
	var q queryOptions
	cmd := &cobra.Command{
		Use:   "query BENCH (--arch STR | --index N | REQUEST... | -) --dataset D --hp H",
		Short: "Query one architecture (get_more_info, compute costs, latencies)",
		Long: `Query one architecture with the official get_more_info semantics: train-*,
valid-*, test-* and valtest-* loss, accuracy, per-epoch and total time, for the
dataset's official splits (cifar10-valid: valid=x-valid, test=ori-test; cifar10:
test=ori-test; cifar100, ImageNet16-120: valid=x-valid, test=x-test,
valtest=ori-test), plus flops (M), params (MB) and latency (s).

--hp is required (12 or 200 for nb201; 01, 12 or 90 for nats-sss): the official
APIs silently default to 12 epochs, nbquery never does. --epoch is 0-based and
defaults to the last epoch. --seed is mean (the official is_random=False),
random (one seed, drawn from --rand-seed) or a seed number.

Units: nb201/nats-sss accuracies in percent, losses in nats, times in seconds,
flops in millions (MFLOPs), params in millions (the benchmark's "MB"),
latency in seconds per batch, latency:<device> in milliseconds; nb101
accuracies are fractions in [0, 1] (api.py), training_time in seconds.
Absent values print as null. cost-source says whether flops and params were
read from a table or computed from the architecture (nb201).

Batch: give many requests as arguments after BENCH, or "-" to read JSON
Lines from standard input; each is answered on one line (JSON Lines, or
one array with --json), in order. A request is an index (6111), an arch
string (|nor_conv_3x3~0|+...), an NB101 hash, or a JSON object
{"index": 6111} / {"arch": "..."} / {"hash": "..."} that may also set
"dataset", "hp", "epoch" and "seed" for itself. A request that fails is
answered by {"request": ..., "error": ..., "exit": 2|3} and the others go
on; the exit status is then that of the worst failure.

  nbquery query nb201 --dataset cifar10-valid --hp 200 6111 9930 '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'
  seq 0 15624 | nbquery query nb201 --dataset cifar10-valid --hp 200 - > all.jsonl`,
		Args:        cobra.MinimumNArgs(1),
		Annotations: map[string]string{noSignals: "one row"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				opts.catchSignals(cmd)
				if cmd.Flags().Changed("arch") || cmd.Flags().Changed("index") || q.nb101.hash != "" || q.nb101.matrix != "" {
					return usagef("give requests as arguments or with --arch/--index/--hash, not both")
				}
				return runBatch(cmd.Context(), opts, q, args[0], args[1:])
			}
			if args[0] == index.NB101 {
				return runQueryNB101(cmd.Context(), opts, q.nb101, opts.stdout)
			}
			return runQuery(cmd.Context(), opts, q, args[0], cmd.Flags().Changed("index"), opts.stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.arch, "arch", "", "architecture string")
	f.IntVar(&q.index, "index", -1, "architecture index")
	f.StringVar(&q.dataset, "dataset", "", "cifar10-valid, cifar10, cifar100 or ImageNet16-120")
	f.StringVar(&q.hp, "hp", "", "training schedule in epochs (required)")
	f.IntVar(&q.epoch, "epoch", -1, "0-based epoch (default: the last)")
	f.StringVar(&q.seed, "seed", "mean", "mean, random or a seed number")
	f.BoolVar(&q.devices, "devices", false, "also print every measured device latency (ms)")
	addNB101QueryFlags(cmd, &q.nb101)
	return cmd
}

func runQuery(ctx context.Context, opts *globalOptions, q queryOptions, bench string, haveIndex bool, w io.Writer) error {
	if err := index.CheckBench(bench); err != nil {
		return err
	}
	if (q.arch == "") == !haveIndex {
		return usagef("give exactly one of --arch or --index")
	}
	if q.dataset == "" {
		return usagef("--dataset is required")
	}
	if q.hp == "" {
		return usagef("--hp is required (the number of training epochs, e.g. 200 or 12)")
	}
	if q.epoch < -1 {
		return usagef("--epoch %d: epochs are 0-based (-1 or no flag: the last)", q.epoch)
	}
	rng := rand.New(rand.NewPCG(opts.randSeed, 0))
	policy, err := index.ParseSeedPolicy(q.seed, rng)
	if err != nil {
		return usageError{err}
	}
	st, err := index.Open(opts.storeDir())
	if err != nil {
		return err
	}
	defer st.Close()
	b, berr := st.Bench(bench)
	if berr != nil {
		// No table: a live result of this architecture may answer.
		if q.arch != "" {
			if done, lerr := tryLive(ctx, st, opts, bench, q, w); done {
				return lerr
			}
		}
		return berr
	}
	row := q.index
	if q.arch != "" {
		if row, err = b.Index(q.arch); err != nil {
			if done, lerr := tryLive(ctx, st, opts, bench, q, w); done {
				return lerr
			}
			return err
		}
	} else if row < 0 || row >= b.Len() {
		return usagef("--index %d outside [0, %d)", row, b.Len())
	}
	res, err := tableAnswer(b, row, q, policy)
	if err != nil {
		if arch, _ := b.Arch(row); arch != "" && q.epoch < 0 {
			q.arch = arch
			if done, lerr := tryLive(ctx, st, opts, bench, q, w); done {
				return lerr
			}
		}
		return err
	}
	if opts.structured() {
		return res.write(w)
	}
	res.writeText(w)
	return nil
}

// tableAnswer answers one architecture from the tables: get_more_info's
// keys for the dataset's splits, then the compute costs (computed from the
// architecture where no table has them, marked by cost-source) and, with
// --devices, every measured device latency.
func tableAnswer(b *index.Bench, row int, q queryOptions, policy index.SeedPolicy) (*jsonObject, error) {
	arch, _ := b.Arch(row)
	last, err := index.LastEpoch(q.hp)
	if err != nil {
		return nil, err
	}
	epoch := q.epoch
	if epoch < 0 {
		epoch = last
	}
	info, err := b.MoreInfo(row, q.dataset, q.hp, epoch, policy)
	if err != nil {
		return nil, err
	}
	costs, costSrc, cerr := b.CostsOrComputed(row, q.dataset, q.hp, policy)
	o := &jsonObject{}
	o.add("index", row)
	o.add("arch", arch)
	o.add("dataset", q.dataset)
	o.add("hp", q.hp)
	o.add("epoch", epoch)
	o.add("seed", policy.String())
	for i, k := range info.Keys {
		o.add(k, info.Values[i])
	}
	o.add("source", "table")
	if cerr == nil {
		o.add("flops", costs.FLOPs)
		o.add("params", costs.Params)
		o.add("latency", costs.Latency)
		o.add("cost-source", costSrc)
	}
	if q.devices {
		for _, d := range b.Devices() {
			if v, err := b.DeviceLatency(row, d); err == nil {
				o.add("latency:"+d, v)
			}
		}
	}
	return o, nil
}

func fmtVal(v float64) string {
	if math.IsNaN(v) {
		return "null" // as in JSON
	}
	return index.FormatFloat(v)
}

// tryLive answers q from the live-training results where the tables
// cannot; it reports whether its answer (or its error) is final, else the
// tables' error stands. The light build, which does not link the
// catalogue, hands such a query to nbquery-full when the store has a
// catalogue (liveElsewhere).
func tryLive(ctx context.Context, st *index.Store, opts *globalOptions, bench string, q queryOptions, w io.Writer) (bool, error) {
	if done, err := liveElsewhere(ctx, st, opts); done {
		return true, err
	}
	lerr := answerLive(st, opts, bench, q, w)
	return lerr == nil || errors.Is(lerr, index.ErrCatalog), lerr
}

// answerLive prints the live-training results of q.arch on q.dataset with
// --hp epochs (mean over seeds, or the given seed), if the store has any.
func answerLive(st *index.Store, opts *globalOptions, bench string, q queryOptions, w io.Writer) error {
	arch := q.arch
	if bench == index.NB201 {
		c, err := nb201.Parse(q.arch)
		if err != nil {
			return err
		}
		arch = c.String()
	}
	epochs, err := strconv.Atoi(q.hp)
	if err != nil {
		return err
	}
	runs, err := liveRuns(st, bench, arch, q.dataset, epochs)
	if err != nil {
		return err
	}
	seed := "mean"
	r := index.MeanLive(runs)
	if q.seed != "mean" && q.seed != "" {
		n, err := strconv.ParseUint(q.seed, 10, 64)
		if err != nil {
			return err
		}
		found := false
		for _, x := range runs {
			if x.Seed == n {
				r, found = x, true
			}
		}
		if !found {
			return fmt.Errorf("%w: no live run with seed %d", index.ErrNotFound, n)
		}
		seed = q.seed
	}
	keys := make([]string, 0, len(r.Metrics))
	for k := range r.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	src := fmt.Sprintf("live (%d run(s) trained by nbquery)", len(runs))
	if opts.structured() {
		var o jsonObject
		o.add("arch", arch)
		o.add("dataset", q.dataset)
		o.add("hp", q.hp)
		o.add("epoch", epochs-1)
		o.add("seed", seed)
		for _, k := range keys {
			o.add(k, r.Metrics[k])
		}
		o.add("source", "live")
		o.add("runs", len(runs))
		return o.write(w)
	}
	ks := []string{"arch", "dataset", "hp", "epoch", "seed"}
	vs := []string{arch, q.dataset, q.hp, fmt.Sprint(epochs - 1), seed}
	for _, k := range keys {
		ks = append(ks, k)
		vs = append(vs, fmtVal(r.Metrics[k]))
	}
	ks = append(ks, "source")
	vs = append(vs, src)
	writeKV(w, ks, vs)
	return nil
}
