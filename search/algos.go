package search

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Random is random search without replacement.
type Random struct{}

func (Random) Name() string { return "random" }

func (Random) Search(ctx context.Context, s *Session, rng *rand.Rand) error {
	for !s.Done() {
		if len(s.Queries)%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		i := s.RandomUnseen(rng)
		if i < 0 {
			return nil
		}
		s.Query(i)
	}
	return nil
}

// Evolution is regularized (aging) evolution, Real et al. 2019: a
// population of Population cells; each step samples Tournament members
// uniformly without replacement, mutates the best (one edge / one op) and
// replaces the oldest member by the child.
type Evolution struct {
	Population int // 0: 30 (naszilla)
	Tournament int // 0: 10
}

func (e Evolution) Name() string { return "re" }

func (e Evolution) Search(ctx context.Context, s *Session, rng *rand.Rand) error {
	P, T := e.Population, e.Tournament
	if P <= 0 {
		P = 30
	}
	if T <= 0 {
		T = 10
	}
	T = min(T, P)
	pop := make([]int, 0, P) // a ring: pop[head] is the oldest once full
	head := 0
	for len(pop) < P && !s.Done() {
		i := s.RandomUnseen(rng)
		if i < 0 {
			return nil
		}
		s.Query(i)
		pop = append(pop, i)
	}
	idx := make([]int, len(pop))
	for !s.Done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		for j := range idx {
			idx[j] = j
		}
		parent := -1
		for j := 0; j < T; j++ { // partial Fisher-Yates: T distinct members
			k := j + rng.IntN(len(idx)-j)
			idx[j], idx[k] = idx[k], idx[j]
			c := pop[idx[j]]
			if parent < 0 || s.Oracle.Target[c] > s.Oracle.Target[parent] {
				parent = c
			}
		}
		child := mutateUnseen(s, rng, parent)
		if child < 0 {
			return nil
		}
		s.Query(child)
		pop[head] = child
		head = (head + 1) % len(pop)
	}
	return nil
}

// mutateUnseen mutates parent until it finds a valid unseen cell (up to 100
// tries), else falls back to a random unseen cell.
func mutateUnseen(s *Session, rng *rand.Rand, parent int) int {
	for try := 0; try < 100; try++ {
		c := s.Space.Mutate(rng, parent)
		if s.Oracle.Valid(c) && !s.Seen(c) {
			return c
		}
	}
	return s.RandomUnseen(rng)
}

// LocalSearch is hill climbing over the one-mutation neighbourhood with
// random restarts: from a random cell, query neighbours in random order
// and move to the first better one (FirstImprovement) or to the best of all
// neighbours; at a local optimum restart from a random unseen cell.
type LocalSearch struct {
	FirstImprovement bool
}

func (l LocalSearch) Name() string {
	if l.FirstImprovement {
		return "ls-first"
	}
	return "ls"
}

func (l LocalSearch) Search(ctx context.Context, s *Session, rng *rand.Rand) error {
	var nb []int
	for !s.Done() {
		x := s.RandomUnseen(rng)
		if x < 0 {
			return nil
		}
		fx, _ := s.Query(x)
		for !s.Done() {
			if err := ctx.Err(); err != nil {
				return err
			}
			nb = s.Space.Neighbours(nb, x)
			rng.Shuffle(len(nb), func(i, j int) { nb[i], nb[j] = nb[j], nb[i] })
			best, fbest := -1, fx
			for _, y := range nb {
				if !s.Oracle.Valid(y) {
					continue
				}
				fy, ok := s.Query(y)
				if !ok {
					break
				}
				if fy > fbest {
					best, fbest = y, fy
					if l.FirstImprovement {
						break
					}
				}
			}
			if best < 0 {
				break // local optimum: restart
			}
			x, fx = best, fbest
		}
	}
	return nil
}

// TopK appends to dst[:0] the k candidates with the highest score, best
// first, ties broken by the order of cand (for an ascending cand, the lower
// index; shuffle cand for random tie-breaking), skipping those for which
// skip returns true (skip may be nil). NaN scores rank last. It costs
// O(n log k).
func TopK(dst []int, score []float64, cand []int32, k int, skip func(int) bool) []int {
	dst = dst[:0]
	if k <= 0 {
		return dst
	}
	h := topHeap{score: score, cand: cand, pos: dst}
	for p, c := range cand {
		if skip != nil && skip(int(c)) {
			continue
		}
		if len(h.pos) < k {
			heap.Push(&h, p)
			continue
		}
		if h.better(p, h.pos[0]) {
			h.pos[0] = p
			heap.Fix(&h, 0)
		}
	}
	out := h.pos
	slices.SortFunc(out, func(a, b int) int {
		if h.better(a, b) {
			return -1
		}
		return 1 // positions are distinct, so never equal
	})
	for i, p := range out {
		out[i] = int(cand[p])
	}
	return out
}

// topHeap is a min-heap of positions in cand by (score, -position): the
// root is the worst kept.
type topHeap struct {
	score []float64
	cand  []int32
	pos   []int
}

func (h *topHeap) better(a, b int) bool {
	sa, sb := h.score[h.cand[a]], h.score[h.cand[b]]
	if sa != sb {
		return sa > sb || (math.IsNaN(sb) && !math.IsNaN(sa))
	}
	return a < b
}
func (h *topHeap) Len() int           { return len(h.pos) }
func (h *topHeap) Less(i, j int) bool { return h.better(h.pos[j], h.pos[i]) }
func (h *topHeap) Swap(i, j int)      { h.pos[i], h.pos[j] = h.pos[j], h.pos[i] }
func (h *topHeap) Push(x any)         { h.pos = append(h.pos, x.(int)) }
func (h *topHeap) Pop() any {
	x := h.pos[len(h.pos)-1]
	h.pos = h.pos[:len(h.pos)-1]
	return x
}

// ByName returns a classic algorithm: random, re, ls, ls-first. BANANAS and
// WeakNAS need a predictor and are built by their constructors.
func ByName(name string) (Algorithm, error) {
	switch name {
	case "random":
		return Random{}, nil
	case "re":
		return Evolution{}, nil
	case "ls":
		return LocalSearch{}, nil
	case "ls-first":
		return LocalSearch{FirstImprovement: true}, nil
	}
	return nil, fmt.Errorf("search: unknown algorithm %q (want random, re, ls or ls-first): %w", name, ErrBadInput)
}
