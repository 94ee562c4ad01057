package export_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nbquery/nbquery/export"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest"
	"github.com/nbquery/nbquery/internal/shared"
)

func testBench(t *testing.T) *index.Bench {
	t.Helper()
	csv := shared.Path(t, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv")
	st, err := index.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := ingest.NB201(context.Background(), st, csv, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	b, err := st.Bench(index.NB201)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNB201RoundTrip writes the cifar10-valid table in both formats, reads
// it back with arrow-go's own readers and checks the optimum row.
func TestNB201RoundTrip(t *testing.T) {
	b := testBench(t)
	for _, f := range []export.Format{export.Parquet, export.Arrow} {
		t.Run(f.String(), func(t *testing.T) {
			var buf bytes.Buffer
			n, err := export.NB201(context.Background(), &buf, b, f, export.NB201Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if n != 15625 {
				t.Errorf("rows = %d, want 15625 (one mean row per arch)", n)
			}
			var tbl interface {
				NumRows() int64
			}
			var idx *array.Int32
			var val *array.Float64
			var arch *array.String
			switch f {
			case export.Parquet:
				pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
				if err != nil {
					t.Fatal(err)
				}
				tb, err := fr.ReadTable(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer tb.Release()
				tbl = tb
				get := func(name string) arrowChunk {
					i := tb.Schema().FieldIndices(name)[0]
					return tb.Column(i).Data().Chunk(0)
				}
				idx, val, arch = get("index").(*array.Int32), get("x-valid").(*array.Float64), get("arch").(*array.String)
			case export.Arrow:
				r, err := ipc.NewFileReader(bytes.NewReader(buf.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				rec, err := r.RecordBatch(0)
				if err != nil {
					t.Fatal(err)
				}
				tbl = rec
				get := func(name string) arrowChunk { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
				idx, val, arch = get("index").(*array.Int32), get("x-valid").(*array.Float64), get("arch").(*array.String)
			}
			if tbl.NumRows() != 15625 {
				t.Errorf("read back %d rows", tbl.NumRows())
			}
			best := 0
			for i := range val.Len() {
				if val.Value(i) > val.Value(best) {
					best = i
				}
			}
			if idx.Value(best) != 6111 || val.Value(best) != 91.60666665 ||
				arch.Value(best) != "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|" {
				t.Errorf("best row: index %d x-valid %v arch %s", idx.Value(best), val.Value(best), arch.Value(best))
			}
		})
	}
}

type arrowChunk = interface{ Len() int }

func TestFilterErrors(t *testing.T) {
	b := testBench(t)
	for _, f := range []export.NB201Filter{
		{Datasets: []string{"mnist"}},
		{HPs: []string{"7"}},
		{Indices: []int{15625}},
	} {
		var buf bytes.Buffer
		if _, err := export.NB201(context.Background(), &buf, b, export.Parquet, f); err == nil {
			t.Errorf("%+v: no error", f)
		}
	}
	if _, err := export.ParseFormat("csv"); err == nil {
		t.Error("csv accepted")
	}
}

// Exports go through WriteFile: the file appears complete or not at all.
func ExampleWriteFile() {
	dir, _ := os.MkdirTemp("", "export-example-")
	defer os.RemoveAll(dir)
	err := export.WriteFile(dir+"/out.parquet", func(w io.Writer) error {
		return fmt.Errorf("the export failed half-way")
	})
	_, statErr := os.Stat(dir + "/out.parquet")
	fmt.Println(err != nil, os.IsNotExist(statErr))
	// Output: true true
}
