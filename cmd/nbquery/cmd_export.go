//go:build !nbquery_light

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/export"
	"github.com/nbquery/nbquery/index"
)

func init() { extraCommands = append(extraCommands, newExportCommand) }

type exportOptions struct {
	format   string
	out      string
	datasets string
	hps      string
	seeds    string
	indices  string
	devices  bool
}

func newExportCommand(opts *globalOptions) *cobra.Command {
	var e exportOptions
	cmd := &cobra.Command{
		Use:   "export nb201|nats-sss|nb101 --format parquet|arrow --out FILE",
		Short: "Write a benchmark as a tidy Parquet or Arrow IPC table (DuckDB, pandas, polars)",
		Long: `Write a benchmark as a table that DuckDB, pandas, polars or any Arrow or
Parquet reader opens directly: one row per architecture x dataset x hp x
seed for nb201/nats-sss (the splits as column groups: train, x-valid, x-test,
ori-test accuracy and their -loss, -per-time, -all-time; seed null = the mean
over seeds), one row per cell x budget x repeat for nb101 (repeat null = the
mean). The file is written atomically.

Filters: --dataset and --hp (comma lists), --seeds mean (no per-seed rows),
--indices (comma list of architecture indices) for nb201; --hp (budgets in
epochs) and --seeds mean for nb101.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(cmd.Context(), opts, e, args[0], opts.stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&e.format, "format", "parquet", "parquet or arrow (Arrow IPC file)")
	f.StringVar(&e.out, "out", "", "output file (required)")
	f.StringVar(&e.datasets, "dataset", "", "comma-separated datasets (default: all)")
	f.StringVar(&e.hps, "hp", "", "comma-separated training schedules, or NB101 budgets (default: all)")
	f.StringVar(&e.seeds, "seeds", "all", "all (means and per-seed rows) or mean")
	f.StringVar(&e.indices, "indices", "", "comma-separated architecture indices (default: all)")
	f.BoolVar(&e.devices, "devices", true, "add the latency:DEVICE columns of measured device latencies")
	return cmd
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func intList(flag, s string) ([]int, error) {
	var out []int
	for _, x := range splitList(s) {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return nil, usagef("--%s %q: want comma-separated integers", flag, s)
		}
		out = append(out, n)
	}
	return out, nil
}

func runExport(ctx context.Context, opts *globalOptions, e exportOptions, bench string, w io.Writer) error {
	format, err := export.ParseFormat(e.format)
	if err != nil {
		return usageError{err}
	}
	if e.out == "" {
		return usagef("--out is required")
	}
	if e.seeds != "all" && e.seeds != "mean" {
		return usagef("--seeds %q: want all or mean", e.seeds)
	}
	st, err := index.Open(opts.storeDir())
	if err != nil {
		return err
	}
	defer st.Close()
	var rows int
	switch bench {
	case index.NB101:
		epochs, err := intList("hp", e.hps)
		if err != nil {
			return err
		}
		t, err := st.NB101Table()
		if err != nil {
			return err
		}
		err = export.WriteFile(e.out, func(w io.Writer) error {
			rows, err = export.NB101(ctx, w, t, format, export.NB101Filter{Epochs: epochs, MeanOnly: e.seeds == "mean"})
			return err
		})
		if errors.Is(err, export.ErrInput) {
			return usageError{err}
		}
		if err != nil {
			return err
		}
	case index.NB201, index.NATSSSS:
		idx, err := intList("indices", e.indices)
		if err != nil {
			return err
		}
		b, err := st.Bench(bench)
		if err != nil {
			return err
		}
		filt := export.NB201Filter{Datasets: splitList(e.datasets), HPs: splitList(e.hps), MeanOnly: e.seeds == "mean", Indices: idx, Devices: e.devices}
		err = export.WriteFile(e.out, func(w io.Writer) error {
			rows, err = export.NB201(ctx, w, b, format, filt)
			return err
		})
		if errors.Is(err, export.ErrInput) {
			return usageError{err}
		}
		if err != nil {
			return err
		}
	default:
		return usagef("unknown benchmark %q (want nb201, nats-sss or nb101)", bench)
	}
	if opts.json {
		var o jsonObject
		o.add("bench", bench)
		o.add("format", format.String())
		o.add("out", e.out)
		o.add("rows", rows)
		return o.write(w)
	}
	_, err = fmt.Fprintf(w, "wrote %d rows of %s to %s (%s)\n", rows, bench, e.out, format)
	return err
}
