//go:build !nbquery_light

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/predictors"
	"github.com/nbquery/nbquery/space/nb201"
	"github.com/nbquery/nbquery/space/sss"
)

func init() { extraCommands = append(extraCommands, newPredictorsCommand) }

type predEvalOptions struct {
	metricQuery
	bench    string
	models   string
	sizes    string
	trials   int
	seed     uint64
	encoding string
	topK     int
}

func newPredictorsCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "predictors",
		Short: "Evaluate performance predictors on a benchmark table",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the predictors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rw := newRowWriter(opts, opts.stdout)
			for _, n := range predictors.Names() {
				if opts.structured() {
					var o jsonObject
					o.add("name", n)
					o.add("description", predictors.Describe(n))
					if err := rw.object(&o); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(opts.stdout, "%-12s %s\n", n, predictors.Describe(n))
			}
			if opts.structured() {
				return rw.close()
			}
			return nil
		},
	}
	var p predEvalOptions
	eval := &cobra.Command{
		Use:   "eval --bench B --dataset D --split S --hp H --models M,... --train-sizes N,...",
		Short: "Train on n random architectures, score on all others (Kendall tau, Spearman rho, top-k precision, times)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPredictorsEval(cmd.Context(), opts, p, opts.stdout)
		},
	}
	p.flagsNamed(eval, "seed-policy")
	f := eval.Flags()
	f.StringVar(&p.bench, "bench", index.NB201, "nb201, nats-sss or nb101")
	f.StringVar(&p.models, "models", "mlp,gbdt", "comma-separated predictor names (see nbquery predictors list)")
	f.StringVar(&p.sizes, "train-sizes", "10,50,100,500,1000", "comma-separated training-set sizes")
	f.IntVar(&p.trials, "trials", 10, "random splits per size")
	f.Uint64Var(&p.seed, "seed", 1, "seed of the splits and models")
	f.StringVar(&p.encoding, "encoding", "onehot", "onehot or path (BANANAS path encoding)")
	f.IntVar(&p.topK, "top-k", predictors.DefaultTopK, "k of the top-k precision")
	cmd.AddCommand(list, eval)
	return cmd
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, usagef("%q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// tableData returns the encodings and labels of every architecture of a
// table benchmark that has a value for q.
func tableData(b *index.Bench, q index.Query, encoding string) (*mat.Dense, []float64, error) {
	y, err := b.Vector(nil, q)
	if err != nil {
		return nil, nil, err
	}
	var rows []int
	for i, v := range y {
		if !math.IsNaN(v) {
			rows = append(rows, i)
		}
	}
	labels := make([]float64, len(rows))
	for i, r := range rows {
		labels[i] = y[r]
	}
	switch b.Name() {
	case index.NB201:
		cells := make([]nb201.Cell, len(rows))
		for i, r := range rows {
			code, err := b.Code(r)
			if err != nil {
				return nil, nil, err
			}
			cells[i] = nb201.FromCode(code)
		}
		switch encoding {
		case "onehot":
			X := mat.NewDense(len(rows), nb201.NumEdges*nb201.NumOps, nil)
			predictors.EncodeNB201(X, cells)
			return X, labels, nil
		case "path":
			X := mat.NewDense(len(rows), predictors.NB201PathDim, nil)
			predictors.EncodePathNB201(X, cells)
			return X, labels, nil
		}
		return nil, nil, usagef("unknown encoding %q (want onehot or path)", encoding)
	case index.NATSSSS:
		X := mat.NewDense(len(rows), sss.Layers*sss.NumChoices, nil)
		for i, r := range rows {
			code, err := b.Code(r)
			if err != nil {
				return nil, nil, err
			}
			sss.FromCode(code).OneHot(X.RawRowView(i))
		}
		return X, labels, nil
	}
	return nil, nil, fmt.Errorf("predictors: no encoding for benchmark %s", b.Name())
}

func runPredictorsEval(ctx context.Context, opts *globalOptions, p predEvalOptions, w io.Writer) error {
	specs, err := predictors.Specs(strings.Split(p.models, ",")...)
	if err != nil {
		return usageError{err}
	}
	sizes, err := parseInts(p.sizes)
	if err != nil {
		return err
	}
	if p.trials <= 0 {
		return usagef("--trials must be positive")
	}
	var X *mat.Dense
	var y []float64
	if p.bench == index.NB101 {
		X, y, err = nb101TableData(opts, p.metricQuery)
	} else {
		q, qerr := p.query(opts)
		if qerr != nil {
			return qerr
		}
		st, oerr := index.Open(opts.storeDir())
		if oerr != nil {
			return oerr
		}
		defer st.Close()
		b, berr := st.Bench(p.bench)
		if berr != nil {
			return berr
		}
		X, y, err = tableData(b, q, p.encoding)
	}
	if err != nil {
		return err
	}
	for _, n := range sizes {
		if n >= len(y) {
			return usagef("train size %d: the table has only %d architectures with a value", n, len(y))
		}
	}
	res, err := predictors.EvaluateWith(ctx, X, y, specs, sizes, p.trials, p.seed, predictors.EvalOptions{TopK: p.topK})
	if err != nil {
		return err
	}
	if opts.jsonl {
		enc := json.NewEncoder(w)
		for _, r := range res {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	format := "table"
	if opts.json {
		format = "json" // one array
	}
	return predictors.WriteResults(w, res, format)
}
