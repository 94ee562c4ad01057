package search

import (
	"fmt"
	"math/rand/v2"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/predictors"
	"github.com/nbquery/nbquery/space/nb101"
)

// NB101PathDim is the width of the NB101 path encoding of the NB101 space:
// naszilla's trunc_path cutoff of 40 (the shortest paths first). The full
// 364 columns would take 1.2 GB for the 423,624-cell table.
const NB101PathDim = 40

// nb101Patience bounds the mutation retries (naszilla's patience).
const nb101Patience = 5000

// nb101Inner is the number of op spots of the unpruned 7-vertex graph.
const nb101Inner = nb101.MaxVertices - 2

// NB101 is the NAS-Bench-101 cell space over the rows of an NB101 table,
// in row order: a full table has 423,624 cells, a partial one fewer, and
// mutations and neighbours stay inside the table. The table is deduplicated
// by module hash, so isomorphic specs share a row and Class(i) = i. NB101
// only reads the table; it is valid while the table's store is open and is
// safe for concurrent use.
type NB101 struct {
	t *index.NB101Table
}

// NewNB101 returns the space over the rows of t. It returns an error
// wrapping ErrBadInput if t is empty.
func NewNB101(t *index.NB101Table) (*NB101, error) {
	if t == nil || t.Len() == 0 {
		return nil, fmt.Errorf("search: nb101 space: empty table: %w", ErrBadInput)
	}
	return &NB101{t: t}, nil
}

// Table returns the underlying table.
func (s *NB101) Table() *index.NB101Table { return s.t }

// Spec returns the stored (pruned) cell of row i.
func (s *NB101) Spec(i int) nb101.Spec { return s.t.Spec(i) }

func (s *NB101) Len() int        { return s.t.Len() }
func (s *NB101) Dim() int        { return nb101.EncodeLen }
func (s *NB101) NumClasses() int { return s.t.Len() }
func (s *NB101) Class(i int) int { return i }

// Encode writes the 45-dim WeakNAS/NAO encoding (nb101.Spec.Encode45).
func (s *NB101) Encode(dst []float64, i int) { s.t.Spec(i).Encode45(dst) }

func (s *NB101) PathDim() int { return NB101PathDim }

// EncodePath writes the BANANAS path encoding truncated to NB101PathDim
// columns (predictors.NB101PathIndices, as predictors.EncodePathNB101).
func (s *NB101) EncodePath(dst []float64, i int) {
	clear(dst[:NB101PathDim])
	var idx [32]int
	var ops [nb101.MaxVertices]int
	for _, p := range predictors.NB101PathIndices(idx[:0], nb101Cell(s.t.Spec(i), &ops)) {
		if p < NB101PathDim {
			dst[p] = 1
		}
	}
}

// nb101Cell converts a spec to the predictors' cell form (op codes of the
// WeakNAS layout), its ops in buf.
func nb101Cell(sp nb101.Spec, buf *[nb101.MaxVertices]int) predictors.NB101Cell {
	ops := buf[:sp.N]
	for v := range ops {
		switch sp.Ops[v] {
		case nb101.Input:
			ops[v] = predictors.NB101Input
		case nb101.Conv1x1:
			ops[v] = predictors.NB101Conv1x1
		case nb101.Conv3x3:
			ops[v] = predictors.NB101Conv3x3
		case nb101.MaxPool3x3:
			ops[v] = predictors.NB101MaxPool3x3
		case nb101.Output:
			ops[v] = predictors.NB101Output
		}
	}
	return predictors.NB101Cell{Adj: sp.Adj, Ops: ops}
}

// graph is an unpruned cell: rows[a] has bit b set for an edge a->b.
type graph struct {
	n    int
	rows [nb101.MaxVertices]uint64
	ops  [nb101.MaxVertices]nb101.Op
}

func graphOf(sp nb101.Spec) graph {
	g := graph{n: int(sp.N), ops: sp.Ops}
	for a := 0; a < g.n; a++ {
		for b := a + 1; b < g.n; b++ {
			if sp.Edge(a, b) {
				g.rows[a] |= 1 << uint(b)
			}
		}
	}
	return g
}

// spec prunes and checks g (nb101.FromParts: the official ModelSpec rules).
func (g *graph) spec() (nb101.Spec, error) {
	var adj [nb101.MaxVertices * nb101.MaxVertices]byte
	for a := 0; a < g.n; a++ {
		for b := 0; b < g.n; b++ {
			adj[a*g.n+b] = '0' + byte(g.rows[a]>>uint(b)&1)
		}
	}
	return nb101.FromParts(adj[:g.n*g.n], g.ops[:g.n])
}

// row returns the table row of g if g is a valid spec in the table other
// than (a cell isomorphic to) row i.
func (s *NB101) row(g *graph, parent nb101.Spec, i int) (int, bool) {
	sp, err := g.spec()
	if err != nil || sp == parent {
		return 0, false
	}
	r, ok := s.t.Row(sp.Hash())
	if !ok || r == i {
		return 0, false
	}
	return r, true
}

// Mutate is naszilla's NB101 mutation (mutation rate 1) on the 7-vertex
// graph of row i: the pruned cell is padded to 7 vertices with dangling
// inner vertices whose ops are drawn from rng (the unpruned matrix is not
// stored); each of the 21 upper-triangular edges flips with probability
// 1/21 and each of the 5 inner ops changes to one of the other two with
// probability 1/5. It retries until the result is a valid spec, differs
// from i and is a row of the table, and returns that row; after 5,000
// failed tries (naszilla's patience) it returns i.
func (s *NB101) Mutate(rng *rand.Rand, i int) int {
	parent := s.t.Spec(i)
	const V = nb101.MaxVertices
	n := int(parent.N)
	// Pad: vertices 0..n-2 keep their place, the output moves to V-1.
	var base graph
	base.n = V
	for a := 0; a < n-1; a++ {
		for b := a + 1; b < n; b++ {
			if parent.Edge(a, b) {
				to := b
				if b == n-1 {
					to = V - 1
				}
				base.rows[a] |= 1 << uint(to)
			}
		}
		base.ops[a] = parent.Ops[a]
	}
	for v := n - 1; v < V-1; v++ {
		base.ops[v] = nb101.Op(rng.IntN(nb101.NumInnerOps))
	}
	base.ops[V-1] = nb101.Output
	const edgeP = 1.0 / (V * (V - 1) / 2)
	const opP = 1.0 / nb101Inner
	for try := 0; try < nb101Patience; try++ {
		g := base
		changed := false
		for a := 0; a < V-1; a++ {
			for b := a + 1; b < V; b++ {
				if rng.Float64() < edgeP {
					g.rows[a] ^= 1 << uint(b)
					changed = true
				}
			}
		}
		for v := 1; v <= nb101Inner; v++ {
			if rng.Float64() < opP {
				op := nb101.Op(rng.IntN(nb101.NumInnerOps - 1))
				if op >= g.ops[v] {
					op++
				}
				g.ops[v] = op
				changed = true
			}
		}
		if !changed {
			continue
		}
		if r, ok := s.row(&g, parent, i); ok {
			return r
		}
	}
	return i
}

// Neighbours appends to dst[:0] the distinct rows one mutation away from
// row i on its pruned graph: every single edge flip and every single inner
// op change that gives a valid spec in the table other than i, in the order
// edges (row-major) then ops. (On the padded 7-vertex graph a single edge
// cannot connect a dangling vertex, so these are all the neighbours.)
func (s *NB101) Neighbours(dst []int, i int) []int {
	dst = dst[:0]
	parent := s.t.Spec(i)
	base := graphOf(parent)
	add := func(g *graph) {
		r, ok := s.row(g, parent, i)
		if !ok {
			return
		}
		for _, x := range dst {
			if x == r {
				return
			}
		}
		dst = append(dst, r)
	}
	for a := 0; a < base.n-1; a++ {
		for b := a + 1; b < base.n; b++ {
			g := base
			g.rows[a] ^= 1 << uint(b)
			add(&g)
		}
	}
	for v := 1; v < base.n-1; v++ {
		for op := nb101.Op(0); op < nb101.NumInnerOps; op++ {
			if op == base.ops[v] {
				continue
			}
			g := base
			g.ops[v] = op
			add(&g)
		}
	}
	return dst
}
