package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nbquery/nbquery/index"
)

// TestMappingIsIdentity: the same CSV through another mapping is another
// source; through the same mapping it is unchanged (found by hashing the
// file before parsing) and reports its digest.
func TestMappingIsIdentity(t *testing.T) {
	ctx := context.Background()
	st, err := index.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := filepath.Join(t.TempDir(), "m.csv")
	os.WriteFile(p, []byte("index,arch_str,a\n0,"+arch0+",1\n"), 0o644)
	other := &Mapping{Index: "index", Arch: "arch_str", HP: "200", Columns: map[string]ColumnMapping{"a": {Dataset: "cifar10", Set: "ori-test", Metric: "loss"}}}
	for i, tc := range []struct {
		m         *Mapping
		unchanged bool
	}{{aMapping, false}, {aMapping, true}, {other, false}, {other, true}} {
		res, err := NB201(ctx, st, p, Options{Mapping: tc.m})
		if err != nil {
			t.Fatal(err)
		}
		if res.Unchanged != tc.unchanged || len(res.Source.SHA256) != 64 {
			t.Fatalf("ingest %d: unchanged %v (digest %q), want %v", i, res.Unchanged, res.Source.SHA256, tc.unchanged)
		}
	}
	if n := len(st.Sources(index.NB201)); n != 2 {
		t.Fatalf("%d sources, want 2 (one per mapping)", n)
	}
}
