package search

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDARTSSpace: the pool holds distinct random genotypes, Mutate returns a
// slot holding a true neighbour (new slots when the genotype is new, the same
// slot when it is not), and EncodeAll's matrix follows the growing space.
func TestDARTSSpace(t *testing.T) {
	sp := NewDARTS(50, 1000, 9)
	if sp.Filled() != 50 || sp.Len() != 1000 {
		t.Fatalf("filled %d, len %d", sp.Filled(), sp.Len())
	}
	X := EncodeAll(sp)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		i := rng.IntN(sp.Filled())
		j := sp.Mutate(rng, i)
		nb := sp.Genotype(i).Neighbours(nil)
		if !slices.Contains(nb, sp.Genotype(j)) {
			t.Fatalf("slot %d is not a neighbour of slot %d", j, i)
		}
		if k := sp.Mutate(rand.New(rand.NewPCG(0, 0)), i); sp.Mutate(rand.New(rand.NewPCG(0, 0)), i) != k {
			t.Fatal("the same genotype got two slots")
		}
		row := make([]float64, sp.Dim())
		sp.Encode(row, j)
		if !slices.Equal(row, X.RawRowView(j)) || slices.Max(row) != 1 {
			t.Fatalf("EncodeAll row %d is stale", j)
		}
	}
	if got := sp.Neighbours(nil, 0); len(got) != 120 {
		t.Fatalf("%d neighbours", len(got))
	}
	o := sp.Oracle(func(int) (float64, float64, float64, error) { return 1, 1, 1, nil })
	if len(o.pool) != 50 {
		t.Fatalf("oracle pool %d, want the 50 random slots", len(o.pool))
	}
}
