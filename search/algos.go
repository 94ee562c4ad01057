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

// Mutation names of Evolution.Mutation.
const (
	// MutateOneEdge changes one uniformly random edge (NB201) or one
	// edge/op (NB101) and queries the child whatever it is, a cell already
	// queried included, as Real et al., NAS-Bench-201's R-EA and naszilla
	// do.
	MutateOneEdge = "one-edge"
	// MutateUnseen retries the mutation (up to 100 times, then a random
	// unseen cell) until the child was not queried before.
	MutateUnseen = "unseen"
)

// Evolution is regularized (aging) evolution, Real et al. 2019: a
// population of Population random cells; each step draws Tournament members
// (with or without replacement), mutates the best and replaces the oldest
// member by the child. Zero fields take naszilla's defaults: population 30,
// tournament 10 drawn without replacement (random.sample), one-edge
// mutation. NAS-Bench-201's R-EA is population 10, tournament 3 drawn with
// replacement.
type Evolution struct {
	Population      int    `json:"population"`
	Tournament      int    `json:"tournament"`
	WithReplacement bool   `json:"with_replacement"` // draw the tournament with replacement
	Mutation        string `json:"mutation"`         // MutateOneEdge (default) or MutateUnseen
}

func (e Evolution) Name() string { return "re" }

// WithDefaults returns e with the zero fields set to their defaults.
func (e Evolution) WithDefaults() Evolution {
	e.Population = orDefault(e.Population, 30)
	e.Tournament = orDefault(e.Tournament, 10)
	if e.Mutation == "" {
		e.Mutation = MutateOneEdge
	}
	return e
}

// Validate reports a setting that cannot run.
func (e Evolution) Validate() error {
	e = e.WithDefaults()
	if e.Mutation != MutateOneEdge && e.Mutation != MutateUnseen {
		return fmt.Errorf("search: re: mutation %q (want %s or %s): %w", e.Mutation, MutateOneEdge, MutateUnseen, ErrBadInput)
	}
	if e.Population < 1 || e.Tournament < 1 || (!e.WithReplacement && e.Tournament > e.Population) {
		return fmt.Errorf("search: re: population %d, tournament %d (without replacement the tournament must fit the population): %w",
			e.Population, e.Tournament, ErrBadInput)
	}
	return nil
}

func (e Evolution) Search(ctx context.Context, s *Session, rng *rand.Rand) error {
	if err := e.Validate(); err != nil {
		return err
	}
	e = e.WithDefaults()
	P, T := e.Population, e.Tournament
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
	const maxFree = 1000 // consecutive free (repeated) proposals before a random child
	free := 0
	for !s.Done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		parent := -1
		consider := func(c int) {
			if parent < 0 || s.Oracle.Target[c] > s.Oracle.Target[parent] {
				parent = c
			}
		}
		if e.WithReplacement {
			for j := 0; j < T; j++ {
				consider(pop[rng.IntN(len(pop))])
			}
		} else {
			for j := range idx {
				idx[j] = j
			}
			for j := 0; j < min(T, len(pop)); j++ { // partial Fisher-Yates: T distinct members
				k := j + rng.IntN(len(idx)-j)
				idx[j], idx[k] = idx[k], idx[j]
				consider(pop[idx[j]])
			}
		}
		var child int
		switch {
		case e.Mutation == MutateUnseen:
			child = mutateUnseen(s, rng, parent)
		case free >= maxFree:
			// Under a rule where repeats are free, a population whose
			// neighbourhoods are all queried would loop without spending
			// the budget: draw a random unseen child instead.
			child, free = s.RandomUnseen(rng), 0
		default:
			child = mutateValid(s, rng, parent)
		}
		if child < 0 {
			return nil
		}
		n := len(s.Queries)
		s.Query(child)
		if len(s.Queries) == n {
			free++
		} else {
			free = 0
		}
		pop[head] = child
		head = (head + 1) % len(pop)
	}
	return nil
}

// mutateValid mutates parent until the child is valid (satisfies the
// constraint; up to 100 tries), else falls back to a random unseen cell.
func mutateValid(s *Session, rng *rand.Rand, parent int) int {
	for try := 0; try < 100; try++ {
		if c := s.Space.Mutate(rng, parent); s.Oracle.Valid(c) {
			return c
		}
	}
	return s.RandomUnseen(rng)
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
// and move to the first better one (FirstImprovement) or to the best of the
// neighbours; at a local optimum restart from a random unseen cell (or end
// the run, with NoRestart). Neighbours > 0 examines only that many random
// neighbours per step. A neighbour queried before is looked up in the
// run's history, not queried again (naszilla's local search keeps a
// query dictionary), so the counting rule does not change its course.
type LocalSearch struct {
	FirstImprovement bool `json:"first_improvement"`
	Neighbours       int  `json:"neighbours"` // 0: the whole neighbourhood
	NoRestart        bool `json:"no_restart"`
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
			if l.Neighbours > 0 && l.Neighbours < len(nb) {
				nb = nb[:l.Neighbours]
			}
			best, fbest := -1, fx
			for _, y := range nb {
				if !s.Oracle.Valid(y) {
					continue
				}
				fy, ok := s.Value(y)
				if !ok {
					if fy, ok = s.Query(y); !ok {
						break
					}
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
		if l.NoRestart {
			return nil
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
