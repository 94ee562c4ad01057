package search

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/space/darts"
)

// DARTS is the DARTS cell space (about 1.08e18 genotypes) seen through a
// fixed number of index slots, for live searches. Slots [0, base) hold
// distinct uniformly random genotypes drawn from seed: they are the pool
// random draws and initial populations come from. Slots [base, Len()) are
// filled on demand, in the order Mutate and Neighbours first reach a
// genotype, so every mutation is a true single mutation of the space; a
// genotype keeps its slot for the life of the space. Class(i) = i (distinct
// slots hold distinct canonical genotypes). Safe for concurrent use;
// Matrix's rows are written when their slot is assigned, before its index
// is returned.
type DARTS struct {
	mu    sync.Mutex
	base  int
	genos []darts.Genotype
	slot  map[uint64]int32 // genotype code -> slot
	x     *mat.Dense       // one-hot rows, filled with the slots
}

// NewDARTS returns a DARTS space of capacity slots whose first base slots
// are random genotypes drawn from seed. It panics unless 0 < base <= capacity.
func NewDARTS(base, capacity int, seed uint64) *DARTS {
	if base <= 0 || base > capacity {
		panic(fmt.Sprintf("search: NewDARTS: base %d, capacity %d", base, capacity))
	}
	s := &DARTS{base: base, slot: make(map[uint64]int32, base), x: mat.NewDense(capacity, darts.Dim, nil),
		genos: make([]darts.Genotype, 0, base)}
	rng := rand.New(rand.NewPCG(seed, 0xda775))
	for len(s.genos) < base {
		s.assign(darts.Random(rng))
	}
	return s
}

// assign returns g's slot, giving it the next free one if it has none.
// The caller holds mu (or is the constructor).
func (s *DARTS) assign(g darts.Genotype) int {
	c, ok := g.Code()
	if !ok {
		panic(fmt.Sprintf("search: DARTS space: genotype outside the searchable space: %v", g))
	}
	if i, ok := s.slot[c]; ok {
		return int(i)
	}
	i := len(s.genos)
	if i >= s.x.RawMatrix().Rows {
		panic(fmt.Sprintf("search: DARTS space: all %d slots are used; a larger capacity is needed", i))
	}
	g = g.Canonical()
	s.genos = append(s.genos, g)
	s.slot[c] = int32(i)
	raw := s.x.RawMatrix()
	g.OneHot(raw.Data[i*raw.Stride : i*raw.Stride+darts.Dim])
	return i
}

// Genotype returns the genotype of slot i; it panics on an empty slot.
func (s *DARTS) Genotype(i int) darts.Genotype {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(s.genos) {
		panic(fmt.Sprintf("search: DARTS space: slot %d is empty (%d filled)", i, len(s.genos)))
	}
	return s.genos[i]
}

// Filled is the number of slots holding a genotype.
func (s *DARTS) Filled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.genos)
}

func (s *DARTS) Len() int        { return s.x.RawMatrix().Rows }
func (s *DARTS) Dim() int        { return darts.Dim }
func (s *DARTS) Class(i int) int { return i }
func (s *DARTS) NumClasses() int { return s.Len() }

// Encode writes slot i's one-hot encoding (zeros for an empty slot).
func (s *DARTS) Encode(dst []float64, i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	copy(dst[:darts.Dim], s.x.RawRowView(i))
}

// Matrix is the space's encoding matrix, whose rows fill as slots are
// assigned (EncodeAll returns it rather than a stale copy).
func (s *DARTS) Matrix() *mat.Dense { return s.x }

func (s *DARTS) Mutate(rng *rand.Rand, i int) int {
	g := s.Genotype(i).Mutate(rng)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assign(g)
}

func (s *DARTS) Neighbours(dst []int, i int) []int {
	nb := s.Genotype(i).Neighbours(nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	dst = dst[:0]
	for _, g := range nb {
		dst = append(dst, s.assign(g))
	}
	return dst
}

// Oracle returns a live oracle over the space (see NewLiveOracle) whose
// pool, what random draws choose from, is the base slots of random
// genotypes.
func (s *DARTS) Oracle(eval Evaluator) *Oracle {
	o := NewLiveOracle(s.Len(), eval)
	o.pool = o.pool[:s.base]
	return o
}
