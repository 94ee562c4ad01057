package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb101"
)

// nb101QueryOptions are the nb101 flags of the query command.
type nb101QueryOptions struct {
	hash, matrix, ops, repeat string
	epochs                    int
	halfway                   bool
}

func addNB101QueryFlags(cmd *cobra.Command, o *nb101QueryOptions) {
	f := cmd.Flags()
	f.StringVar(&o.hash, "hash", "", "nb101: module hash (32 hex digits)")
	f.StringVar(&o.matrix, "matrix", "", "nb101: adjacency matrix as JSON [[0,1,...],...] or a row-major 0/1 string")
	f.StringVar(&o.ops, "ops", "", "nb101: comma-separated ops, input,...,output")
	f.IntVar(&o.epochs, "epochs", 108, "nb101: training budget (4, 12, 36 or 108)")
	f.StringVar(&o.repeat, "repeat", "random", "nb101: random (as api.py), mean, or a repeat 0, 1, 2")
	f.BoolVar(&o.halfway, "stop-halfway", false, "nb101: the metrics at half the budget")
}

// parseMatrix reads JSON [[...]] or a flat 0/1 string.
func parseMatrix(s string) ([][]int, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var m [][]int
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, usagef("--matrix: %v", err)
		}
		return m, nil
	}
	n := 0
	for n*n < len(s) {
		n++
	}
	if n*n != len(s) {
		return nil, usagef("--matrix %q: a flat matrix needs a square number of 0/1 digits", s)
	}
	m := make([][]int, n)
	for i := range m {
		m[i] = make([]int, n)
		for j := range m[i] {
			switch s[i*n+j] {
			case '0':
			case '1':
				m[i][j] = 1
			default:
				return nil, usagef("--matrix %q: digit %d is not 0 or 1", s, i*n+j)
			}
		}
	}
	return m, nil
}

func nb101Hash(f nb101QueryOptions) (nb101.Hash, error) {
	if (f.hash == "") == (f.matrix == "" && f.ops == "") {
		return nb101.Hash{}, usagef("give --hash, or --matrix with --ops")
	}
	if f.hash != "" {
		h, err := nb101.ParseHash(f.hash)
		if err != nil {
			return h, usageError{err}
		}
		return h, nil
	}
	m, err := parseMatrix(f.matrix)
	if err != nil {
		return nb101.Hash{}, err
	}
	spec, err := nb101.NewSpec(m, strings.Split(f.ops, ","))
	if err != nil {
		return nb101.Hash{}, usageError{err}
	}
	return spec.Hash(), nil
}

func runQueryNB101(ctx context.Context, opts *globalOptions, f nb101QueryOptions, w io.Writer) error {
	h, err := nb101Hash(f)
	if err != nil {
		return err
	}
	st, t, err := openNB101(opts)
	if err != nil {
		return err
	}
	defer st.Close()
	o, err := nb101Answer(t, h, f, rand.New(rand.NewPCG(opts.randSeed, 0)))
	if err != nil {
		return err
	}
	if opts.structured() {
		return o.write(w)
	}
	o.writeText(w)
	return nil
}

// nb101Answer answers one NB101 cell with api.py query()'s keys, then the
// budget, the repeat, the metrics the cell's sources lack ("missing") and
// those sources. A cell whose sources lack some metrics is answered with
// what they have (null for the rest), not refused.
func nb101Answer(t *index.NB101Table, h nb101.Hash, f nb101QueryOptions, rng *rand.Rand) (*jsonObject, error) {
	var res index.NB101Result
	var err error
	if f.repeat == "random" {
		res, err = t.QueryHash(h, f.epochs, f.halfway, rng)
	} else {
		row, ok := t.Row(h)
		if !ok {
			return nil, fmt.Errorf("%w: NB101 cell %s is not in the table (%s)", index.ErrNotFound, h, t.Source().Path)
		}
		if f.repeat == "mean" {
			res, err = t.QueryMean(t.Spec(row), f.epochs, f.halfway)
		} else {
			r, perr := strconv.Atoi(f.repeat)
			if perr != nil {
				return nil, usagef("--repeat %q: want random, mean, 0, 1 or 2", f.repeat)
			}
			res, err = t.QueryRepeat(t.Spec(row), f.epochs, f.halfway, r)
		}
	}
	var miss *index.NB101Missing
	if err != nil && !errors.As(err, &miss) {
		return nil, err
	}
	missing := []string{}
	if miss != nil {
		missing = miss.Metrics
	}
	var sources []string
	if row, ok := t.Row(res.Hash); ok {
		for _, s := range t.CellSources(row) {
			sources = append(sources, filepath.Base(s))
		}
	}
	o := &jsonObject{}
	o.add("hash", res.Hash.String())
	o.add("module_adjacency", res.Spec.Matrix())
	o.add("module_operations", res.Spec.OpNames())
	if res.Params >= 0 {
		o.add("trainable_parameters", res.Params)
	} else {
		o.add("trainable_parameters", nil)
	}
	o.add("training_time", res.TrainingTime)
	o.add("train_accuracy", res.TrainAccuracy)
	o.add("validation_accuracy", res.ValidationAccuracy)
	o.add("test_accuracy", res.TestAccuracy)
	o.add("epochs", f.epochs)
	if res.Repeat < 0 {
		o.add("repeat", "mean")
	} else {
		o.add("repeat", res.Repeat)
	}
	o.add("missing", missing)
	o.add("sources", sources)
	return o, nil
}

func specOf(t *index.NB101Table, h nb101.Hash) (nb101.Spec, bool) {
	row, ok := t.Row(h)
	if !ok {
		return nb101.Spec{}, false
	}
	return t.Spec(row), true
}

// nb101Select maps the shared metric flags onto an NB101 selection: --split
// train|valid|test with --metric accuracy|time, or --metric as an api.py key
// (final_test_accuracy, halfway_training_time, ...); --hp is the budget in
// epochs (default 108) and --seed mean or a repeat number.
func nb101Select(m metricQuery) (index.NB101Select, error) {
	return index.ParseNB101Select(m.split, m.hp, m.seed, m.metric)
}

func runTopNB101(ctx context.Context, opts *globalOptions, t topOptions, w io.Writer) error {
	sel, err := nb101Select(t.metricQuery)
	if err != nil {
		return err
	}
	st, tb, err := openNB101(opts)
	if err != nil {
		return err
	}
	defer st.Close()
	lowest := t.lowest && strings.HasSuffix(sel.Metric.String(), "time")
	top, err := tb.TopK(sel, t.k, lowest)
	if err != nil {
		return err
	}
	rw := newRowWriter(opts, w)
	for i, r := range top {
		spec := tb.Spec(r.Row)
		if opts.structured() {
			var o jsonObject
			o.add("rank", i+1)
			o.add("hash", r.Hash.String())
			o.add("value", r.Value)
			o.add("module_adjacency", spec.Matrix())
			o.add("module_operations", spec.OpNames())
			if err := rw.object(&o); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "%3d  %s  %-20s  %s\n", i+1, r.Hash, index.FormatFloat(r.Value), spec)
	}
	if opts.structured() {
		if err := rw.close(); err != nil {
			return err
		}
	}
	if s, err := tb.Summary(sel); err == nil && s.N < tb.Len() {
		opts.note("%s", coverageNote(sel.String(), s.N, tb.Len()-s.N, 0))
	}
	return nil
}

func statsNB101(ctx context.Context, opts *globalOptions, m metricQuery) (index.Stats, error) {
	sel, err := nb101Select(m)
	if err != nil {
		return index.Stats{}, err
	}
	st, tb, err := openNB101(opts)
	if err != nil {
		return index.Stats{}, err
	}
	defer st.Close()
	v, err := tb.Vector(nil, sel)
	if err != nil {
		return index.Stats{}, err
	}
	return index.Summarize(v), nil
}
