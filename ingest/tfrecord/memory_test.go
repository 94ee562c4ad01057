package tfrecord

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

// TestIngestHeapPerCell bounds the memory of a tfrecord ingest per cell.
// The NB101 builder keeps only the budgets a source records, in chunks,
// and streams the sorted runs column into the file: about 300 bytes per
// cell of a 108-epoch source live (before, it held every cell's 768-byte
// runs twice, ~1,700 bytes, and the full file peaked at 1.52 GiB RSS; now
// 205 MiB, BENCHMARKS.md). The peak Go heap, garbage included, must stay
// under 1,000 bytes per cell.
func TestIngestHeapPerCell(t *testing.T) {
	const cells = 40_000
	p := filepath.Join(t.TempDir(), "cells.tfrecord")
	if err := writeSynthetic(p, rand.New(rand.NewPCG(3, 4)), []int{108}, cells); err != nil {
		t.Fatal(err)
	}
	st, err := index.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var res Result
	_, peak := shared.PeakHeap(func() {
		res, err = IngestNB101With(context.Background(), st, p, Options{SkipHashCheck: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cells != cells || res.Records != 3*cells {
		t.Fatalf("%d cells, %d records", res.Cells, res.Records)
	}
	t.Logf("peak Go heap %.1f MiB for %d cells: %d bytes a cell", float64(peak)/(1<<20), cells, peak/cells)
	if peak/cells > 1000 {
		t.Fatalf("peak Go heap %d bytes a cell, want under 1,000", peak/cells)
	}
}
