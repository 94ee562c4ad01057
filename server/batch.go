package server

import (
	"fmt"
	"math"
	"mime"
	"net/http"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nbquery/nbquery/index"
)

// ArrowStream is the media type of an Arrow IPC stream answer.
const ArrowStream = "application/vnd.apache.arrow.stream"

// maxQueries bounds the columns of one batch, whatever MaxCells allows.
const maxQueries = 256

// batchRequest asks for one column per query over a set of architectures.
type batchRequest struct {
	Indices []int           `json:"indices"` // empty: every architecture
	Arch    bool            `json:"arch"`    // add the arch string column
	Queries []metricRequest `json:"queries"`
}

// columns is a batch answer: a key column (index), an optional label column
// (arch or hash) and one float column per query (NaN: not recorded).
type columns struct {
	index      []int32
	labelName  string
	labels     []string
	names      []string
	vals       [][]float64
	queryNames []string
}

// checkShape validates the size of a batch.
func (s *Server) checkShape(rows, queries int) error {
	switch {
	case queries == 0:
		return usage("queries is empty: give at least one {dataset, split, hp, metric}")
	case queries > maxQueries:
		return &Error{Status: http.StatusRequestEntityTooLarge, Kind: KindTooLarge, Msg: fmt.Sprintf("%d queries in one batch, at most %d", queries, maxQueries)}
	case rows*queries > s.cfg.MaxCells:
		return &Error{Status: http.StatusRequestEntityTooLarge, Kind: KindTooLarge, Msg: fmt.Sprintf("%d architectures x %d queries = %d cells, at most %d per request", rows, queries, rows*queries, s.cfg.MaxCells)}
	}
	return nil
}

// rowsOf returns the requested rows, or all n.
func rowsOf(indices []int, n int) ([]int32, bool, error) {
	if len(indices) == 0 {
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(i)
		}
		return out, true, nil
	}
	out := make([]int32, len(indices))
	for i, r := range indices {
		if r < 0 || r >= n {
			return nil, false, fmt.Errorf("%w: indices[%d] = %d outside [0, %d)", index.ErrNotFound, i, r, n)
		}
		out[i] = int32(r)
	}
	return out, false, nil
}

// uniqueName checks a column name.
func uniqueName(names []string, name string) error {
	for _, n := range names {
		if n == name {
			return usage(fmt.Sprintf("two queries are named %q: give each a distinct name", name))
		}
	}
	if name == "index" || name == "arch" || name == "hash" {
		return usage(fmt.Sprintf("query name %q is taken by a key column", name))
	}
	return nil
}

func (s *Server) batch(c *call) error {
	var req batchRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	b, err := c.bench()
	if err != nil {
		return err
	}
	if len(req.Indices) > b.Len() {
		return usage(fmt.Sprintf("%d indices for %d architectures", len(req.Indices), b.Len()))
	}
	n := len(req.Indices)
	if n == 0 {
		n = b.Len()
	}
	if err := s.checkShape(n, len(req.Queries)); err != nil {
		return err
	}
	rows, all, err := rowsOf(req.Indices, b.Len())
	if err != nil {
		return err
	}
	out := columns{index: rows}
	if req.Arch {
		out.labelName = "arch"
		for _, r := range rows {
			a, err := b.Arch(int(r))
			if err != nil {
				return err
			}
			out.labels = append(out.labels, a)
		}
	}
	for qi, m := range req.Queries {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		q, err := c.indexQuery(m)
		if err != nil {
			return fmt.Errorf("queries[%d]: %w", qi, err)
		}
		name := m.Name
		if name == "" {
			name = q.String()
		}
		if err := uniqueName(out.names, name); err != nil {
			return err
		}
		var v []float64
		if all {
			if v, err = b.Vector(nil, q); err != nil {
				return fmt.Errorf("queries[%d] (%s): %w", qi, name, err)
			}
		} else {
			v = make([]float64, len(rows))
			var firstErr error
			for i, r := range rows {
				x, err := b.Value(int(r), q)
				if err != nil {
					x = math.NaN()
					if firstErr == nil {
						firstErr = err
					}
				}
				v[i] = x
			}
			if firstErr != nil && allNaN(v) {
				return fmt.Errorf("queries[%d] (%s): %w", qi, name, firstErr)
			}
		}
		out.names = append(out.names, name)
		out.queryNames = append(out.queryNames, q.String())
		out.vals = append(out.vals, v)
	}
	return c.columns(out)
}

func allNaN(v []float64) bool {
	for _, x := range v {
		if !math.IsNaN(x) {
			return false
		}
	}
	return true
}

// wantsArrow reports whether the client accepts an Arrow stream before JSON.
func wantsArrow(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case ArrowStream:
			return true
		case "application/json", "*/*":
			return false
		}
	}
	return false
}

// columns writes a batch answer as an Arrow IPC stream or as JSON.
func (c *call) columns(out columns) error {
	if !wantsArrow(c.r) {
		o := object{{"index", out.index}}
		if out.labelName != "" {
			o.add(out.labelName, out.labels)
		}
		cols := make(object, len(out.names))
		for i, name := range out.names {
			cols[i] = field{name, nums(out.vals[i])}
		}
		o.add("columns", cols)
		o.add("queries", out.queryNames)
		return c.json(o)
	}
	fs := []arrow.Field{{Name: "index", Type: arrow.PrimitiveTypes.Int32}}
	if out.labelName != "" {
		fs = append(fs, arrow.Field{Name: out.labelName, Type: arrow.BinaryTypes.String})
	}
	for _, name := range out.names {
		fs = append(fs, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	schema := arrow.NewSchema(fs, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	rb.Field(0).(*array.Int32Builder).AppendValues(out.index, nil)
	col := 1
	if out.labelName != "" {
		rb.Field(1).(*array.StringBuilder).AppendValues(out.labels, nil)
		col++
	}
	for i := range out.names {
		fb := rb.Field(col + i).(*array.Float64Builder)
		fb.Reserve(len(out.vals[i]))
		for _, x := range out.vals[i] {
			if math.IsNaN(x) {
				fb.UnsafeAppendBoolToBitmap(false)
			} else {
				fb.UnsafeAppend(x)
			}
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	h := c.w.Header()
	h.Set("Content-Type", ArrowStream)
	h.Set("X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(http.StatusOK)
	w := ipc.NewWriter(c.w, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
	if err := w.Write(rec); err != nil {
		return nil // headers are sent; the client sees a truncated stream
	}
	w.Close()
	return nil
}
