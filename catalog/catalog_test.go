package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb201"
)

// commit writes one NB201 segment (one accuracy column over rows) into st.
func commit(t *testing.T, st *index.Store, sha string, rows []int, seed int) {
	t.Helper()
	w, err := st.NewSegment(index.NB201)
	if err != nil {
		t.Fatal(err)
	}
	archs := make([]string, nb201.NumCells)
	for i := range archs {
		archs[i] = nb201.FromCode(i).String()
	}
	w.SetArchs(archs)
	k := index.Key{Dataset: "cifar10-valid", HP: "200", Set: index.SetXValid, Metric: index.MetricAccuracy, Seed: seed}
	vals := make([]float64, len(rows))
	for i := range vals {
		vals[i] = float64(i + 1)
	}
	if err := w.Write(index.Frame{Rows: rows, Columns: []index.Column{{Key: k, Epochs: []int{199}, Values: vals}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(index.Source{Path: sha[:1] + ".csv", Kind: "csv", SHA256: sha}); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T) *index.Store {
	t.Helper()
	st, err := index.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestAttach: a store with the catalogue attached records every committed
// source; one without it (the query path) records nothing and never
// creates the catalogue.
func TestAttach(t *testing.T) {
	st := openStore(t)
	commit(t, st, strings.Repeat("a", 64), []int{0, 1, 2}, 777)
	if st.HasCatalog() {
		t.Fatal("a commit without the catalogue attached created it")
	}
	c := Attach(st)
	commit(t, st, strings.Repeat("b", 64), []int{4}, 888)
	if !st.HasCatalog() {
		t.Fatal("no catalogue after an attached commit")
	}
	recs, err := c.Sources()
	if err != nil || len(recs) != 1 || recs[0].Bench != index.NB201 || recs[0].Source.SHA256 != strings.Repeat("b", 64) {
		t.Fatalf("sources = %+v, %v", recs, err)
	}
}

// TestReaderDoesNotBlockWriter: a reader holding the catalogue open delays
// a commit by its hold time, it does not fail it.
func TestReaderDoesNotBlockWriter(t *testing.T) {
	st := openStore(t)
	c := Attach(st)
	commit(t, st, strings.Repeat("a", 64), []int{0, 1, 2}, 777)
	db, err := c.openMode(true)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(300*time.Millisecond, func() { db.Close() })
	start := time.Now()
	commit(t, st, strings.Repeat("b", 64), []int{4}, 888)
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Logf("commit took %v (the reader's hold was not seen)", d)
	}
	recs, err := c.Sources()
	if err != nil || len(recs) != 2 {
		t.Fatalf("catalogue: %v %v", recs, err)
	}
}

// TestTornOpen: empty files a killed open left behind do not stop the
// next write.
func TestTornOpen(t *testing.T) {
	st := openStore(t)
	c := Attach(st)
	commit(t, st, strings.Repeat("a", 64), []int{0, 1, 2}, 777)
	for _, n := range []string{"00099.mem", "000099.vlog"} {
		if err := os.WriteFile(filepath.Join(st.CatalogPath(), n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("get: %q %v", v, err)
	}
	if _, err := c.Get([]byte("absent")); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("absent key: %v", err)
	}
}
