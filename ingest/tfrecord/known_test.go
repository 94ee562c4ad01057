package tfrecord

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/space/nb101"
)

// isomorph returns a valid relabelling of s's intermediate vertices (the
// matrix stays upper-triangular) with another matrix and the same hash.
func isomorph(t *testing.T, s nb101.Spec) nb101.Spec {
	t.Helper()
	n := int(s.N)
	m, ops := s.Matrix(), s.OpNames()
	perm := make([]int, n)
	var try func(k int, used uint) (nb101.Spec, bool)
	try = func(k int, used uint) (nb101.Spec, bool) {
		if k == n-1 {
			perm[0], perm[n-1] = 0, n-1
			pm := make([][]int, n)
			po := make([]string, n)
			for i := range pm {
				pm[i] = make([]int, n)
			}
			for i := range n {
				po[perm[i]] = ops[i]
				for j := range n {
					if m[i][j] == 1 {
						if perm[i] >= perm[j] {
							return nb101.Spec{}, false
						}
						pm[perm[i]][perm[j]] = 1
					}
				}
			}
			p, err := nb101.NewSpec(pm, po)
			if err != nil || p.Adj == s.Adj && p.Ops == s.Ops || p.Hash() != s.Hash() {
				return nb101.Spec{}, false
			}
			return p, true
		}
		for v := 1; v < n-1; v++ {
			if used&(1<<v) == 0 {
				perm[k] = v
				if p, ok := try(k+1, used|1<<v); ok {
					return p, true
				}
			}
		}
		return nb101.Spec{}, false
	}
	p, ok := try(1, 0)
	if !ok {
		t.Skipf("%s has no other valid labelling", s)
	}
	return p
}

// TestPartialKnownMatrix: a table that gives a cell only by hash takes the
// matrix the store already records for it (here an isomorph of the
// benchmark's, from an earlier source), without enumerating the space, and
// re-ingesting it costs a hash of the file (ErrUnchanged).
func TestPartialKnownMatrix(t *testing.T) {
	var recs []map[string]any
	raw, err := os.ReadFile(shared.Path(t, "nb101_naslib_dummy/nb101_dummy.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatal(err)
	}
	var spec nb101.Spec
	var rec map[string]any
	for _, r := range recs {
		var m [][]int
		b, _ := json.Marshal(r["module_adjacency"])
		json.Unmarshal(b, &m)
		var ops []string
		b, _ = json.Marshal(r["module_operations"])
		json.Unmarshal(b, &ops)
		if s, err := nb101.NewSpec(m, ops); err == nil && s.N == 7 {
			spec, rec = s, r
			break
		}
	}
	if rec == nil {
		t.Fatal("no 7-vertex cell in the dummy file")
	}
	iso := isomorph(t, spec)
	rec["module_adjacency"], rec["module_operations"] = iso.Matrix(), iso.OpNames()
	dir := t.TempDir()
	first := filepath.Join(dir, "first.json")
	b, _ := json.Marshal([]any{rec})
	if err := os.WriteFile(first, b, 0o644); err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(dir, "second.csv")
	if err := os.WriteFile(second, []byte("hash,val_acc_108\n"+spec.Hash().String()+",0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := index.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := IngestNB101Partial(context.Background(), st, first, nil); err != nil {
		t.Fatal(err)
	}
	res, err := IngestNB101Partial(context.Background(), st, second, nil)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := st.NB101TableRole(res.Role)
	if err != nil {
		t.Fatal(err)
	}
	row, ok := tab.Row(spec.Hash())
	if !ok {
		t.Fatal("cell missing from the second table")
	}
	if got := tab.Spec(row); got != iso {
		t.Errorf("second table's matrix %s, want the store's %s (the benchmark's is %s)", got, iso, spec)
	}
	if _, err := IngestNB101Partial(context.Background(), st, second, nil); !errors.Is(err, index.ErrUnchanged) {
		t.Errorf("re-ingest: %v, want ErrUnchanged", err)
	}
}
