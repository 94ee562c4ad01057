package index

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nbquery/nbquery/internal/arrowfile"

	"github.com/nbquery/nbquery/space/nb101"
)

// NB101Builder collects the rows of one NB101 source and commits them as a
// table sorted by hash (the source need not be sorted). Memory: the runs of
// a budget are held only for the budgets the source records, in chunks of
// nb101ChunkRows cells (no copy as the table grows), and the sorted runs
// column is streamed into the file rather than built: about 250 bytes per
// cell for a 108-epoch source (nasbench_only108: ~110 MB), 820 for all four
// budgets, plus the hash map.
type NB101Builder struct {
	st      *Store
	rows    map[nb101.Hash]int32
	hashes  []nb101.Hash
	specs   []nb101.Spec
	params  []int64
	nrep    [][4]uint8
	runs    [len(NB101Epochs)][][]float64 // [budget][chunk]: nb101BudgetWidth per cell, nil until used
	present [NumNB101Metrics][len(NB101Epochs)]bool
	done    bool

	known     *NB101Table // the store's merged NB101 table (KnownSpec)
	knownRead bool
}

// nb101ChunkRows is the number of cells per chunk of a budget's runs.
const nb101ChunkRows = 4096

// NewNB101Builder starts an NB101 table.
func (s *Store) NewNB101Builder() *NB101Builder {
	return &NB101Builder{st: s, rows: map[nb101.Hash]int32{}}
}

// Len returns the number of cells added so far.
func (b *NB101Builder) Len() int { return len(b.hashes) }

// budgetRuns returns the runs of cell row at budget bi (nb101BudgetWidth
// values), or nil if none is recorded and alloc is false.
func (b *NB101Builder) budgetRuns(row int32, bi int, alloc bool) []float64 {
	c, k := int(row)/nb101ChunkRows, int(row)%nb101ChunkRows
	chunks := b.runs[bi]
	if c >= len(chunks) || chunks[c] == nil {
		if !alloc {
			return nil
		}
		for len(b.runs[bi]) <= c {
			b.runs[bi] = append(b.runs[bi], nil)
		}
		chunk := make([]float64, nb101ChunkRows*nb101BudgetWidth)
		for i := range chunk {
			chunk[i] = math.NaN()
		}
		b.runs[bi][c] = chunk
		chunks = b.runs[bi]
	}
	return chunks[c][k*nb101BudgetWidth : (k+1)*nb101BudgetWidth]
}

// Add records one repeat of the cell h at a budget, as one tfrecord row does:
// the first row of a hash fixes its spec and parameter count (api.py's
// fixed_statistics); repeats are numbered in the order they are added.
// NaN values mark metrics the source does not record; params < 0 means
// unknown.
func (b *NB101Builder) Add(h nb101.Hash, spec nb101.Spec, params int64, epochs int, run *NB101Run) error {
	if b.done {
		panic("index: NB101Builder.Add after Commit or Abort")
	}
	bi := NB101BudgetIndex(epochs)
	if bi < 0 {
		return fmt.Errorf("%w: cell %s: epochs %d is not one of 4, 12, 36, 108", ErrNB101Input, h, epochs)
	}
	row, ok := b.rows[h]
	if !ok {
		row = int32(len(b.hashes))
		b.rows[h] = row
		b.hashes = append(b.hashes, h)
		b.specs = append(b.specs, spec)
		b.params = append(b.params, params)
		b.nrep = append(b.nrep, [4]uint8{})
	} else if b.params[row] < 0 {
		// The first row that knows it fixes it: sources may disagree (NASLib's
		// zero-cost log counts parameters per matrix, so isomorphs of one
		// cell differ), the official API has one value per cell.
		b.params[row] = params
	}
	r := int(b.nrep[row][bi])
	if r >= NB101Repeats {
		return fmt.Errorf("%w: cell %s listed with more than %d distinct runs at %d epochs (NAS-Bench-101 trains each cell %d times per budget; identical rows count once)",
			ErrNB101Input, h, NB101Repeats, epochs, NB101Repeats)
	}
	b.nrep[row][bi]++
	dst := b.budgetRuns(row, bi, true)[r*nb101RunWidth:]
	for m, v := range run {
		dst[m] = v
		if !math.IsNaN(v) {
			b.present[m][bi] = true
		}
	}
	return nil
}

// AddDistinct is Add, except that a run equal to one already recorded for
// the cell at that budget (bit for bit, absent values alike) is skipped:
// sources that list one randomly drawn repeat per row repeat rows (NASLib's
// query logs hold one cell up to 55 times, with 3 distinct values).
func (b *NB101Builder) AddDistinct(h nb101.Hash, spec nb101.Spec, params int64, epochs int, run *NB101Run) error {
	if row, ok := b.rows[h]; ok {
		if bi := NB101BudgetIndex(epochs); bi >= 0 {
			runs := b.budgetRuns(row, bi, false)
			for r := 0; r < int(b.nrep[row][bi]); r++ {
				got := runs[r*nb101RunWidth:]
				same := true
				for m, v := range run {
					if math.Float64bits(got[m]) != math.Float64bits(v) {
						same = false
						break
					}
				}
				if same {
					return nil
				}
			}
		}
	}
	return b.Add(h, spec, params, epochs, run)
}

// Abort discards the builder.
func (b *NB101Builder) Abort() {
	b.done = true
	*b = NB101Builder{done: true}
}

func (b *NB101Builder) Commit(src Source) (role string, err error) {
	if b.done {
		panic("index: NB101Builder.Commit after Commit or Abort")
	}
	defer func() { b.done = true }()
	cells := len(b.hashes)
	if cells == 0 {
		return "", fmt.Errorf("%w: NB101 source %s: no rows", ErrNB101Input, src.Path)
	}
	st := b.st
	unlock, err := st.lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	if err := st.reloadManifest(); err != nil {
		return "", err
	}
	m := cloneManifest(st.m)
	bm := m.Benches[NB101]
	if bm == nil {
		bm = &benchManifest{}
		m.Benches[NB101] = bm
	}
	for _, sg := range bm.Segments {
		if src.SHA256 != "" && sg.Source.SHA256 == src.SHA256 && sg.Source.Kind == src.Kind {
			return "", fmt.Errorf("%w: %s (as %s)", ErrUnchanged, src.Path, sg.Source.Path)
		}
	}
	role = nb101RoleTable
	if src.Kind != "nb101-tfrecord" {
		role = fmt.Sprintf("%s%04d-%s", nb101RolePartial, m.Generation+1, shortSHA(src.SHA256))
	} else if old := bm.Extra[nb101RoleTable]; old != "" {
		// A tfrecord replaces the store's table only if it records every
		// value the old one does; else (a subset, a truncated copy) it is
		// added beside it like a partial table: an ingest never removes
		// what another source provided.
		covers, err := b.covers(filepath.Join(st.dir, old))
		if err != nil {
			return "", err
		}
		if !covers {
			role = fmt.Sprintf("%s%04d-%s", nb101RolePartial, m.Generation+1, shortSHA(src.SHA256))
		}
	}
	rel := filepath.Join(NB101, fmt.Sprintf("nb101-%04d-%s.arrow", m.Generation+1, shortSHA(src.SHA256)))
	var dir []uint32
	if err := WriteFileAtomic(filepath.Join(st.dir, rel), func(f *os.File) (err error) {
		dir, err = b.write(f, src)
		return err
	}); err != nil {
		return "", err
	}
	// The hash-prefix directory goes beside the table so that opening needs
	// no pass over the hash column.
	dirPath := filepath.Join(st.dir, nb101DirFile(rel))
	if err := WriteFileAtomic(dirPath, func(f *os.File) error {
		_, err := f.Write(arrowfile.Bytes(dir))
		return err
	}); err != nil {
		os.Remove(filepath.Join(st.dir, rel))
		return "", err
	}
	if bm.Extra == nil {
		bm.Extra = map[string]string{}
	}
	bm.Extra[role] = rel
	bm.Segments = append(bm.Segments, segManifest{Source: src, Rows: cells})
	m.Generation++
	if err := st.recordSource(NB101, src); err != nil {
		os.Remove(filepath.Join(st.dir, rel))
		os.Remove(dirPath)
		return "", err
	}
	if err := st.writeManifest(m); err != nil {
		os.Remove(filepath.Join(st.dir, rel))
		os.Remove(dirPath)
		return "", err
	}
	st.m = m
	st.resetBench(NB101)
	return role, nil
}

// covers reports whether the builder holds every value of the table file
// at path: each of its cells, and a number wherever it has one.
func (b *NB101Builder) covers(path string) (bool, error) {
	mf, err := mapFile(path)
	if err != nil {
		return false, fmt.Errorf("%w: NB101 table %s: %v", ErrDamaged, path, err)
	}
	defer mf.close()
	old, err := openNB101(mf.data)
	if err != nil {
		return false, fmt.Errorf("index: NB101 table %s: %w", path, err)
	}
	for i := 0; i < old.n; i++ {
		row, ok := b.rows[old.Hash(i)]
		if !ok {
			return false, nil
		}
		for bi := range NB101Epochs {
			olds := old.runs[i*nb101Width+bi*nb101BudgetWidth:][:nb101BudgetWidth]
			news := b.budgetRuns(row, bi, false)
			for k, v := range olds {
				if !math.IsNaN(v) && (news == nil || math.IsNaN(news[k])) {
					return false, nil
				}
			}
		}
	}
	return true, nil
}

// write sorts the rows by hash, writes the Arrow file and returns the
// hash-prefix directory.
func (b *NB101Builder) write(f *os.File, src Source) ([]uint32, error) {
	n := len(b.hashes)
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(x, y int32) int { return b.hashes[x].Compare(b.hashes[y]) })
	hashes := make([]byte, 16*n)
	adj := make([]uint64, n)
	ops := make([]byte, 7*n)
	nverts := make([]uint8, n)
	params := make([]int64, n)
	nrep := make([]byte, 4*n)
	for i, p := range perm {
		copy(hashes[16*i:], b.hashes[p][:])
		s := b.specs[p]
		adj[i] = s.Adj
		for k := 0; k < 7; k++ {
			ops[7*i+k] = byte(s.Ops[k])
		}
		nverts[i] = s.N
		params[i] = b.params[p]
		copy(nrep[4*i:], b.nrep[p][:])
	}
	// The unsorted columns are no longer needed; let the collector take
	// them before the file is written.
	b.hashes, b.specs, b.params, b.nrep, b.rows = nil, nil, nil, nil, nil
	var present []string
	for m := range NumNB101Metrics {
		for bi, e := range NB101Epochs {
			if b.present[m][bi] {
				present = append(present, fmt.Sprintf("%s@%d", m, e))
			}
		}
	}
	md := []arrowfile.KeyValue{{Key: "schema", Value: nb101Schema}, {Key: "source_path", Value: src.Path},
		{Key: "source_kind", Value: src.Kind}, {Key: "source_sha256", Value: src.SHA256}, {Key: "present", Value: strings.Join(present, ",")}}
	w, err := arrowfile.NewWriter(f, arrowfile.Schema{Fields: nb101Fields, Metadata: md})
	if err != nil {
		return nil, err
	}
	// The runs column (768 bytes a cell, 325 MB for the full benchmark) is
	// never built: it is streamed from the chunks in hash order.
	cols := []arrowfile.WriteColumn{{Data: hashes}, {Data: arrowfile.Bytes(adj)}, {Data: ops}, {Data: nverts},
		{Data: arrowfile.Bytes(params)}, {Data: nrep},
		{Len: int64(n * nb101Width * 8), Stream: func(w io.Writer) error { return b.writeRuns(w, perm) }}}
	if err := w.Write(n, cols); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return prefixDir(hashes, n), nil
}

// writeRuns writes the runs of the cells in perm's order (NaN where a
// budget is not recorded).
func (b *NB101Builder) writeRuns(w io.Writer, perm []int32) error {
	const cellsPerWrite = 256
	out := make([]float64, 0, cellsPerWrite*nb101Width)
	nan := make([]float64, nb101BudgetWidth)
	for i := range nan {
		nan[i] = math.NaN()
	}
	for i, p := range perm {
		for bi := range NB101Epochs {
			if runs := b.budgetRuns(p, bi, false); runs != nil {
				out = append(out, runs...)
			} else {
				out = append(out, nan...)
			}
		}
		if len(out) == cap(out) || i == len(perm)-1 {
			if _, err := w.Write(arrowfile.Bytes(out)); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	return nil
}
