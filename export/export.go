package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nbquery/nbquery/index"
)

// ErrInput marks a bad export request (unknown format, dataset or filter).
var ErrInput = errors.New("export: bad request")

// Format is an output file format.
type Format int

// Formats.
const (
	Parquet Format = iota // Parquet, zstd-compressed, row groups of BatchRows
	Arrow                 // Arrow IPC file (random-access format, readable as a stream too)
)

// ParseFormat accepts "parquet" or "arrow" (also "ipc", "feather").
func ParseFormat(s string) (Format, error) {
	switch s {
	case "parquet":
		return Parquet, nil
	case "arrow", "ipc", "feather":
		return Arrow, nil
	}
	return 0, fmt.Errorf("%w: format %q (want parquet or arrow)", ErrInput, s)
}

func (f Format) String() string {
	if f == Arrow {
		return "arrow"
	}
	return "parquet"
}

// BatchRows is the number of rows per record batch (and Parquet row group).
const BatchRows = 1 << 16

// tableWriter writes record batches of one schema in a format.
type tableWriter interface {
	Write(rec arrow.RecordBatch) error
	Close() error
}

func newTableWriter(w io.Writer, schema *arrow.Schema, f Format) (tableWriter, error) {
	if f == Arrow {
		return ipc.NewFileWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(BatchRows), parquet.WithDictionaryDefault(true))
	// The Parquet writer closes a sink that is an io.Closer: hide Close, the
	// caller owns w.
	fw, err := pqarrow.NewFileWriter(schema, struct{ io.Writer }{w}, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, fmt.Errorf("export: parquet writer: %w", err)
	}
	return fw, nil
}

// table accumulates rows in a RecordBuilder and flushes full batches.
type table struct {
	ctx  context.Context
	b    *array.RecordBuilder
	w    tableWriter
	n    int // rows in the builder
	rows int // rows written in all
}

func newTable(ctx context.Context, w io.Writer, schema *arrow.Schema, f Format) (*table, error) {
	tw, err := newTableWriter(w, schema, f)
	if err != nil {
		return nil, err
	}
	return &table{ctx: ctx, b: array.NewRecordBuilder(memory.DefaultAllocator, schema), w: tw}, nil
}

// endRow counts a finished row and flushes a full batch.
func (t *table) endRow() error {
	t.n++
	t.rows++
	if t.n < BatchRows {
		return nil
	}
	if err := t.ctx.Err(); err != nil {
		return err
	}
	return t.flush()
}

func (t *table) flush() error {
	if t.n == 0 {
		return nil
	}
	rec := t.b.NewRecordBatch()
	defer rec.Release()
	t.n = 0
	if err := t.w.Write(rec); err != nil {
		return fmt.Errorf("export: write batch: %w", err)
	}
	return nil
}

// close flushes and closes the writer (the caller releases the builder).
func (t *table) close() error {
	if err := t.flush(); err != nil {
		return err
	}
	if err := t.w.Close(); err != nil {
		return fmt.Errorf("export: close: %w", err)
	}
	return nil
}

func (t *table) f64(col int) *array.Float64Builder { return t.b.Field(col).(*array.Float64Builder) }

// appendF64 appends v, or null for NaN (a value the benchmark never recorded).
func (t *table) appendF64(col int, v float64) {
	fb := t.f64(col)
	if v != v {
		fb.AppendNull()
		return
	}
	fb.Append(v)
}

// WriteFile writes path atomically (temporary file, fsync, rename) with
// fill; on any error path is untouched.
func WriteFile(path string, fill func(w io.Writer) error) error {
	if err := index.WriteFileAtomic(path, func(f *os.File) error { return fill(f) }); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
