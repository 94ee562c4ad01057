package index

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
)

// hygieneStore is a store with one small NB201 segment.
func hygieneStore(t *testing.T) (string, *Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	k := Key{"cifar10-valid", "200", SetXValid, MetricAccuracy, 777}
	commitFrames(t, st, Source{Path: "a.csv", Kind: "csv", SHA256: strings.Repeat("a", 64)}, testArchs(),
		Frame{Rows: []int{0, 1, 2}, Columns: []Column{col(k, []int{199}, 1, 2, 3)}})
	return dir, st
}

func segFile(t *testing.T, st *Store) string {
	t.Helper()
	return filepath.Join(st.Dir(), st.m.Benches[NB201].Segments[0].File)
}

func TestVerifyAndDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(p string)
		query  bool // the damage shows at open (size), not only in verify
	}{
		{"flipped byte", func(p string) {
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o644)
		}, false},
		{"truncated", func(p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-9], 0o644)
		}, true},
		{"deleted", func(p string) { os.Remove(p) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, st := hygieneStore(t)
			if probs, err := st.Verify(); err != nil || len(probs) != 0 {
				t.Fatalf("fresh store: %v %v", probs, err)
			}
			p := segFile(t, st)
			tc.damage(p)
			probs, err := st.Verify()
			if err != nil || len(probs) != 1 || probs[0].File != st.m.Benches[NB201].Segments[0].File {
				t.Fatalf("verify: %v %v", probs, err)
			}
			t.Log(probs)
			st2, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st2.Close()
			_, err = st2.Bench(NB201)
			if tc.query {
				if !errors.Is(err, ErrDamaged) || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "store damaged: "+p) {
					t.Fatalf("open of a damaged bench: %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestManifestConfinedAndLockNoFollow(t *testing.T) {
	dir, _ := hygieneStore(t)
	mp := filepath.Join(dir, manifestName)
	b, _ := os.ReadFile(mp)
	bad := strings.Replace(string(b), `"archs":"nb201/`, `"archs":"../../../../etc/passwd`, 1)
	if bad == string(b) {
		t.Fatal("no archs path in the manifest")
	}
	os.WriteFile(mp, []byte(bad), 0o644)
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("manifest naming /etc/passwd: %v", err)
	}
	os.WriteFile(mp, b, 0o644)

	lock := filepath.Join(dir, "LOCK")
	os.Remove(lock)
	target := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(target, []byte("keep"), 0o644)
	if err := os.Symlink(target, lock); err != nil {
		t.Fatal(err)
	}
	st, _ := Open(dir)
	defer st.Close()
	if _, err := st.GC(); err == nil {
		t.Fatal("a LOCK symlink was followed")
	}
}

// TestValidateBeforeWrite: a column name the manifest cannot encode fails
// the commit before any byte of the store changes.
func TestValidateBeforeWrite(t *testing.T) {
	dir, st := hygieneStore(t)
	before := shared.TreeDigest(t, dir)
	w, _ := st.NewSegment(NB201)
	k := Key{"cifar 10", "200", SetXValid, MetricAccuracy, 777}
	if err := w.Write(Frame{Rows: []int{5}, Columns: []Column{col(k, []int{199}, 1)}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(Source{Path: "b.csv", Kind: "csv", SHA256: strings.Repeat("b", 64)}); err == nil {
		t.Fatal("commit of an unencodable column succeeded")
	}
	if diff := shared.DiffTrees(before, shared.TreeDigest(t, dir)); len(diff) > 0 {
		t.Fatalf("store changed: %v", diff)
	}
}

// TestGC: temp files of dead writers and unreferenced segments go; a live
// writer's temp file and referenced files stay.
func TestGC(t *testing.T) {
	dir, st := hygieneStore(t)
	dead := filepath.Join(dir, NB201, ".seg.tmp-123")
	os.WriteFile(dead, []byte("x"), 0o644)
	orphan := filepath.Join(dir, NB201, "seg-0099-abcdefabcdef.arrow")
	os.WriteFile(orphan, []byte("x"), 0o644)
	live, err := os.CreateTemp(filepath.Join(dir, NB201), ".seg.tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	lockTemp(live)
	res, err := st.GC()
	if err != nil {
		t.Fatal(err)
	}
	if removed := res.Removed; len(removed) != 2 {
		t.Fatalf("removed %v, want the dead temp file and the orphan", removed)
	}
	for _, p := range []string{live.Name(), segFile(t, st)} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed", p)
		}
	}
	if probs, err := st.Verify(); err != nil || len(probs) != 0 {
		t.Fatalf("verify after gc: %v %v", probs, err)
	}
}

// TestGCKeepsWhatReadersMayMap: a table superseded by a newer one stays
// while a reader that opened the store before the commit is still open
// (it maps the table it read in its manifest, lazily), and goes at the
// first GC after that reader closed.
func TestGCKeepsWhatReadersMayMap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	cells := nb101TestCells(t)
	commit := func(sha string, base float64) string {
		st, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		b := st.NewNB101Builder()
		for i, c := range cells {
			if err := b.Add(c.Hash, c.Spec, 1, 108, testRun(base+float64(i))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Commit(Source{Path: sha + ".tfrecord", Kind: "nb101-tfrecord", SHA256: strings.Repeat(sha, 64)}); err != nil {
			t.Fatal(err)
		}
		f, _ := st.ExtraFile(NB101, "table")
		return f
	}
	old := commit("a", 10)
	reader, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if now := commit("b", 20); now == old {
		t.Fatal("the second table did not supersede the first")
	}
	// A GC by another process (a Store of its own, registered as a
	// reader too) while the reader is open keeps the old table.
	gc := func() GCResult {
		st, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		res, err := st.GC()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	want := []string{filepath.Join(NB101, "nb101-0001-aaaaaaaaaaaa.arrow"), filepath.Join(NB101, "nb101-0001-aaaaaaaaaaaa.dir")}
	if res := gc(); len(res.Removed) != 0 || !slices.Equal(res.Kept, want) {
		t.Fatalf("GC removed %v and kept %v while a reader of the old manifest was open, want %v kept", res.Removed, res.Kept, want)
	}
	tab, err := reader.NB101Table()
	if err != nil {
		t.Fatalf("reader of the old manifest: %v", err)
	}
	row, _ := tab.Row(cells[0].Hash)
	if r, err := tab.Run(row, 108, 0); err != nil || r != *testRun(10) {
		t.Fatalf("reader of the old manifest reads %v %v, want the first table's values", r, err)
	}
	reader.Close()
	removed := gc().Removed
	if !slices.Equal(removed, want) {
		t.Fatalf("GC after the reader closed removed %v, want %v", removed, want)
	}
	if _, err := os.Stat(old); err == nil {
		t.Fatal("the superseded table is still there")
	}
}
