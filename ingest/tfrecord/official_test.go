package tfrecord

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nbquery/nbquery/index"
)

// TestTruncatedOfficialRefused: a copy named like the official file but cut
// at a record boundary is refused (store unchanged) unless forced; forced,
// it adds to the table and removes nothing; an unchanged re-ingest reports
// the file's digest.
func TestTruncatedOfficialRefused(t *testing.T) {
	st, file, _ := ingestDummy(t)
	rows := dummyRows(t)
	dir := t.TempDir()
	cut := filepath.Join(dir, "nasbench_only108.tfrecord")
	if err := os.WriteFile(cut, writeRows(t, rows[:9]), 0o644); err != nil {
		t.Fatal(err)
	}
	before := storeSnapshot(t, st.Dir())
	_, err := IngestNB101(context.Background(), st, cut, nil)
	if !errors.Is(err, ErrNotOfficial) {
		t.Fatalf("err = %v, want ErrNotOfficial", err)
	}
	t.Log(err)
	if after := storeSnapshot(t, st.Dir()); !mapsEqual(before, after) {
		t.Fatal("store changed")
	}
	res, err := IngestNB101With(context.Background(), st, cut, Options{Force: true})
	if err != nil || res.Records != 9 || res.Role == "table" {
		t.Fatalf("forced: %+v, %v; want it beside the full table, not replacing it", res, err)
	}
	// Forced, it adds: every cell of the full file stays answerable.
	tab, err := st.NB101Table()
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 30 {
		t.Fatalf("after the forced truncated copy the table has %d cells, want 30", tab.Len())
	}
	// Re-ingesting the first file: unchanged, with its digest.
	res, err = IngestNB101(context.Background(), st, file, nil)
	if !errors.Is(err, index.ErrUnchanged) || len(res.SHA256) != 64 {
		t.Fatalf("re-ingest: %+v, %v; want ErrUnchanged with the digest", res, err)
	}
}
