package ingest

import (
	"fmt"
	"math"
	"slices"

	"github.com/nbquery/nbquery/index"
)

// FrameRows is the number of architectures per frame written to the store.
const FrameRows = 512

// layout is the fixed column set of a segment: for each key the stored
// epochs (those recorded in at least one record seen when it was built).
type layout struct {
	keys   []index.Key
	epochs [][]int       // nil for epoch-free columns
	pos    []map[int]int // epoch -> position in epochs
	byKey  map[index.Key]int
}

// layoutBuilder accumulates the union of recorded keys and epochs.
type layoutBuilder struct {
	epochFree map[index.Key]bool
	epochs    map[index.Key]map[int]bool
}

func newLayoutBuilder() *layoutBuilder {
	return &layoutBuilder{epochFree: map[index.Key]bool{}, epochs: map[index.Key]map[int]bool{}}
}

func (b *layoutBuilder) add(r *archRecord) error {
	for _, s := range r.Series {
		if ef, seen := b.epochFree[s.Key]; seen && ef != s.EpochFree {
			return fmt.Errorf("%w: %s is both per-epoch and epoch-free", ErrLayout, s.Key)
		}
		if s.EpochFree {
			if !math.IsNaN(s.Values[0]) {
				b.epochFree[s.Key] = true
			}
			continue
		}
		for e, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			m := b.epochs[s.Key]
			if m == nil {
				m = map[int]bool{}
				b.epochs[s.Key] = m
				b.epochFree[s.Key] = false
			}
			m[e] = true
		}
	}
	return nil
}

func (b *layoutBuilder) build() *layout {
	l := &layout{byKey: map[index.Key]int{}}
	for k := range b.epochFree {
		l.keys = append(l.keys, k)
	}
	slices.SortFunc(l.keys, keyCmp)
	for i, k := range l.keys {
		l.byKey[k] = i
		if b.epochFree[k] {
			l.epochs = append(l.epochs, nil)
			l.pos = append(l.pos, nil)
			continue
		}
		var eps []int
		for e := range b.epochs[k] {
			eps = append(eps, e)
		}
		slices.Sort(eps)
		pos := make(map[int]int, len(eps))
		for j, e := range eps {
			pos[e] = j
		}
		l.epochs = append(l.epochs, eps)
		l.pos = append(l.pos, pos)
	}
	return l
}

func (l *layout) width(c int) int { return max(1, len(l.epochs[c])) }

// newFrame allocates a NaN-filled frame for rows.
func (l *layout) newFrame(rows []int) index.Frame {
	f := index.Frame{Rows: rows, Columns: make([]index.Column, len(l.keys))}
	for c, k := range l.keys {
		f.Columns[c] = index.Column{Key: k, Epochs: l.epochs[c], Values: nanSlice(len(rows) * l.width(c))}
	}
	return f
}

// fill copies record r into row i of f. It fails if r holds a recorded value
// that the layout has no place for. Distinct rows may be filled concurrently.
func (l *layout) fill(f *index.Frame, i int, r *archRecord) error {
	for _, s := range r.Series {
		c, ok := l.byKey[s.Key]
		if !ok {
			for _, v := range s.Values {
				if !math.IsNaN(v) {
					return fmt.Errorf("%w: column %s is not in the layout fixed by the first %d records", ErrLayout, s.Key, FrameRows)
				}
			}
			continue
		}
		w := l.width(c)
		dst := f.Columns[c].Values[i*w : (i+1)*w]
		if l.epochs[c] == nil {
			dst[0] = s.Values[0]
			continue
		}
		pos := l.pos[c]
		for e, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			j, ok := pos[e]
			if !ok {
				return fmt.Errorf("%w: %s has epoch %d, not in the layout fixed by the first %d records", ErrLayout, s.Key, e, FrameRows)
			}
			dst[j] = v
		}
	}
	return nil
}
