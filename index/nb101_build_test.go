package index

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nbquery/nbquery/space/nb101"
)

// TestNB101BuilderChunks: a table of several chunks of cells, added in a
// random order, with budgets that only some chunks (or one cell) record,
// comes out sorted by hash with every run in place and NaN wherever a
// budget or repeat is absent.
func TestNB101BuilderChunks(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(7, 11))
	n := 3*nb101ChunkRows + 17
	hashes := make([]nb101.Hash, n)
	for i := range hashes {
		for k := range hashes[i] {
			hashes[i][k] = byte(rng.IntN(256))
		}
	}
	// repeats of cell i at budget bi: 108 for all (1-3), 4 for every 5th
	// cell, 36 for cell 9000 only, 12 for none.
	reps := func(i, bi int) int {
		switch bi {
		case 3:
			return 1 + i%3
		case 0:
			if i%5 == 0 {
				return 3
			}
		case 2:
			if i == 9000 {
				return 2
			}
		}
		return 0
	}
	value := func(i, bi, r, m int) float64 { return float64(i) + float64(bi)/10 + float64(r)/100 + float64(m)/1000 }
	type add struct{ i, bi, r int }
	var adds []add
	for i := range n {
		for bi := range NB101Epochs {
			for r := range reps(i, bi) {
				adds = append(adds, add{i, bi, r})
			}
		}
	}
	rng.Shuffle(len(adds), func(a, b int) { adds[a], adds[b] = adds[b], adds[a] })
	// Repeats of a cell must keep their order: renumber them as added.
	next := map[[2]int]int{}
	b := st.NewNB101Builder()
	for _, a := range adds {
		r := next[[2]int{a.i, a.bi}]
		next[[2]int{a.i, a.bi}]++
		var run NB101Run
		for m := range run {
			run[m] = value(a.i, a.bi, r, m)
		}
		if err := b.Add(hashes[a.i], nb101.Spec{N: 2}, int64(a.i), NB101Epochs[a.bi], &run); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Commit(Source{Path: "chunks", Kind: "nb101-tfrecord", SHA256: "c0ffee"}); err != nil {
		t.Fatal(err)
	}
	tab, err := st.NB101Table()
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != n {
		t.Fatalf("%d cells, want %d", tab.Len(), n)
	}
	for row := 1; row < n; row++ {
		if tab.Hash(row-1).Compare(tab.Hash(row)) >= 0 {
			t.Fatalf("rows %d, %d not sorted by hash", row-1, row)
		}
	}
	for i, h := range hashes {
		row, ok := tab.Row(h)
		if !ok || tab.Params(row) != int64(i) {
			t.Fatalf("cell %d: row %d %v", i, row, ok)
		}
		for bi, e := range NB101Epochs {
			if got := tab.Repeats(row, e); got != reps(i, bi) {
				t.Fatalf("cell %d at %d epochs: %d repeats, want %d", i, e, got, reps(i, bi))
			}
			for r := range NB101Repeats {
				off := row*nb101Width + bi*nb101BudgetWidth + r*nb101RunWidth
				for m := range nb101RunWidth {
					got := tab.runs[off+m]
					if r < reps(i, bi) && got != value(i, bi, r, m) || r >= reps(i, bi) && !math.IsNaN(got) {
						t.Fatalf("cell %d, %d epochs, repeat %d, metric %d: %v", i, e, r, m, got)
					}
				}
			}
		}
	}
	if !tab.Has(FinalTestAccuracy, 36) || tab.Has(FinalTestAccuracy, 12) {
		t.Fatal("presence flags are wrong")
	}
}
