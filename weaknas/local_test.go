package weaknas_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/weaknas"
)

// edges is the number of NB201 edges on which cells a and b differ.
func edges(sp *search.NB201, a, b int) int {
	ca, cb := sp.Cell(a), sp.Cell(b)
	d := 0
	for e := range ca {
		if ca[e] != cb[e] {
			d++
		}
	}
	return d
}

// bestOf is the queried cell with the highest target (the first on ties).
func bestOf(o *search.Oracle, q []int) int {
	b := q[0]
	for _, i := range q {
		if o.Target[i] > o.Target[b] {
			b = i
		}
	}
	return b
}

// exhausted reports whether every valid neighbour of c is in q.
func exhausted(sp *search.NB201, o *search.Oracle, c int, q []int) bool {
	for _, i := range sp.Neighbours(nil, c) {
		if o.Valid(i) && !slices.Contains(q, i) {
			return false
		}
	}
	return true
}

// TestRecentre: with every sample a local move (LocalShare 1, no tabu),
// Recentre makes each query after the initial sample a neighbour of the
// best cell queried before it (until that neighbourhood is spent); without
// Recentre a step's moves are all chosen around the best cell at its start,
// so a move made after a new best can miss that best's neighbourhood.
func TestRecentre(t *testing.T) {
	tab := loadC10(t)
	o, s := newSession(t, tab, 120)
	X := search.EncodeAll(tab.sp)
	misses := func(recentre bool) int {
		w := weaknas.New(weaknas.Config{K: 5, Local: 1, LocalShare: 1, Recentre: recentre}, X, o)
		n := 0
		for seed := uint64(0); seed < 4; seed++ {
			s.Reset()
			if err := w.Search(context.Background(), s, rand.New(rand.NewPCG(seed, 3))); err != nil {
				t.Fatal(err)
			}
			for j := 10; j < len(s.Queries); j++ {
				b := bestOf(o, s.Queries[:j])
				if edges(tab.sp, b, s.Queries[j]) != 1 && !exhausted(tab.sp, o, b, s.Queries[:j]) {
					n++
				}
			}
		}
		return n
	}
	if n := misses(true); n != 0 {
		t.Errorf("recentre: %d queries were not neighbours of the best cell so far", n)
	}
	if n := misses(false); n == 0 {
		t.Error("without recentre every move was around the best so far: the test shows nothing")
	}
}

// TestTabuAtLocalOpt: once every neighbour of the best cell is queried (a
// local optimum), the next step's samples avoid the cells within two edges
// of it (the optimum's too, once found), long before Patience (here 1,000)
// would restart; without the flag some runs keep sampling there.
func TestTabuAtLocalOpt(t *testing.T) {
	tab := loadC10(t)
	o, s := newSession(t, tab, 300)
	X := search.EncodeAll(tab.sp)
	inBall := func(atLocalOpt bool) (restarts, near int) {
		w := weaknas.New(weaknas.Config{K: 5, Local: 1, LocalShare: 0.8, Recentre: true, Patience: 1000, TabuRadius: 4,
			TabuAtLocalOpt: atLocalOpt}, X, o)
		for seed := uint64(0); seed < 8; seed++ {
			s.Reset()
			if err := w.Search(context.Background(), s, rand.New(rand.NewPCG(seed, 5))); err != nil {
				t.Fatal(err)
			}
			// The first fit after the best cell's neighbourhood is spent.
			for _, p := range s.Picks {
				q := s.Queries[:p.Queries]
				b := bestOf(o, q)
				if !exhausted(tab.sp, o, b, q) {
					continue
				}
				restarts++
				for _, i := range s.Queries[p.Queries:] {
					if edges(tab.sp, b, i) <= 2 {
						near++
					}
				}
				break
			}
		}
		return restarts, near
	}
	r, n := inBall(true)
	if r == 0 {
		t.Fatal("no run met a local optimum: the test shows nothing")
	}
	if n != 0 {
		t.Errorf("%d queries within two edges of a spent local optimum after the restart", n)
	}
	if r, n := inBall(false); r > 0 && n == 0 {
		t.Error("without the flag no run sampled near its spent local optimum: the test shows nothing")
	}
}
