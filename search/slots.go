package search

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// slots is a large space seen through a fixed number of index slots (the
// live spaces DARTS and MBV2): slots [0, base) hold the random pool, the
// rest are assigned in the order Mutate and Neighbours first reach a
// member, which keeps its slot for the life of the space. Safe for
// concurrent use; a slot's row of the encoding matrix is written before its
// index is returned.
type slots[A any, K comparable] struct {
	mu    sync.Mutex
	name  string // in panics: "search: <name> space: …"
	base  int
	items []A
	slot  map[K]int32 // code -> slot
	x     *mat.Dense  // one-hot rows, filled with the slots
	space slotSpace[A, K]
}

// slotSpace is what slots needs of a space's members.
type slotSpace[A any, K comparable] struct {
	dim        int
	key        func(A) (K, A)     // code and canonical form (panics outside the space)
	oneHot     func(A, []float64) // writes the encoding into a zeroed row
	mutate     func(A, *rand.Rand) A
	neighbours func(A) []A
}

// init makes s a space of capacity slots whose first base slots hold
// distinct members drawn by sample. It panics unless 0 < base <= capacity.
func (s *slots[A, K]) init(name string, base, capacity int, sp slotSpace[A, K], sample func() A) {
	if base <= 0 || base > capacity {
		panic(fmt.Sprintf("search: New%s: base %d, capacity %d", name, base, capacity))
	}
	s.name, s.base, s.space = name, base, sp
	s.slot, s.x, s.items = make(map[K]int32, base), mat.NewDense(capacity, sp.dim, nil), make([]A, 0, base)
	for len(s.items) < base {
		s.assign(sample())
	}
}

// assign returns a's slot, giving it the next free one if it has none.
// The caller holds mu (or is the constructor).
func (s *slots[A, K]) assign(a A) int {
	c, a := s.space.key(a)
	if i, ok := s.slot[c]; ok {
		return int(i)
	}
	i := len(s.items)
	if i >= s.x.RawMatrix().Rows {
		panic(fmt.Sprintf("search: %s space: all %d slots are used; a larger capacity is needed", s.name, i))
	}
	s.items = append(s.items, a)
	s.slot[c] = int32(i)
	raw := s.x.RawMatrix()
	s.space.oneHot(a, raw.Data[i*raw.Stride:i*raw.Stride+s.space.dim])
	return i
}

// item returns the member of slot i; it panics on an empty slot.
func (s *slots[A, K]) item(i int) A {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(s.items) {
		panic(fmt.Sprintf("search: %s space: slot %d is empty (%d filled)", s.name, i, len(s.items)))
	}
	return s.items[i]
}

// Filled is the number of slots holding a member.
func (s *slots[A, K]) Filled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

func (s *slots[A, K]) Len() int        { return s.x.RawMatrix().Rows }
func (s *slots[A, K]) Dim() int        { return s.space.dim }
func (s *slots[A, K]) Class(i int) int { return i }
func (s *slots[A, K]) NumClasses() int { return s.Len() }

// Encode writes slot i's one-hot encoding (zeros for an empty slot).
func (s *slots[A, K]) Encode(dst []float64, i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	copy(dst[:s.space.dim], s.x.RawRowView(i))
}

// Matrix is the space's encoding matrix, whose rows fill as slots are
// assigned (EncodeAll returns it rather than a stale copy).
func (s *slots[A, K]) Matrix() *mat.Dense { return s.x }

func (s *slots[A, K]) Mutate(rng *rand.Rand, i int) int {
	a := s.space.mutate(s.item(i), rng)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assign(a)
}

func (s *slots[A, K]) Neighbours(dst []int, i int) []int {
	nb := s.space.neighbours(s.item(i))
	s.mu.Lock()
	defer s.mu.Unlock()
	dst = dst[:0]
	for _, a := range nb {
		dst = append(dst, s.assign(a))
	}
	return dst
}

// Oracle returns a live oracle over the space (see NewLiveOracle) whose
// pool, what random draws choose from, is the base slots.
func (s *slots[A, K]) Oracle(eval Evaluator) *Oracle {
	o := NewLiveOracle(s.Len(), eval)
	o.pool = o.pool[:s.base]
	return o
}
