package search

import (
	"fmt"
	"math/rand/v2"

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
	slots[darts.Genotype, uint64]
}

// NewDARTS returns a DARTS space of capacity slots whose first base slots
// are random genotypes drawn from seed. It panics unless 0 < base <= capacity.
func NewDARTS(base, capacity int, seed uint64) *DARTS {
	s := &DARTS{}
	rng := rand.New(rand.NewPCG(seed, 0xda775))
	s.init("DARTS", base, capacity, slotSpace[darts.Genotype, uint64]{
		dim: darts.Dim,
		key: func(g darts.Genotype) (uint64, darts.Genotype) {
			c, ok := g.Code()
			if !ok {
				panic(fmt.Sprintf("search: DARTS space: genotype outside the searchable space: %v", g))
			}
			return c, g.Canonical()
		},
		oneHot:     func(g darts.Genotype, dst []float64) { g.OneHot(dst) },
		mutate:     func(g darts.Genotype, rng *rand.Rand) darts.Genotype { return g.Mutate(rng) },
		neighbours: func(g darts.Genotype) []darts.Genotype { return g.Neighbours(nil) },
	}, func() darts.Genotype { return darts.Random(rng) })
	return s
}

// Genotype returns the genotype of slot i; it panics on an empty slot.
func (s *DARTS) Genotype(i int) darts.Genotype { return s.item(i) }
