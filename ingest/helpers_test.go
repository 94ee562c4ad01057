package ingest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

// recStore records segments in memory so tests can read frames back.
type recStore struct {
	archs map[string][]string
	segs  []*recSeg
}

type recSeg struct {
	bench     string
	archs     []string
	frames    []index.Frame
	src       index.Source
	committed bool
	aborted   bool
	// violations lists breaches of the SegmentWriter contract by ingest.
	violations []string
}

func (s *recStore) NewSegment(bench string) (segWriter, error) {
	g := &recSeg{bench: bench}
	s.segs = append(s.segs, g)
	return g, nil
}

func (s *recStore) Sources(string) []index.Source { return nil }

func (s *recStore) Archs(bench string) ([]string, error) {
	if a, ok := s.archs[bench]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("rec: %w", index.ErrNotFound)
}

func (g *recSeg) SetArchs(a []string) { g.archs = a }
func (g *recSeg) Write(f index.Frame) error {
	bad := func(format string, a ...any) error {
		g.violations = append(g.violations, fmt.Sprintf(format, a...))
		return fmt.Errorf("recorder: "+format, a...)
	}
	if len(f.Rows) == 0 {
		return bad("empty frame")
	}
	prev := -1
	if n := len(g.frames); n > 0 {
		last := g.frames[n-1].Rows
		prev = last[len(last)-1]
	}
	for _, r := range f.Rows {
		if r <= prev {
			return bad("row %d after %d: rows not ascending", r, prev)
		}
		prev = r
	}
	seen := map[index.Key]bool{}
	for _, c := range f.Columns {
		if len(c.Values) != len(f.Rows)*c.Width() {
			return bad("column %s: %d values for %d rows", c.Key, len(c.Values), len(f.Rows))
		}
		if seen[c.Key] {
			return bad("duplicate column %s", c.Key)
		}
		seen[c.Key] = true
		if !slices.IsSorted(c.Epochs) {
			return bad("column %s: epochs not sorted", c.Key)
		}
	}
	g.frames = append(g.frames, f)
	return nil
}
func (g *recSeg) Commit(src index.Source) error { g.src, g.committed = src, true; return nil }
func (g *recSeg) Abort()                        { g.aborted = true }

// value returns the stored value of row at key and epoch (-1: epoch-free).
func (g *recSeg) value(row int, k index.Key, epoch int) (float64, bool) {
	for _, f := range g.frames {
		i := slices.Index(f.Rows, row)
		if i < 0 {
			continue
		}
		for _, c := range f.Columns {
			if c.Key != k {
				continue
			}
			j := 0
			if epoch >= 0 {
				if j = slices.Index(c.Epochs, epoch); j < 0 {
					return 0, false
				}
			}
			v := c.Values[i*c.Width()+j]
			return v, !math.IsNaN(v)
		}
	}
	return 0, false
}

func (g *recSeg) rows() []int {
	var r []int
	for _, f := range g.frames {
		r = append(r, f.Rows...)
	}
	return r
}

func (g *recSeg) keys() []index.Key {
	if len(g.frames) == 0 {
		return nil
	}
	var ks []index.Key
	for _, c := range g.frames[0].Columns {
		ks = append(ks, c.Key)
	}
	return ks
}

// runRec ingests path into a fresh recorder and returns the one segment.
func runRec(t testing.TB, bench, path string, opt Options, stored map[string][]string) (*recSeg, Result) {
	t.Helper()
	rs := &recStore{archs: stored}
	res, err := ingest(context.Background(), rs, bench, path, opt)
	if err != nil {
		t.Fatalf("ingest %s: %v", path, err)
	}
	if len(rs.segs) != 1 || !rs.segs[0].committed {
		t.Fatalf("want one committed segment, got %d", len(rs.segs))
	}
	return rs.segs[0], res
}

func key(ds, hp, set, metric string, seed int) index.Key {
	return index.Key{Dataset: ds, HP: hp, Set: set, Metric: metric, Seed: seed}
}

// hashTree returns path -> sha256 of every file under dir ("" if dir is absent).
func hashTree(t testing.TB, dir string) map[string]string { return shared.TreeDigest(t, dir) }

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// bz2Bytes compresses b with the system-independent encoder in this test
// package (Go has no bzip2 writer; see bzip2w_test.go).
func bz2Bytes(t testing.TB, b []byte) []byte {
	t.Helper()
	return bzip2Encode(b)
}

func bz2Text(t testing.TB) []byte { return bz2Bytes(t, []byte("hello, this is not a pickle\n")) }
