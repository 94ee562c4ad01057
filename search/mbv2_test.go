package search

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMBV2Space: the pool holds distinct random archs, Mutate returns a slot
// holding a one-layer neighbour (a new slot for a new arch, the same slot
// for a known one), Neighbours gives the 75, and EncodeAll's matrix follows
// the growing space.
func TestMBV2Space(t *testing.T) {
	sp := NewMBV2(40, 2000, 5)
	if sp.Filled() != 40 || sp.Len() != 2000 {
		t.Fatalf("filled %d, len %d", sp.Filled(), sp.Len())
	}
	X := EncodeAll(sp)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		i := rng.IntN(sp.Filled())
		j := sp.Mutate(rng, i)
		a, b := sp.Arch(i), sp.Arch(j)
		diff := 0
		for l := range a {
			if a[l] != b[l] {
				diff++
			}
		}
		if diff != 1 {
			t.Fatalf("slot %d (%s) is not a one-layer mutation of slot %d (%s)", j, b, i, a)
		}
		if k := sp.Mutate(rand.New(rand.NewPCG(0, 0)), i); sp.Mutate(rand.New(rand.NewPCG(0, 0)), i) != k {
			t.Fatal("the same arch got two slots")
		}
		row := make([]float64, sp.Dim())
		sp.Encode(row, j)
		if !slices.Equal(row, X.RawRowView(j)) || slices.Max(row) != 1 {
			t.Fatalf("EncodeAll row %d is stale", j)
		}
	}
	if got := sp.Neighbours(nil, 0); len(got) != 75 || slices.Contains(got, 0) {
		t.Fatalf("%d neighbours %v", len(got), got)
	}
	o := sp.Oracle(func(int) (float64, float64, float64, error) { return 1, 1, 1, nil })
	if len(o.pool) != 40 {
		t.Fatalf("oracle pool %d, want the 40 random slots", len(o.pool))
	}
}
