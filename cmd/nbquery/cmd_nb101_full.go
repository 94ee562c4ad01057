//go:build !nbquery_light

package main

// The NB101 pieces that need the ingest and predictor packages: left out of
// the light build (lab_light.go), which runs nbquery-full for them.

import (
	"context"
	"errors"
	"fmt"
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
	if err == nil && res.Role != "" {
		// Columns: the statistics the new table records (metric@epochs).
		if t, terr := st.NB101TableRole(res.Role); terr == nil {
			out.Columns = len(t.Columns())
		}
	}
	return out, err
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
