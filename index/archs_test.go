package index

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nbquery/nbquery/internal/arrowfile"
)

// TestArchsDamagedOffsets: the arch list's utf8 offsets are checked where
// an arch is read; a damaged one is ErrCorrupt for the indexes it bounds,
// and the others still read.
func TestArchsDamagedOffsets(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	archs := testArchs()
	k := Key{"cifar10-valid", "200", SetXValid, MetricAccuracy, SeedMean}
	commitFrames(t, st, Source{Path: "a.csv", Kind: "csv", SHA256: "aa"}, archs, Frame{Rows: []int{0}, Columns: []Column{col(k, nil, 1)}})
	st.Close()
	files, _ := filepath.Glob(filepath.Join(dir, NB201, "archs-*.arrow"))
	if len(files) != 1 {
		t.Fatalf("arch files %v", files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	// The offsets of indexes 0..2; index 1's end is set past the data.
	o := []int32{0, int32(len(archs[0])), int32(len(archs[0]) + len(archs[1]))}
	at := bytes.Index(data, arrowfile.Bytes(o))
	if at < 0 {
		t.Fatal("offsets not found")
	}
	copy(data[at+8:], arrowfile.Bytes([]int32{1 << 30}))
	if err := os.WriteFile(files[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := st.Bench(NB201)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{nil, ErrCorrupt, ErrCorrupt, nil} {
		a, err := b.Arch(i)
		if !errors.Is(err, want) || (want == nil && a != archs[i]) {
			t.Errorf("Arch(%d) = %q, %v; want %v", i, a, err, want)
		}
	}
	if _, err := st.Archs(NB201); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Archs: %v, want ErrCorrupt", err)
	}
}
