package index

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// TestNB101Merge checks the merge rules on two synthetic sources: the union
// of cells, newer values first per column, older sources answering the
// columns a newer one lacks, and errors naming the sources.
func TestNB101Merge(t *testing.T) {
	cells := nb101TestCells(t)
	nan := math.NaN()
	valOnly := func(v float64) *NB101Run {
		return &NB101Run{nan, nan, nan, nan, nan, nan, v, nan}
	}
	// full adds cells 0 and 1 with every metric, 3 repeats; val adds cells 1
	// and 2 with the final validation accuracy only, 1 repeat.
	full := func(st *Store) {
		b := st.NewNB101Builder()
		for i, c := range cells[:2] {
			for r := range 3 {
				if err := b.Add(c.Hash, c.Spec, int64(100+i), 108, testRun(float64(10*i+r))); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := b.Commit(Source{Path: "full.json", Kind: "nb101-partial-stats-json", SHA256: "aaaa"}); err != nil {
			t.Fatal(err)
		}
	}
	val := func(st *Store) {
		b := st.NewNB101Builder()
		for _, c := range cells[1:3] {
			if err := b.Add(c.Hash, c.Spec, -1, 108, valOnly(0.5)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Commit(Source{Path: "val.csv", Kind: "nb101-partial-csv", SHA256: "bbbb"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, test := range []struct {
		name       string
		order      []func(*Store)
		c1Val      float64 // repeat 0 of cell 1's validation accuracy
		sourcesOf1 []string
	}{
		{"smaller-newer", []func(*Store){full, val}, 0.5, []string{"full.json", "val.csv"}},
		{"smaller-older", []func(*Store){val, full}, testRun(10)[FinalValidationAccuracy], []string{"val.csv", "full.json"}},
	} {
		t.Run(test.name, func(t *testing.T) {
			st, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for _, f := range test.order {
				f(st)
			}
			tab, err := st.NB101Table()
			if err != nil {
				t.Fatal(err)
			}
			if tab.Len() != 3 || len(tab.Sources()) != 2 {
				t.Fatalf("len %d, %d sources; want 3 cells of 2 sources", tab.Len(), len(tab.Sources()))
			}
			// Cell 0: only in the full source.
			r0, err := tab.QueryRepeat(cells[0].Spec, 108, false, 2)
			if err != nil || r0.TestAccuracy != testRun(2)[FinalTestAccuracy] || r0.Params != 100 {
				t.Fatalf("cell 0: %+v %v", r0, err)
			}
			// Cell 1: validation from the newer source, the rest from full.
			r1, err := tab.QueryRepeat(cells[1].Spec, 108, false, 0)
			if err != nil || r1.ValidationAccuracy != test.c1Val || r1.TestAccuracy != testRun(10)[FinalTestAccuracy] || r1.Params != 101 {
				t.Fatalf("cell 1: %+v %v", r1, err)
			}
			row1, _ := tab.Row(cells[1].Hash)
			if got := tab.CellSources(row1); !slices.Equal(got, test.sourcesOf1) {
				t.Errorf("CellSources(cell 1) = %v, want %v", got, test.sourcesOf1)
			}
			if tab.Repeats(row1, 108) != 3 {
				t.Errorf("cell 1 repeats = %d, want 3", tab.Repeats(row1, 108))
			}
			// Cell 2: validation only; the query answers it and names what
			// the source lacks.
			r2, err := tab.QueryRepeat(cells[2].Spec, 108, false, 0)
			var miss *NB101Missing
			if !errors.As(err, &miss) || !errors.Is(err, ErrUnavailable) || r2.ValidationAccuracy != 0.5 || !math.IsNaN(r2.TestAccuracy) {
				t.Fatalf("cell 2: %+v %v", r2, err)
			}
			if !slices.Equal(miss.Metrics, []string{"final_training_time", "final_train_accuracy", "final_test_accuracy"}) ||
				!slices.Equal(miss.Sources, []string{"val.csv"}) {
				t.Errorf("missing = %+v", miss)
			}
			if got := tab.SourcesWith(FinalTestAccuracy, 108); !slices.Equal(got, []string{"full.json"}) {
				t.Errorf("SourcesWith(test) = %v", got)
			}
			// Whole-table operations see every cell.
			v, err := tab.Vector(nil, NB101Select{FinalValidationAccuracy, 108, 0})
			if err != nil || len(v) != 3 || slices.ContainsFunc(v, math.IsNaN) {
				t.Fatalf("Vector = %v %v", v, err)
			}
			s, err := tab.Summary(NB101Select{FinalTestAccuracy, 108, NB101MeanRepeats})
			if err != nil || s.N != 2 {
				t.Fatalf("Summary(test) = %+v %v, want 2 cells", s, err)
			}
		})
	}
}

func TestNB101AddDistinct(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := nb101TestCells(t)[0]
	b := st.NewNB101Builder()
	defer b.Abort()
	// A query log: the same cell 7 times with 3 distinct draws.
	for _, v := range []float64{1, 2, 1, 3, 2, 3, 1} {
		if err := b.AddDistinct(c.Hash, c.Spec, -1, 108, testRun(v)); err != nil {
			t.Fatal(err)
		}
	}
	if b.Len() != 1 || b.nrep[0][3] != 3 {
		t.Fatalf("%d cells, %d repeats; want 1 cell with 3", b.Len(), b.nrep[0][3])
	}
}

// TestNB101TableNeverShrinks: a tfrecord that lacks cells or values of the
// store's table (a subset, a truncated copy) is added beside it, so every
// cell stays answerable; one that records everything the table does
// replaces it.
func TestNB101TableNeverShrinks(t *testing.T) {
	cells := nb101TestCells(t)
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tfrecord := func(sha string, n int, base float64) string {
		b := st.NewNB101Builder()
		for i, c := range cells[:n] {
			if err := b.Add(c.Hash, c.Spec, 1, 108, testRun(base+float64(i))); err != nil {
				t.Fatal(err)
			}
		}
		role, err := b.Commit(Source{Path: sha + ".tfrecord", Kind: "nb101-tfrecord", SHA256: sha})
		if err != nil {
			t.Fatal(err)
		}
		return role
	}
	check := func(stage string, n int, roles []string) {
		t.Helper()
		tab, err := st.NB101Table()
		if err != nil {
			t.Fatal(err)
		}
		if tab.Len() != n || !slices.Equal(st.NB101Roles(), roles) {
			t.Fatalf("%s: %d cells, roles %v; want %d cells, roles %v", stage, tab.Len(), st.NB101Roles(), n, roles)
		}
	}
	if role := tfrecord("aaaaaaaaaaaa", 3, 10); role != "table" {
		t.Fatalf("first tfrecord: role %q", role)
	}
	role := tfrecord("bbbbbbbbbbbb", 1, 20)
	if role == "table" {
		t.Fatal("a one-cell tfrecord replaced the three-cell table")
	}
	check("after the subset", 3, []string{role, "table"})
	if r := tfrecord("cccccccccccc", 3, 30); r != "table" {
		t.Fatalf("a covering tfrecord got role %q, want table", r)
	}
	check("after the covering one", 3, []string{role, "table"})
	tab, _ := st.NB101Table()
	row, _ := tab.Row(cells[2].Hash)
	if r, err := tab.Run(row, 108, 0); err != nil || r != *testRun(32) {
		t.Fatalf("cell 2 reads %v %v, want the newest table's", r, err)
	}
}
