package index

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nbquery/nbquery/space/nb101"
)

// Merging NB101 sources. Every ingested NB101 source (a full tfrecord, or
// partial tables keyed by hash) stays its own immutable file; opening the
// store's table merges them in memory:
//
//   - the rows are the union of every source's cells, sorted by hash;
//   - each value (metric, budget, repeat) comes from the newest source that
//     records that column and has a number for the cell: newer values take
//     precedence per column, and an older source still answers the columns a
//     newer one lacks;
//   - the number of repeats of a budget is the largest any source records;
//     the spec is the newest source's, the parameter count the newest known.
//
// With one source the table is that file, mapped, with no copy. Merging
// copies every row (about 800 bytes a cell: ~10 ms for the 30,001-cell
// slice, ~340 MB and a second for the full benchmark with partial tables
// beside it).

// maxNB101Sources bounds the sources of one merged table (rowSrc is a bit set).
const maxNB101Sources = 32

// nb101Generation is the manifest generation in a table file name
// ("nb101/nb101-0007-<sha>.arrow"), or 0.
func nb101Generation(rel string) int {
	f := strings.TrimPrefix(filepath.Base(rel), "nb101-")
	g, _, _ := strings.Cut(f, "-")
	n, _ := strconv.Atoi(g)
	return n
}

// nb101RolesByAge lists the NB101 roles oldest first.
func (s *Store) nb101RolesByAge() []string {
	roles := s.NB101Roles()
	bm := s.m.Benches[NB101]
	slices.SortStableFunc(roles, func(a, b string) int {
		return nb101Generation(bm.Extra[a]) - nb101Generation(bm.Extra[b])
	})
	return roles
}

// NB101Table opens the store's NB101 table: every ingested NB101 source
// merged (see above), so that every cell of every source is answerable.
// Each call returns a new table with its own budget counters; all share the
// store's mapping lifetime (valid until Store.Close).
func (s *Store) NB101Table() (*NB101Table, error) {
	roles := s.nb101RolesByAge()
	if len(roles) == 0 {
		return nil, fmt.Errorf("%w: no NB101 table in the store %s (run nbquery ingest nb101 on nasbench_*.tfrecord or a CSV/JSON table keyed by hash)", ErrNotFound, s.dir)
	}
	if len(roles) == 1 {
		return s.NB101TableRole(roles[0])
	}
	if len(roles) > maxNB101Sources {
		roles = roles[len(roles)-maxNB101Sources:]
	}
	layers := make([]*NB101Table, len(roles))
	for i, r := range roles {
		t, err := s.NB101TableRole(r)
		if err != nil {
			return nil, err
		}
		layers[i] = t
	}
	return mergeNB101(layers), nil
}

// mergeNB101 merges tables given oldest first.
func mergeNB101(layers []*NB101Table) *NB101Table {
	total := 0
	for _, l := range layers {
		total += l.n
	}
	// The union of the hashes, sorted.
	all := make([]nb101.Hash, 0, total)
	for _, l := range layers {
		for i := 0; i < l.n; i++ {
			all = append(all, l.Hash(i))
		}
	}
	slices.SortFunc(all, func(a, b nb101.Hash) int { return a.Compare(b) })
	all = slices.Compact(all)
	n := len(all)
	t := &NB101Table{
		role:   "merged",
		n:      n,
		hashes: make([]byte, 16*n),
		adj:    make([]uint64, n),
		ops:    make([]byte, 7*n),
		nverts: make([]uint8, n),
		params: make([]int64, n),
		nrep:   make([]byte, 4*n),
		runs:   make([]float64, n*nb101Width),
		rowSrc: make([]uint32, n),
	}
	for i, h := range all {
		copy(t.hashes[16*i:], h[:])
		t.params[i] = -1
	}
	nan := math.NaN()
	for i := range t.runs {
		t.runs[i] = nan
	}
	t.dir = prefixDir(t.hashes, n)
	var paths []string
	for li, l := range layers {
		t.srcs = append(t.srcs, l.src)
		t.srcPresent = append(t.srcPresent, l.present)
		paths = append(paths, l.src.Path)
		for m := range NumNB101Metrics {
			for bi := range NB101Epochs {
				t.present[m][bi] = t.present[m][bi] || l.present[m][bi]
			}
		}
		for i := 0; i < l.n; i++ {
			row, _ := t.Row(l.Hash(i))
			t.rowSrc[row] |= 1 << li
			t.adj[row], t.nverts[row] = l.adj[i], l.nverts[i]
			copy(t.ops[7*row:7*row+7], l.ops[7*i:7*i+7])
			if l.params[i] >= 0 {
				t.params[row] = l.params[i]
			}
			for bi := range NB101Epochs {
				nr := l.nrep[4*i+bi]
				t.nrep[4*row+bi] = max(t.nrep[4*row+bi], nr)
				for r := 0; r < int(nr); r++ {
					src := i*nb101Width + bi*nb101BudgetWidth + r*nb101RunWidth
					dst := row*nb101Width + bi*nb101BudgetWidth + r*nb101RunWidth
					for m := range NumNB101Metrics {
						if v := l.runs[src+int(m)]; l.present[m][bi] && !math.IsNaN(v) {
							t.runs[dst+int(m)] = v
						}
					}
				}
			}
		}
	}
	t.src = Source{Path: strings.Join(paths, ", "), Kind: "merged"}
	return t
}

// Sources returns the sources merged into the table, oldest first (one for
// an unmerged table).
func (t *NB101Table) Sources() []Source {
	if t.srcs == nil {
		return []Source{t.src}
	}
	return slices.Clone(t.srcs)
}

// CellSources returns the paths of the sources that hold a row's cell,
// oldest first.
func (t *NB101Table) CellSources(row int) []string {
	if t.rowSrc == nil {
		return []string{t.src.Path}
	}
	var out []string
	for i, s := range t.srcs {
		if t.rowSrc[row]&(1<<i) != 0 {
			out = append(out, s.Path)
		}
	}
	return out
}

// SourcesWith lists the paths of the sources that record metric m at a
// budget (the ones that would answer it for a cell they hold).
func (t *NB101Table) SourcesWith(m NB101Metric, epochs int) []string {
	bi := NB101BudgetIndex(epochs)
	if bi < 0 || m >= NumNB101Metrics {
		return nil
	}
	if t.srcs == nil {
		if t.present[m][bi] {
			return []string{t.src.Path}
		}
		return nil
	}
	var out []string
	for i, s := range t.srcs {
		if t.srcPresent[i][m][bi] {
			out = append(out, s.Path)
		}
	}
	return out
}
