package index

import "errors"

// Sentinel errors. Callers test them with errors.Is.
var (
	ErrNotFound      = errors.New("index: not found")
	ErrUnavailable   = errors.New("index: not recorded by the benchmark")
	ErrSchemaVersion = errors.New("index: schema version mismatch")
	ErrCorrupt       = errors.New("index: corrupt store")
	ErrUnchanged     = errors.New("index: source already ingested")
	ErrArchMismatch  = errors.New("index: architecture list disagrees with the store")
)

// SegmentWriter builds one segment of a benchmark. Call Write with frames in
// ascending row order, then Commit or Abort. The first frame fixes the set of
// columns; later frames may omit columns (their rows read as not recorded)
// but may not add new ones.
//
//	w, err := st.NewSegment(index.NB201)
//	w.SetArchs(archs)          // optional: arch strings in index order
//	w.Write(frame) ...
//	err = w.Commit(src)        // index.ErrUnchanged if src was ingested before
type SegmentWriter struct {
	bench string
	archs []string
}

// SetArchs records the benchmark's architecture list (index order) carried by
// this source. Commit fails with ErrArchMismatch if the store already holds a
// different list.
func (w *SegmentWriter) SetArchs(archs []string) { w.archs = archs }
