package index

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/nbquery/nbquery/internal/arrowfile"
)

// Bench is one benchmark of an open store: the union of its segments, newer
// segments taking precedence for the same column. Lookups are lock-free once
// the record batches they touch have been loaded.
type Bench struct {
	st   *Store
	name string
	bm   *benchManifest
	segs []*segment
	cols map[Key][]colRef // newest segment first
	n    int              // number of architectures (rows)

	planCache

	archOnce sync.Once
	arch     *archTable
	archErr  error
	invOnce  sync.Once
}

type colRef struct {
	seg    *segment
	field  int   // field index in the segment schema
	epochs []int // stored epochs
	width  int
	contig bool // epochs are 0..width-1
}

type segment struct {
	st   *Store
	sm   segManifest
	once sync.Once
	rdr  *arrowfile.File
	err  error

	batches []atomic.Pointer[batchData]
	posOnce sync.Once
	pos     []int32 // row -> position, for sparse segments
	mu      sync.Mutex
}

type batchData struct {
	rows []int32
	vals [][]float64 // by field index; nil for the row column
}

// Bench returns the named benchmark, or an error wrapping ErrNotFound.
func (s *Store) Bench(name string) (*Bench, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.benches[name]; b != nil {
		return b, nil
	}
	bm := s.m.Benches[name]
	if bm == nil {
		return nil, fmt.Errorf("%w: benchmark %s is not in the store %s (run nbquery ingest)", ErrNotFound, name, s.dir)
	}
	if err := s.checkBenchFiles(bm); err != nil {
		return nil, err
	}
	b := &Bench{st: s, name: name, bm: bm, cols: map[Key][]colRef{}, n: bm.NumArchs}
	for i := len(bm.Segments) - 1; i >= 0; i-- {
		sm := bm.Segments[i]
		if sm.File == "" {
			continue
		}
		sg := &segment{st: s, sm: sm}
		nb := (sm.Rows + sm.BatchRows - 1) / max(1, sm.BatchRows)
		sg.batches = make([]atomic.Pointer[batchData], nb)
		b.segs = append(b.segs, sg)
		for j, c := range sm.Columns {
			w := max(1, len(c.Epochs))
			contig := true
			for e, x := range c.Epochs {
				if x != e {
					contig = false
				}
			}
			b.cols[c.Key] = append(b.cols[c.Key], colRef{seg: sg, field: j + 1, epochs: c.Epochs, width: w, contig: contig})
		}
	}
	if b.n == 0 {
		b.n = spaceSize(name)
	}
	s.benches[name] = b
	return b, nil
}

func (s *Store) resetBench(name string) {
	s.mu.Lock()
	delete(s.benches, name)
	s.mu.Unlock()
}

// Name returns the benchmark name.
func (b *Bench) Name() string { return b.name }

// Len returns the number of architectures.
func (b *Bench) Len() int { return b.n }

// Keys returns every stored column key, sorted by its string form.
func (b *Bench) Keys() []Key {
	out := make([]Key, 0, len(b.cols))
	for k := range b.cols {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Epochs returns the epochs stored for key (union over segments).
func (b *Bench) Epochs(k Key) []int {
	var out []int
	seen := map[int]bool{}
	for _, r := range b.cols[k] {
		for _, e := range r.epochs {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	sort.Ints(out)
	return out
}

// Has reports whether any segment stores key.
func (b *Bench) Has(k Key) bool { return len(b.cols[k]) > 0 }

// value returns the stored value of key at row and epoch (-1 for epoch-free
// columns), and whether one is recorded.
func (b *Bench) value(row int, k Key, epoch int) (float64, bool) {
	refs := b.cols[k]
	for i := range refs {
		r := &refs[i]
		slot, ok := r.slot(epoch)
		if !ok {
			continue
		}
		vals, p := r.seg.lookup(row, r.field)
		if vals == nil {
			continue
		}
		if v := vals[p*r.width+slot]; !math.IsNaN(v) {
			return v, true
		}
	}
	return 0, false
}

// slot returns the position of epoch within a row of the column (0 for
// epoch-free columns), and whether the column stores that epoch.
func (r *colRef) slot(epoch int) (int, bool) {
	if len(r.epochs) == 0 {
		return 0, true
	}
	if r.contig {
		return epoch, epoch >= 0 && epoch < r.width
	}
	i := sort.SearchInts(r.epochs, epoch)
	return i, i < len(r.epochs) && r.epochs[i] == epoch
}

// lookup returns the float column `field` of the batch holding row, and the
// row's position in it; nil if the segment has no such row.
func (sg *segment) lookup(row, field int) ([]float64, int) {
	var p int
	if sg.sm.Dense {
		if row < 0 || row >= sg.sm.Rows {
			return nil, 0
		}
		p = row
	} else {
		sg.posOnce.Do(sg.buildPos)
		if row < 0 || row >= len(sg.pos) || sg.pos[row] < 0 {
			return nil, 0
		}
		p = int(sg.pos[row])
	}
	bi := p / sg.sm.BatchRows
	bd := sg.batches[bi].Load()
	if bd == nil {
		bd = sg.loadBatch(bi)
		if bd == nil {
			return nil, 0
		}
	}
	return bd.vals[field], p - bi*sg.sm.BatchRows
}

func (sg *segment) open() {
	m, err := sg.st.mapped(sg.sm.File)
	if err != nil {
		sg.err = err
		return
	}
	r, err := arrowfile.Open(m.data)
	if err != nil {
		sg.err = fmt.Errorf("index: %s: %w: %v", filepath.Join(sg.st.dir, sg.sm.File), ErrCorrupt, err)
		return
	}
	if fs := r.Schema().Fields; len(fs) != len(sg.sm.Columns)+1 || !fs[0].Type.Equal(arrowfile.Int32) {
		sg.err = fmt.Errorf("index: %s: %w: %d columns, the manifest lists %d", filepath.Join(sg.st.dir, sg.sm.File), ErrCorrupt, len(fs)-1, len(sg.sm.Columns))
		return
	}
	for j, c := range sg.sm.Columns {
		want := arrowfile.Float64
		if len(c.Epochs) > 0 {
			want = arrowfile.FixedSizeListOf(len(c.Epochs), arrowfile.Float64)
		}
		if t := r.Schema().Fields[j+1].Type; !t.Equal(want) {
			sg.err = fmt.Errorf("index: %s: %w: column %d has type %s, the manifest says %s", sg.sm.File, ErrCorrupt, j+1, t, want)
			return
		}
	}
	sg.rdr = r
}

func (sg *segment) loadBatch(bi int) *batchData {
	sg.mu.Lock()
	defer sg.mu.Unlock()
	if bd := sg.batches[bi].Load(); bd != nil {
		return bd
	}
	sg.once.Do(sg.open)
	if sg.err != nil {
		return nil
	}
	rec, err := sg.rdr.Batch(bi)
	if want := min(sg.sm.BatchRows, sg.sm.Rows-bi*sg.sm.BatchRows); err == nil && rec.Rows != want {
		err = fmt.Errorf("%d rows, the manifest says %d", rec.Rows, want)
	}
	if err != nil {
		sg.err = fmt.Errorf("index: %s batch %d: %w: %v", sg.sm.File, bi, ErrCorrupt, err)
		return nil
	}
	bd := &batchData{rows: arrowfile.Int32s(rec.Columns[0].Data), vals: make([][]float64, len(rec.Columns))}
	for j := 1; j < len(rec.Columns); j++ {
		bd.vals[j] = arrowfile.Float64s(rec.Columns[j].Data)
	}
	sg.batches[bi].Store(bd)
	return bd
}

func (sg *segment) buildPos() {
	if len(sg.sm.RowList) > 0 {
		maxRow := sg.sm.RowList[len(sg.sm.RowList)-1]
		pos := make([]int32, maxRow+1)
		for i := range pos {
			pos[i] = -1
		}
		for p, r := range sg.sm.RowList {
			pos[r] = int32(p)
		}
		sg.pos = pos
		return
	}
	maxRow := -1
	var all [][]int32
	for bi := range sg.batches {
		bd := sg.batches[bi].Load()
		if bd == nil {
			bd = sg.loadBatch(bi)
		}
		if bd == nil {
			return
		}
		all = append(all, bd.rows)
		for _, r := range bd.rows {
			maxRow = max(maxRow, int(r))
		}
	}
	pos := make([]int32, maxRow+1)
	for i := range pos {
		pos[i] = -1
	}
	p := int32(0)
	for _, rows := range all {
		for _, r := range rows {
			pos[r] = p
			p++
		}
	}
	sg.pos = pos
}

func (b *Bench) archTable() (*archTable, error) {
	b.archOnce.Do(func() {
		if b.bm.Archs == "" {
			b.archErr = fmt.Errorf("%w: %s has no architecture list (ingest a source that carries one first)", ErrNotFound, b.name)
			return
		}
		b.arch, b.archErr = b.st.loadArchs(b.bm)
	})
	return b.arch, b.archErr
}

// Arch returns the architecture string of index i.
func (b *Bench) Arch(i int) (string, error) {
	at, err := b.archTable()
	if err != nil {
		return "", err
	}
	if i < 0 || i >= at.names.Len() {
		return "", fmt.Errorf("%w: index %d outside [0, %d)", ErrNotFound, i, at.names.Len())
	}
	return at.arch(i)
}

// Code returns the space code (nb201.Cell.Code, sss.Config.Code) of index i.
func (b *Bench) Code(i int) (int, error) {
	at, err := b.archTable()
	if err != nil {
		return 0, err
	}
	if i < 0 || i >= len(at.codes) {
		return 0, fmt.Errorf("%w: index %d outside [0, %d)", ErrNotFound, i, len(at.codes))
	}
	return int(at.codes[i]), nil
}

// IndexOfCode returns the benchmark index of a space code.
func (b *Bench) IndexOfCode(code int) (int, error) {
	at, err := b.archTable()
	if err != nil {
		return 0, err
	}
	b.invOnce.Do(func() {
		inv := make([]int32, spaceSize(b.name))
		for i := range inv {
			inv[i] = -1
		}
		for i, c := range at.codes {
			if c >= 0 && int(c) < len(inv) {
				inv[c] = int32(i)
			}
		}
		at.inv = inv
	})
	if code < 0 || code >= len(at.inv) || at.inv[code] < 0 {
		return 0, fmt.Errorf("%w: code %d not in %s", ErrNotFound, code, b.name)
	}
	return int(at.inv[code]), nil
}

// Index returns the index of an architecture string (query_index_by_arch).
// The string is parsed, so any spelling of the same cell is found.
func (b *Bench) Index(arch string) (int, error) {
	code := archCode(b.name, arch)
	if code < 0 {
		return 0, archError(b.name, arch)
	}
	return b.IndexOfCode(code)
}
