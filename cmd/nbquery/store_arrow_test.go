//go:build !nbquery_light

package main

import (
	"bytes"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/nbquery/nbquery/internal/arrowfile"
)

// TestStoreFilesReadByArrowGo: every Arrow file of a store ingested from
// the real NB201 tables and NB101 cells (written by internal/arrowfile)
// reads the same in arrow-go as in internal/arrowfile, value by value:
// the store stays readable by other Arrow readers.
func TestStoreFilesReadByArrowGo(t *testing.T) {
	store := nb201StoreDir(t)
	files, values := 0, 0
	err := filepath.WalkDir(store, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, ".arrow") {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		ours, err := arrowfile.Open(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r, err := ipc.NewFileReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("arrow-go: %s: %v", path, err)
		}
		defer r.Close()
		if r.NumRecords() != ours.NumBatches() || r.Schema().NumFields() != len(ours.Schema().Fields) {
			t.Fatalf("%s: arrow-go reads %d batches of %d fields, arrowfile %d of %d", path, r.NumRecords(), r.Schema().NumFields(), ours.NumBatches(), len(ours.Schema().Fields))
		}
		for _, kv := range ours.Schema().Metadata {
			if v, ok := r.Schema().Metadata().GetValue(kv.Key); !ok || v != kv.Value {
				t.Errorf("%s: metadata %s: arrow-go %q, arrowfile %q", path, kv.Key, v, kv.Value)
			}
		}
		for bi := range ours.NumBatches() {
			b, err := ours.Batch(bi)
			if err != nil {
				t.Fatalf("%s batch %d: %v", path, bi, err)
			}
			rec, err := r.RecordBatchAt(bi)
			if err != nil {
				t.Fatalf("arrow-go: %s batch %d: %v", path, bi, err)
			}
			if int(rec.NumRows()) != b.Rows {
				t.Fatalf("%s batch %d: %d rows in arrow-go, %d in arrowfile", path, bi, rec.NumRows(), b.Rows)
			}
			for j, f := range ours.Schema().Fields {
				values += compareColumn(t, path, f, rec.Column(j), b.Columns[j], b.Rows)
			}
			rec.Release()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 6 || values < 15625*30 {
		t.Fatalf("compared %d values in %d files: the store is smaller than the real tables", values, files)
	}
	t.Logf("%d values in %d files agree", values, files)
}

// compareColumn compares one column value by value (floats by their bits,
// so NaNs count) and returns the number of values compared.
func compareColumn(t *testing.T, path string, f arrowfile.Field, a arrow.Array, c arrowfile.Column, rows int) int {
	t.Helper()
	if a.NullN() != 0 {
		t.Fatalf("%s %s: %d nulls", path, f.Name, a.NullN())
	}
	switch x := a.(type) {
	case *array.String:
		for i := range rows {
			if s, ok := c.Str(i); !ok || x.Value(i) != s {
				t.Fatalf("%s %s row %d: %q vs %q", path, f.Name, i, x.Value(i), s)
			}
		}
		return rows
	case *array.FixedSizeList:
		vals := x.ListValues().(*array.Float64).Float64Values()
		return compareFloats(t, path, f.Name, vals, arrowfile.Float64s(c.Data))
	case *array.Float64:
		return compareFloats(t, path, f.Name, x.Float64Values(), arrowfile.Float64s(c.Data))
	}
	// Fixed-width integers and binaries: the value bytes.
	got := a.Data().Buffers()[1].Bytes()
	if !bytes.Equal(got[:len(c.Data)], c.Data) || len(got) < len(c.Data) {
		t.Fatalf("%s %s (%s): the values differ", path, f.Name, f.Type)
	}
	return rows
}

func compareFloats(t *testing.T, path, name string, theirs, ours []float64) int {
	t.Helper()
	if len(theirs) != len(ours) {
		t.Fatalf("%s %s: %d values in arrow-go, %d in arrowfile", path, name, len(theirs), len(ours))
	}
	for i := range ours {
		if math.Float64bits(theirs[i]) != math.Float64bits(ours[i]) {
			t.Fatalf("%s %s value %d: %v vs %v", path, name, i, theirs[i], ours[i])
		}
	}
	return len(ours)
}
