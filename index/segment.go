package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nbquery/nbquery/internal/arrowfile"
)

// Sentinel errors. Callers test them with errors.Is.
var (
	ErrNotFound      = errors.New("index: not found")
	ErrUnavailable   = errors.New("index: not recorded by the benchmark")
	ErrSchemaVersion = errors.New("index: schema version mismatch")
	ErrCorrupt       = errors.New("index: corrupt store")
	ErrUnchanged     = errors.New("index: source already ingested")
	ErrArchMismatch  = errors.New("index: architecture list disagrees with the store")
)

// segBatchRows is the number of rows per Arrow record batch: it bounds the
// memory a writer holds (rows × all column widths × 8 bytes).
const segBatchRows = 512

// maxRowList is the largest sparse segment whose rows are listed in the
// manifest, so that finding a row needs no read of the segment.
const maxRowList = 4096

// SegmentWriter builds one segment of a benchmark. Call Write with frames in
// ascending row order, then Commit or Abort. The first frame fixes the set of
// columns; later frames may omit columns (their rows read as not recorded)
// but may not add new ones. The segment is written to a temporary file that
// only Commit renames into place.
//
//	w, err := st.NewSegment(index.NB201)
//	w.SetArchs(archs)          // optional: arch strings in index order
//	w.Write(frame) ...
//	err = w.Commit(src)        // index.ErrUnchanged if src was ingested before
type SegmentWriter struct {
	st    *Store
	bench string
	archs []string

	tmp    *os.File
	fw     *arrowfile.Writer
	schema *arrowfile.Schema
	cols   []colManifest
	colIdx map[Key]int

	buf     [][]float64 // per column, pending rows × width
	rows    []int32     // pending rows
	allRows Epochs      // every row, kept while the segment is small and sparse
	nrows   int
	lastRow int
	dense   bool
	done    bool
}

// NewSegment starts a segment of bench.
func (s *Store) NewSegment(bench string) (*SegmentWriter, error) {
	if bench == "" {
		panic("index: NewSegment: empty bench")
	}
	return &SegmentWriter{st: s, bench: bench, lastRow: -1, dense: true}, nil
}

// SetArchs records the benchmark's architecture list (index order) carried by
// this source. Commit fails with ErrArchMismatch if the store already holds a
// different list.
func (w *SegmentWriter) SetArchs(archs []string) { w.archs = archs }

func (w *SegmentWriter) init(f Frame) error {
	fields := []arrowfile.Field{{Name: "row", Type: arrowfile.Int32}}
	w.colIdx = map[Key]int{}
	for i, c := range f.Columns {
		if _, dup := w.colIdx[c.Key]; dup {
			return fmt.Errorf("index: segment: duplicate column %s", c.Key)
		}
		w.colIdx[c.Key] = i
		t := arrowfile.Float64
		if len(c.Epochs) > 0 {
			t = arrowfile.FixedSizeListOf(len(c.Epochs), arrowfile.Float64)
		}
		fields = append(fields, arrowfile.Field{Name: c.Key.String(), Type: t})
		w.cols = append(w.cols, colManifest{Key: c.Key, Epochs: append([]int(nil), c.Epochs...)})
	}
	w.schema = &arrowfile.Schema{Fields: fields}
	w.buf = make([][]float64, len(w.cols))
	dir := filepath.Join(w.st.dir, w.bench)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("index: segment: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".seg.tmp-*")
	if err == nil {
		lockTemp(tmp) // so that GC leaves a live writer's temp file alone
	}
	if err != nil {
		return fmt.Errorf("index: segment: %w", err)
	}
	tmp.Chmod(0o644)
	w.tmp = tmp
	fw, err := arrowfile.NewWriter(tmp, *w.schema)
	if err != nil {
		return fmt.Errorf("index: segment: %w", err)
	}
	w.fw = fw
	return nil
}

// Write appends a frame.
func (w *SegmentWriter) Write(f Frame) error {
	if w.done {
		panic("index: Write after Commit or Abort")
	}
	if len(f.Rows) == 0 {
		return nil
	}
	if w.schema == nil {
		if err := w.init(f); err != nil {
			return err
		}
	}
	n := len(f.Rows)
	for _, r := range f.Rows {
		if r <= w.lastRow || r > math.MaxInt32 {
			return fmt.Errorf("index: segment: row %d after row %d: rows must ascend", r, w.lastRow)
		}
		if r != w.lastRow+1 {
			w.dense = false
		}
		if len(w.allRows) <= maxRowList {
			w.allRows = append(w.allRows, r)
		}
		w.lastRow = r
	}
	present := make([]int, len(w.cols))
	for i := range present {
		present[i] = -1
	}
	for i, c := range f.Columns {
		j, ok := w.colIdx[c.Key]
		if !ok {
			return fmt.Errorf("index: segment: column %s not in the first frame", c.Key)
		}
		if !equalInts(c.Epochs, w.cols[j].Epochs) {
			return fmt.Errorf("index: segment: column %s: epochs differ from the first frame", c.Key)
		}
		if len(c.Values) != n*c.Width() {
			panic(fmt.Sprintf("index: column %s has %d values for %d rows of width %d", c.Key, len(c.Values), n, c.Width()))
		}
		present[j] = i
	}
	// Append row by row so batches are cut at exactly segBatchRows.
	for k := 0; k < n; k++ {
		w.rows = append(w.rows, int32(f.Rows[k]))
		for j, cm := range w.cols {
			width := max(1, len(cm.Epochs))
			if i := present[j]; i >= 0 {
				w.buf[j] = append(w.buf[j], f.Columns[i].Values[k*width:(k+1)*width]...)
			} else {
				for e := 0; e < width; e++ {
					w.buf[j] = append(w.buf[j], math.NaN())
				}
			}
		}
		if len(w.rows) == segBatchRows {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *SegmentWriter) flush() error {
	if len(w.rows) == 0 {
		return nil
	}
	cols := make([]arrowfile.WriteColumn, 0, len(w.cols)+1)
	cols = append(cols, arrowfile.WriteColumn{Data: arrowfile.Bytes(w.rows)})
	for j := range w.cols {
		cols = append(cols, arrowfile.WriteColumn{Data: arrowfile.Bytes(w.buf[j])})
	}
	if err := w.fw.Write(len(w.rows), cols); err != nil {
		return fmt.Errorf("index: segment: write batch: %w", err)
	}
	w.nrows += len(w.rows)
	w.rows = w.rows[:0]
	for j := range w.buf {
		w.buf[j] = w.buf[j][:0]
	}
	return nil
}

// Abort discards the segment. The store is unchanged.
func (w *SegmentWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	if w.tmp != nil {
		w.tmp.Close()
		os.Remove(w.tmp.Name())
	}
}

// Commit finishes the segment and makes it visible: the Arrow file is
// fsynced and renamed into place, the source is recorded in the catalogue,
// and the manifest is replaced. If a source with the same SHA-256 and kind
// was ingested into this benchmark before, Commit discards the segment and
// returns ErrUnchanged.
func (w *SegmentWriter) Commit(src Source) (err error) {
	if w.done {
		panic("index: Commit after Commit or Abort")
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	unlock, err := w.st.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := w.st.reloadManifest(); err != nil {
		return err
	}
	m := cloneManifest(w.st.m)
	bm := m.Benches[w.bench]
	if bm == nil {
		bm = &benchManifest{}
		m.Benches[w.bench] = bm
	}
	for _, sg := range bm.Segments {
		if src.SHA256 != "" && sg.Source.SHA256 == src.SHA256 && sg.Source.Kind == src.Kind {
			return fmt.Errorf("%w: %s (as %s)", ErrUnchanged, src.Path, sg.Source.Path)
		}
	}
	var newArchs string
	if w.archs != nil {
		if bm.Archs != "" {
			if err := w.st.checkArchs(w.bench, bm, w.archs); err != nil {
				return err
			}
		} else {
			newArchs = filepath.Join(w.bench, "archs-"+shortSHA(src.SHA256)+".arrow")
			bm.Archs = newArchs
			bm.NumArchs = len(w.archs)
		}
	}
	// Validate everything the commit will record before its first byte is
	// written: the manifest as it will be, with this segment in it.
	probe := cloneManifest(m)
	if w.schema != nil {
		pb := probe.Benches[w.bench]
		pb.Segments = append(pb.Segments, segManifest{File: "probe", Source: src, Columns: w.cols})
	}
	if _, err := json.Marshal(probe); err != nil {
		return fmt.Errorf("index: segment from %s: %w", src.Path, err)
	}
	if newArchs != "" {
		if err := writeArchs(filepath.Join(w.st.dir, newArchs), w.bench, w.archs); err != nil {
			return err
		}
	}
	if w.schema != nil {
		if err := w.flush(); err != nil {
			return err
		}
		if err := w.fw.Close(); err != nil {
			return fmt.Errorf("index: segment: close: %w", err)
		}
		if err := w.tmp.Sync(); err != nil {
			return fmt.Errorf("index: segment: sync: %w", err)
		}
		if err := w.tmp.Close(); err != nil {
			return fmt.Errorf("index: segment: %w", err)
		}
		rel := filepath.Join(w.bench, fmt.Sprintf("seg-%04d-%s.arrow", m.Generation+1, shortSHA(src.SHA256)))
		if err := os.Rename(w.tmp.Name(), filepath.Join(w.st.dir, rel)); err != nil {
			return fmt.Errorf("index: segment: %w", err)
		}
		w.tmp = nil
		sm := segManifest{
			File: rel, Source: src, Rows: w.nrows, BatchRows: segBatchRows,
			Dense: w.dense && w.lastRow == w.nrows-1, Columns: w.cols,
		}
		if !sm.Dense && len(w.allRows) <= maxRowList {
			sm.RowList = w.allRows
		}
		bm.Segments = append(bm.Segments, sm)
	} else if newArchs == "" {
		return fmt.Errorf("index: segment from %s: no data", src.Path)
	} else {
		// An arch list alone (e.g. meta.pickle.pbz2) is a source of its own.
		bm.Segments = append(bm.Segments, segManifest{Source: src})
	}
	m.Generation++
	if err := w.st.recordSource(w.bench, src); err != nil {
		return err
	}
	if err := w.st.writeManifest(m); err != nil {
		return err
	}
	w.st.m = m
	w.st.resetBench(w.bench)
	w.done = true
	return nil
}

func shortSHA(s string) string {
	if len(s) >= 12 {
		return s[:12]
	}
	if s == "" {
		return "nosum"
	}
	return s
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// epochsString renders an epoch list compactly for messages ("0-199", "199").
func epochsString(e []int) string {
	if len(e) == 0 {
		return "none"
	}
	if e[len(e)-1]-e[0] == len(e)-1 && len(e) > 1 {
		return strconv.Itoa(e[0]) + "-" + strconv.Itoa(e[len(e)-1])
	}
	parts := make([]string, len(e))
	for i, x := range e {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}
