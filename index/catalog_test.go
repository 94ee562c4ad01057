package index

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCatalogReaderDoesNotBlockWriter: a reader holding the catalogue open
// delays a commit by its hold time, it does not fail it.
func TestCatalogReaderDoesNotBlockWriter(t *testing.T) {
	_, st := hygieneStore(t)
	db, err := st.openCatalogMode(true)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(300*time.Millisecond, func() { db.Close() })
	k := Key{"cifar10-valid", "200", SetXValid, MetricAccuracy, 888}
	start := time.Now()
	commitFrames(t, st, Source{Path: "b.csv", Kind: "csv", SHA256: strings.Repeat("b", 64)}, nil,
		Frame{Rows: []int{4}, Columns: []Column{col(k, []int{199}, 1)}})
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Logf("commit took %v (the reader's hold was not seen)", d)
	}
	recs, err := st.Catalog()
	if err != nil || len(recs) != 2 {
		t.Fatalf("catalogue: %v %v", recs, err)
	}
}

// TestCatalogTornOpen: empty files a killed open left behind do not stop
// the next write.
func TestCatalogTornOpen(t *testing.T) {
	_, st := hygieneStore(t)
	cat := filepath.Join(st.Dir(), catalogDir)
	for _, n := range []string{"00099.mem", "000099.vlog"} {
		if err := os.WriteFile(filepath.Join(cat, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutCatalog([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := st.GetCatalog([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("get: %q %v", v, err)
	}
}
