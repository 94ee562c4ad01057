package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/index"
)

func newStatsCommand(opts *globalOptions) *cobra.Command {
	var m metricQuery
	cmd := &cobra.Command{
		Use:   "stats BENCH --dataset D --split S --hp H",
		Short: "Mean, std and quantiles of a metric over the space (the average-architecture baseline)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStats(cmd.Context(), opts, m, args[0], opts.stdout)
		},
	}
	m.flags(cmd)
	return cmd
}

func runStats(ctx context.Context, opts *globalOptions, m metricQuery, bench string, w io.Writer) error {
	var s index.Stats
	if bench == index.NB101 {
		var err error
		if s, err = statsNB101(ctx, opts, m); err != nil {
			return err
		}
	} else {
		q, err := m.query(opts)
		if err != nil {
			return err
		}
		st, b, err := openBench(opts, bench)
		if err != nil {
			return err
		}
		defer st.Close()
		if s, err = b.Stats(q); err != nil {
			return err
		}
	}
	if opts.structured() {
		var o jsonObject
		for _, kv := range []struct {
			k string
			v any
		}{{"count", s.Count}, {"missing", s.Missing}, {"computed", s.Computed}, {"mean", s.Mean}, {"std", s.Std}, {"min", s.Min},
			{"q25", s.Q25}, {"median", s.Median}, {"q75", s.Q75}, {"max", s.Max}, {"argmin", s.ArgMin}, {"argmax", s.ArgMax}} {
			o.add(kv.k, kv.v)
		}
		return o.write(w)
	}
	writeKV(w,
		[]string{"count", "missing", "computed", "mean", "std", "min", "q25", "median", "q75", "max", "argmin", "argmax"},
		[]string{fmt.Sprint(s.Count), fmt.Sprint(s.Missing), fmt.Sprint(s.Computed), fmtVal(s.Mean), fmtVal(s.Std), fmtVal(s.Min),
			fmtVal(s.Q25), fmtVal(s.Median), fmtVal(s.Q75), fmtVal(s.Max), fmt.Sprint(s.ArgMin), fmt.Sprint(s.ArgMax)})
	return nil
}
