package index

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/nbquery/nbquery/space/nb101"
)

// nb101TestCells returns a few real cells (README example, global optimum,
// input->output) with their hashes.
func nb101TestCells(t testing.TB) []nb101.Cell {
	t.Helper()
	specs := []struct {
		m   [][]int
		ops []string
	}{
		{[][]int{{0, 1, 1, 1, 0, 1, 0}, {0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 1, 0, 0},
			{0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 0}},
			[]string{"input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output"}},
		{[][]int{{0, 1, 1, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 1, 0, 0, 0}, {0, 0, 0, 0, 1, 0, 0},
			{0, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 0}},
			[]string{"input", "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"}},
		{[][]int{{0, 1}, {0, 0}}, []string{"input", "output"}},
	}
	var out []nb101.Cell
	for _, s := range specs {
		spec, err := nb101.NewSpec(s.m, s.ops)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, nb101.Cell{Hash: spec.Hash(), Spec: spec})
	}
	return out
}

func testRun(base float64) *NB101Run {
	var r NB101Run
	for m := range r {
		r[m] = base + float64(m)/100
	}
	return &r
}

func TestNB101BuilderRoundTrip(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cells := nb101TestCells(t)
	b := st.NewNB101Builder()
	// Cells added in reverse hash order with interleaved repeats: the table
	// must come out sorted by hash with repeats in insertion order.
	sorted := slices.Clone(cells)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Hash.Compare(sorted[j].Hash) < 0 })
	for r := range 3 {
		for i := len(sorted) - 1; i >= 0; i-- {
			c := sorted[i]
			if err := b.Add(c.Hash, c.Spec, int64(1000+i), 108, testRun(float64(10*i+r))); err != nil {
				t.Fatal(err)
			}
		}
	}
	partialRun := NB101Run{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), 0.5, math.NaN()}
	if err := b.Add(sorted[0].Hash, sorted[0].Spec, -1, 12, &partialRun); err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		name   string
		epochs int
	}{{"bad-budget", 100}, {"fourth-repeat", 108}} {
		t.Run(test.name, func(t *testing.T) {
			if err := b.Add(sorted[0].Hash, sorted[0].Spec, 1, test.epochs, testRun(0)); !errors.Is(err, ErrNB101Input) {
				t.Fatalf("err = %v, want ErrNB101Input", err)
			}
		})
	}
	role, err := b.Commit(Source{Path: "synthetic", Kind: "nb101-tfrecord", SHA256: "abc123"})
	if err != nil || role != "table" {
		t.Fatalf("commit: %q %v", role, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nb101", "nb101-0001-abc123.dir")); err != nil {
		t.Fatalf("prefix directory not written: %v", err)
	}
	// A second store handle sees the table.
	st2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	tab, err := st2.NB101Table()
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 3 || !slices.Equal(st2.NB101Roles(), []string{"table"}) {
		t.Fatalf("len %d roles %v", tab.Len(), st2.NB101Roles())
	}
	for i, c := range sorted {
		row, ok := tab.Row(c.Hash)
		if !ok || row != i || tab.Hash(row) != c.Hash || tab.Spec(row) != c.Spec || tab.Params(row) != int64(1000+i) {
			t.Fatalf("cell %d: row %d %v", i, row, ok)
		}
		for r := range 3 {
			got, err := tab.Run(row, 108, r)
			if err != nil || got != *testRun(float64(10*i + r)) {
				t.Fatalf("cell %d repeat %d: %v %v", i, r, got, err)
			}
		}
	}
	if !tab.Has(FinalValidationAccuracy, 12) || tab.Has(FinalTestAccuracy, 12) || !tab.Has(FinalTestAccuracy, 108) || tab.Has(FinalTestAccuracy, 4) {
		t.Fatal("presence flags are wrong")
	}
	if v, err := tab.Value(0, NB101Select{FinalValidationAccuracy, 12, 0}); err != nil || v != 0.5 {
		t.Fatalf("value at 12: %v %v", v, err)
	}
	if _, err := tab.Value(1, NB101Select{FinalValidationAccuracy, 12, 0}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("cell without a 12-epoch run: %v", err)
	}
	var missing nb101.Hash
	if _, ok := tab.Row(missing); ok {
		t.Fatal("zero hash found")
	}
	t.Run("unchanged", func(t *testing.T) {
		b := st2.NewNB101Builder()
		b.Add(sorted[0].Hash, sorted[0].Spec, 1, 108, testRun(0))
		if _, err := b.Commit(Source{Path: "again", Kind: "nb101-tfrecord", SHA256: "abc123"}); !errors.Is(err, ErrUnchanged) {
			t.Fatalf("err = %v, want ErrUnchanged", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if _, err := st2.NewNB101Builder().Commit(Source{Path: "empty", Kind: "x"}); !errors.Is(err, ErrNB101Input) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "nb101", "nb101-0001-abc123.arrow"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := openNB101(data); err != nil {
			t.Fatalf("intact file: %v", err)
		}
		for _, test := range []struct {
			name string
			data []byte
			want error
		}{
			{"not-arrow", []byte("not an arrow file"), ErrCorrupt},
			{"truncated", data[:len(data)/2], ErrCorrupt},
			{"other-version", bytes.Replace(data, []byte(nb101Schema), []byte("nbquery.nb101.v9"), -1), ErrSchemaVersion},
		} {
			t.Run(test.name, func(t *testing.T) {
				if _, err := openNB101(test.data); !errors.Is(err, test.want) {
					t.Fatalf("err = %v, want %v", err, test.want)
				}
			})
		}
	})
	t.Run("no-table", func(t *testing.T) {
		st3, _ := Open(t.TempDir())
		if _, err := st3.NB101Table(); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}

// synthNB101 builds a SYNTHETIC full-size NB101 store (every enumerated cell,
// 3 repeats x 4 budgets of made-up metrics) for benchmarks.
func synthNB101(b *testing.B) string {
	b.Helper()
	cells, err := nb101.All()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	st, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(5, 6))
	bl := st.NewNB101Builder()
	var run NB101Run
	for _, c := range cells {
		for _, e := range NB101Epochs {
			for range 3 {
				for m := range run {
					run[m] = r.Float64()
				}
				bl.Add(c.Hash, c.Spec, int64(r.IntN(5e7)), e, &run)
			}
		}
	}
	if _, err := bl.Commit(Source{Path: "SYNTHETIC", Kind: "nb101-tfrecord", SHA256: "5717e71c"}); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkNB101 runs the query benchmarks on one SYNTHETIC full-size table
// (built once, ~10 s), reporting p50/p99 latencies per call.
func BenchmarkNB101(b *testing.B) {
	dir := synthNB101(b)
	cells, _ := nb101.All()
	// Cells in a random order, laid out sequentially so that the harness
	// itself does not add a cache miss per call.
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(cells), func(i, j int) { cells[i], cells[j] = cells[j], cells[i] })
	open := func(b *testing.B) *NB101Table {
		st, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		tab, err := st.NB101Table()
		if err != nil || tab.Len() != nb101.NumCells {
			b.Fatal(err)
		}
		return tab
	}
	b.Run("QueryHash", func(b *testing.B) {
		tab := open(b)
		r := rand.New(rand.NewPCG(1, 1))
		reportP50(b, func(i int) {
			if _, err := tab.QueryHash(cells[i%len(cells)].Hash, 108, false, r); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("GetMetricsFromHash", func(b *testing.B) {
		tab := open(b)
		reportP50(b, func(i int) {
			if _, err := tab.GetMetricsFromHash(cells[i%len(cells)].Hash); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("QuerySpec", func(b *testing.B) {
		tab := open(b)
		r := rand.New(rand.NewPCG(1, 1))
		reportP50(b, func(i int) {
			if _, err := tab.Query(cells[i%len(cells)].Spec, 108, false, r); err != nil {
				b.Fatal(err)
			}
		})
	})
	// index.Open + Store.NB101Table (mmap, schema, stored prefix directory).
	b.Run("Open", func(b *testing.B) {
		reportP50(b, func(int) {
			st, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.NB101Table(); err != nil {
				b.Fatal(err)
			}
			st.Close()
		})
	})
	b.Run("TopK10", func(b *testing.B) {
		tab := open(b)
		sel := NB101Select{FinalTestAccuracy, 108, NB101MeanRepeats}
		for b.Loop() {
			if _, err := tab.TopK(sel, 10, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportP50 times each call of fn and reports the median and 99th percentile.
func reportP50(b *testing.B, fn func(i int)) {
	lat := make([]time.Duration, 0, 1024)
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		fn(i)
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
