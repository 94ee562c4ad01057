package export

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/nbquery/nbquery/index"
)

// NB101Filter selects part of the NB101 table; the zero value is all of it.
type NB101Filter struct {
	Epochs   []int // budgets (4, 12, 36, 108); empty: all recorded
	MeanOnly bool  // only the means over repeats
}

// NB101Schema returns the schema of an NB101 export.
func NB101Schema() *arrow.Schema {
	fs := []arrow.Field{
		{Name: "index", Type: arrow.PrimitiveTypes.Int32},
		{Name: "hash", Type: arrow.BinaryTypes.String},
		{Name: "matrix", Type: arrow.BinaryTypes.String},
		{Name: "ops", Type: arrow.BinaryTypes.String},
		{Name: "params", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "epochs", Type: arrow.PrimitiveTypes.Int32},
		{Name: "repeat", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	}
	for m := index.NB101Metric(0); m < index.NumNB101Metrics; m++ {
		fs = append(fs, arrow.Field{Name: m.String(), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	return arrow.NewSchema(fs, nil)
}

// NB101 writes the NB101 table to w and returns the number of rows.
func NB101(ctx context.Context, w io.Writer, t *index.NB101Table, format Format, f NB101Filter) (int, error) {
	for _, e := range f.Epochs {
		if index.NB101BudgetIndex(e) < 0 {
			return 0, fmt.Errorf("%w: epochs %d (want 4, 12, 36 or 108)", ErrInput, e)
		}
	}
	tb, err := newTable(ctx, w, NB101Schema(), format)
	if err != nil {
		return 0, err
	}
	defer tb.b.Release()
	bIndex := tb.b.Field(0).(*array.Int32Builder)
	bHash := tb.b.Field(1).(*array.StringBuilder)
	bMatrix := tb.b.Field(2).(*array.StringBuilder)
	bOps := tb.b.Field(3).(*array.StringBuilder)
	bParams := tb.b.Field(4).(*array.Int64Builder)
	bEpochs := tb.b.Field(5).(*array.Int32Builder)
	bRepeat := tb.b.Field(6).(*array.Int32Builder)
	var mean index.NB101Run
	for row := range t.Len() {
		h := t.Hash(row)
		st, err := t.GetMetricsFromHash(h)
		if err != nil {
			return 0, err
		}
		spec := t.Spec(row)
		mj, _ := json.Marshal(spec.Matrix())
		ops := strings.Join(spec.OpNames(), ",")
		for bi, e := range index.NB101Epochs {
			if len(f.Epochs) > 0 && !slices.Contains(f.Epochs, e) {
				continue
			}
			runs := st.Computed(e)
			if len(runs) == 0 {
				continue
			}
			// The mean in numpy's order ((r0 + r1) + r2) / n, as QueryMean.
			for m := range mean {
				s := runs[0][m]
				for _, r := range runs[1:] {
					s += r[m]
				}
				mean[m] = s / float64(len(runs))
			}
			for rep := -1; rep < len(runs); rep++ {
				if rep >= 0 && f.MeanOnly {
					break
				}
				bIndex.Append(int32(row))
				bHash.Append(h.String())
				bMatrix.Append(string(mj))
				bOps.Append(ops)
				if p := t.Params(row); p >= 0 {
					bParams.Append(p)
				} else {
					bParams.AppendNull()
				}
				bEpochs.Append(int32(index.NB101Epochs[bi]))
				vals := &mean
				if rep < 0 {
					bRepeat.AppendNull()
				} else {
					bRepeat.Append(int32(rep))
					vals = &runs[rep]
				}
				for m, v := range vals {
					tb.appendF64(7+m, v)
				}
				if err := tb.endRow(); err != nil {
					return 0, err
				}
			}
		}
	}
	if err := tb.close(); err != nil {
		return 0, err
	}
	return tb.rows, nil
}
