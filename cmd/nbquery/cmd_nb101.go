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
	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest"
	"github.com/nbquery/nbquery/ingest/tfrecord"
	"github.com/nbquery/nbquery/predictors"
	"github.com/nbquery/nbquery/space/nb101"
)

func init() { extraCommands = append(extraCommands, newSpaceCommand) }

// ingestNB101 reads a tfrecord, or a partial table keyed by hash (CSV/JSON).
// The framing CRCs, JSON, base64 and protobuf of every record are always
// checked; re-hashing every cell is optional (verify).
func ingestNB101(ctx context.Context, st *index.Store, path string, o ingest.Options, verify, force bool) (ingest.Result, error) {
	var res tfrecord.Result
	var err error
	kind := tfrecord.KindTFRecord
	if strings.HasSuffix(path, ".csv") || strings.HasSuffix(path, ".json") {
		kind = "nb101-partial"
		res, err = tfrecord.IngestNB101Partial(ctx, st, path, o.Progress)
	} else {
		res, err = tfrecord.IngestNB101With(ctx, st, path, tfrecord.Options{Progress: o.Progress, SkipHashCheck: !verify, Force: force})
	}
	out := ingest.Result{Source: index.Source{Path: path, Kind: kind, Size: res.Bytes, SHA256: res.SHA256}, Rows: res.Cells, Elapsed: res.Duration}
	if errors.Is(err, index.ErrUnchanged) {
		out.Unchanged = true
		return out, nil
	}
	return out, err
}

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
	var res index.NB101Result
	switch f.repeat {
	case "random":
		res, err = t.QueryHash(h, f.epochs, f.halfway, rand.New(rand.NewPCG(opts.randSeed, 0)))
	case "mean":
		spec, ok := specOf(t, h)
		if !ok {
			return fmt.Errorf("%w: NB101 cell %s is not in the table", index.ErrNotFound, h)
		}
		res, err = t.QueryMean(spec, f.epochs, f.halfway)
	default:
		r, perr := strconv.Atoi(f.repeat)
		if perr != nil {
			return usagef("--repeat %q: want random, mean, 0, 1 or 2", f.repeat)
		}
		spec, ok := specOf(t, h)
		if !ok {
			return fmt.Errorf("%w: NB101 cell %s is not in the table", index.ErrNotFound, h)
		}
		res, err = t.QueryRepeat(spec, f.epochs, f.halfway, r)
	}
	// A cell whose sources lack some metrics: answer what they have and
	// name what they lack (exit 0).
	var miss *index.NB101Missing
	if err != nil && !errors.As(err, &miss) {
		return err
	}
	missing := []string{}
	var sources []string
	if miss != nil {
		missing = miss.Metrics
	}
	if row, ok := t.Row(res.Hash); ok {
		for _, s := range t.CellSources(row) {
			sources = append(sources, filepath.Base(s))
		}
	}
	repeat := any(res.Repeat)
	if res.Repeat < 0 {
		repeat = "mean"
	}
	if opts.structured() {
		var o jsonObject
		o.add("hash", res.Hash.String())
		o.add("module_adjacency", res.Spec.Matrix())
		o.add("module_operations", res.Spec.OpNames())
		o.add("trainable_parameters", res.Params)
		o.add("training_time", res.TrainingTime)
		o.add("train_accuracy", res.TrainAccuracy)
		o.add("validation_accuracy", res.ValidationAccuracy)
		o.add("test_accuracy", res.TestAccuracy)
		o.add("epochs", f.epochs)
		o.add("repeat", repeat)
		o.add("missing", missing)
		o.add("sources", sources)
		return o.write(w)
	}
	params := "null"
	if res.Params >= 0 {
		params = fmt.Sprint(res.Params)
	}
	writeKV(w, []string{"hash", "module_adjacency", "module_operations", "trainable_parameters", "training_time",
		"train_accuracy", "validation_accuracy", "test_accuracy", "epochs", "repeat", "missing", "sources"},
		[]string{res.Hash.String(), fmt.Sprint(res.Spec.Matrix()), strings.Join(res.Spec.OpNames(), ","), params,
			fmtVal(res.TrainingTime), fmtVal(res.TrainAccuracy), fmtVal(res.ValidationAccuracy), fmtVal(res.TestAccuracy),
			fmt.Sprint(f.epochs), fmt.Sprint(repeat), listOrNone(missing), strings.Join(sources, ", ")})
	return nil
}

// listOrNone joins names with ", ", or "none".
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
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

// nb101TableData encodes every cell of the NB101 table that records the
// selected value (45-dim NAO/WeakNAS encoding).
func nb101TableData(opts *globalOptions, m metricQuery) (*mat.Dense, []float64, error) {
	sel, err := nb101Select(m)
	if err != nil {
		return nil, nil, err
	}
	st, tb, err := openNB101(opts)
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	v, err := tb.Vector(nil, sel)
	if err != nil {
		return nil, nil, err
	}
	var y []float64
	var rows []int
	for i, x := range v {
		if x == x {
			rows = append(rows, i)
			y = append(y, x)
		}
	}
	X := mat.NewDense(len(rows), predictors.NB101Dim, nil)
	for i, r := range rows {
		tb.Spec(r).Encode45(X.RawRowView(i))
	}
	return X, y, nil
}

func newSpaceCommand(opts *globalOptions) *cobra.Command {
	var count, list bool
	cmd := &cobra.Command{
		Use:   "space nb101 (--count | --list)",
		Short: "Enumerate a search space (nb101: all 423,624 unique cells, deduplicated by module hash)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != index.NB101 {
				return usagef("space: only nb101 is enumerated (nb201 has 15,625 cells, nats-sss 32,768)")
			}
			if count == list {
				return usagef("give exactly one of --count or --list")
			}
			n := 0
			bw := newBufWriter(opts.stdout)
			defer bw.Flush()
			err := nb101.Enumerate(cmd.Context(), func(c nb101.Cell) error {
				n++
				if !list {
					return nil
				}
				if opts.structured() {
					var o jsonObject
					o.add("hash", c.Hash.String())
					o.add("module_adjacency", c.Spec.Matrix())
					o.add("module_operations", c.Spec.OpNames())
					return o.write(bw)
				}
				_, err := fmt.Fprintf(bw, "%s %s %s\n", c.Hash, c.Spec.AdjString(), strings.Join(c.Spec.OpNames(), ","))
				return err
			})
			if err != nil {
				return err
			}
			if count {
				fmt.Fprintln(bw, n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&count, "count", false, "print the number of unique cells")
	cmd.Flags().BoolVar(&list, "list", false, "stream hash, matrix and ops of every cell")
	return cmd
}
