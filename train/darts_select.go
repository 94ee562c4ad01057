package train

// Architecture selection on a DARTS supernet: DARTS' argmax parse
// (model_search.py Network.genotype) and DARTS-PT's perturbation-based
// projection (ruocwang/darts-pt sota/cnn/projection.py), over the projected
// weights W = softmax(α)⊙M + P that every supernet graph reads.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/nbquery/nbquery/space/darts"
)

// archWeights is one cell type's (14,8) weight matrix.
type archWeights [darts.NumEdges][darts.NumOps]float64

// softmaxRows returns the row softmax of a (14,8) α in row-major order.
func softmaxRows(alpha []float64) archWeights {
	var w archWeights
	for e := range darts.NumEdges {
		row := alpha[e*darts.NumOps : (e+1)*darts.NumOps]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		s := 0.0
		for k, v := range row {
			w[e][k] = math.Exp(v - mx)
			s += w[e][k]
		}
		for k := range row {
			w[e][k] /= s
		}
	}
	return w
}

// argmaxCell is DARTS' parse: for each node rank the incoming edges by
// their strongest non-none weight (a stable sort, so ties keep the lower
// input), keep the top 2 and emit each with its argmax non-none op (the
// first maximum), strongest edge first.
func argmaxCell(w *archWeights) darts.Cell {
	var c darts.Cell
	for i := range darts.NumNodes {
		n := i + darts.NumInputs
		strength := func(j int) float64 {
			e := darts.Edge(i, j)
			best := math.Inf(-1)
			for k := 1; k < darts.NumOps; k++ {
				best = math.Max(best, w[e][k])
			}
			return best
		}
		order := make([]int, n)
		for j := range order {
			order[j] = j
		}
		// Stable insertion sort by descending strength.
		for a := 1; a < n; a++ {
			for b := a; b > 0 && strength(order[b]) > strength(order[b-1]); b-- {
				order[b], order[b-1] = order[b-1], order[b]
			}
		}
		for p, j := range order[:2] {
			e := darts.Edge(i, j)
			kb := 1
			for k := 2; k < darts.NumOps; k++ {
				if w[e][k] > w[e][kb] {
					kb = k
				}
			}
			c[2*i+p] = darts.Pair{Op: uint8(kb), Input: uint8(j)}
		}
	}
	return c
}

// argmaxGenotype parses both cells' weights.
func argmaxGenotype(w *[2]archWeights) darts.Genotype {
	return darts.Genotype{Normal: argmaxCell(&w[0]), Reduce: argmaxCell(&w[1])}
}

// Decision is one DARTS-PT projection: the supernet accuracy (percent, on
// the projection set) with each candidate removed, and what was kept.
type Decision struct {
	Cell    string    `json:"cell"` // normal | reduce
	Kind    string    `json:"kind"` // op | edge
	Edge    int       `json:"edge,omitempty"`
	Node    int       `json:"node,omitempty"`
	Options []string  `json:"options"`
	Acc     []float64 `json:"acc"` // accuracy without each option (edges: one pass per drop, n, n-1, ..., 3 options)
	Dropped []string  `json:"dropped,omitempty"`
	Chosen  []string  `json:"chosen"`
}

func (d Decision) String() string {
	var b strings.Builder
	if d.Kind == "op" {
		n, j := darts.EdgeEnds(d.Edge)
		fmt.Fprintf(&b, "pt %s op edge %d (node %d <- input %d): acc without", d.Cell, d.Edge, n, j)
		for i, o := range d.Options {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, " %s %.2f", o, d.Acc[i])
		}
	} else {
		fmt.Fprintf(&b, "pt %s edges of node %d:", d.Cell, d.Node)
		at := 0
		for pass, n := 0, d.Node+darts.NumInputs; n > 2 && at+n <= len(d.Options); pass, n = pass+1, n-1 {
			b.WriteString(" acc without")
			for i := at; i < at+n; i++ {
				if i > at {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, " %s %.2f", d.Options[i], d.Acc[i])
			}
			if pass < len(d.Dropped) {
				fmt.Fprintf(&b, " -> drop %s;", d.Dropped[pass])
			}
			at += n
		}
	}
	fmt.Fprintf(&b, " -> keep %s", strings.Join(d.Chosen, ", "))
	return b.String()
}

// ptState is DARTS-PT's progress, checkpointed with the search.
type ptState struct {
	OpDone    [2][darts.NumEdges]bool
	NodeDone  [2][darts.NumNodes]bool
	Round     int // projection rounds done (14 op rounds, then 3 edge rounds)
	TuneIter  int // tuning iterations done after the current round
	Projected bool
	Decisions []Decision
}

// ptRounds is DARTS-PT's number of projections per cell type: one per edge,
// then one per node with more than 2 inputs.
const ptRounds = darts.NumEdges + darts.NumNodes - 1

// projector runs DARTS-PT projections on mix; acc evaluates the supernet
// on the projection set with the current mix (percent).
type projector struct {
	mix *mixInputs
	st  *ptState
	rng *rand.Rand
	acc func() (float64, error)
}

var cellNames = [2]string{"normal", "reduce"}

// round performs projection round st.Round on both cell types (normal,
// then reduce), as darts-pt's project_op / project_edge.
func (p *projector) round() ([]Decision, error) {
	var out []Decision
	for ct := range 2 {
		var d Decision
		var err error
		if p.st.Round < darts.NumEdges {
			d, err = p.projectOp(ct)
		} else {
			d, err = p.projectEdge(ct)
		}
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	p.st.Decisions = append(p.st.Decisions, out...)
	return out, nil
}

// projectOp picks a random undecided edge and, for each op including
// none, zeroes its weight (no renormalisation) and measures the supernet;
// the op whose removal gives the lowest accuracy (strict <: ties keep the
// lower id) is kept as a one-hot row.
func (p *projector) projectOp(ct int) (Decision, error) {
	var cand []int
	for e := range darts.NumEdges {
		if !p.st.OpDone[ct][e] {
			cand = append(cand, e)
		}
	}
	if len(cand) == 0 {
		return Decision{}, fmt.Errorf("train: darts-pt: no undecided %s edge", cellNames[ct])
	}
	e := cand[p.rng.IntN(len(cand))]
	d := Decision{Cell: cellNames[ct], Kind: "op", Edge: e}
	best, bestAcc := -1, math.Inf(1)
	for k := range darts.NumOps {
		mv, pv := p.mix.get(ct, e, k)
		p.mix.set(ct, e, k, 0, pv)
		a, err := p.acc()
		p.mix.set(ct, e, k, mv, pv)
		if err != nil {
			return d, err
		}
		d.Options = append(d.Options, darts.OpNames[k])
		d.Acc = append(d.Acc, a)
		if a < bestAcc {
			best, bestAcc = k, a
		}
	}
	for k := range darts.NumOps {
		v := 0.0
		if k == best {
			v = 1
		}
		p.mix.set(ct, e, k, 0, v)
	}
	p.st.OpDone[ct][e] = true
	d.Chosen = []string{darts.OpNames[best]}
	return d, nil
}

// projectEdge picks a random node with undecided inputs (nodes 1..3) and,
// while more than 2 of its edges remain, zeroes each remaining edge's row
// in turn and drops the one whose removal gives the highest accuracy (not
// <: ties drop the later edge).
func (p *projector) projectEdge(ct int) (Decision, error) {
	var cand []int
	for i := 1; i < darts.NumNodes; i++ {
		if !p.st.NodeDone[ct][i] {
			cand = append(cand, i)
		}
	}
	if len(cand) == 0 {
		return Decision{}, fmt.Errorf("train: darts-pt: no undecided %s node", cellNames[ct])
	}
	node := cand[p.rng.IntN(len(cand))]
	d := Decision{Cell: cellNames[ct], Kind: "edge", Node: node}
	remain := make([]int, node+darts.NumInputs)
	for j := range remain {
		remain[j] = darts.Edge(node, j)
	}
	for len(remain) > 2 {
		drop, dropAcc := -1, math.Inf(-1)
		for idx, e := range remain {
			var saved [darts.NumOps][2]float64
			for k := range darts.NumOps {
				saved[k][0], saved[k][1] = p.mix.get(ct, e, k)
				p.mix.set(ct, e, k, 0, 0)
			}
			a, err := p.acc()
			for k := range darts.NumOps {
				p.mix.set(ct, e, k, saved[k][0], saved[k][1])
			}
			if err != nil {
				return d, err
			}
			_, j := darts.EdgeEnds(e)
			d.Options = append(d.Options, fmt.Sprintf("input %d", j))
			d.Acc = append(d.Acc, a)
			if !(a < dropAcc) {
				drop, dropAcc = idx, a
			}
		}
		for k := range darts.NumOps {
			p.mix.set(ct, remain[drop], k, 0, 0)
		}
		_, j := darts.EdgeEnds(remain[drop])
		d.Dropped = append(d.Dropped, fmt.Sprintf("input %d", j))
		remain = append(remain[:drop], remain[drop+1:]...)
	}
	for _, e := range remain {
		_, j := darts.EdgeEnds(e)
		d.Chosen = append(d.Chosen, fmt.Sprintf("input %d", j))
	}
	p.st.NodeDone[ct][node] = true
	return d, nil
}

// projectedWeights returns W = softmax(α)⊙M + P for both cell types.
func projectedWeights(alpha [2][]float64, mix *mixInputs) [2]archWeights {
	var w [2]archWeights
	for ct := range 2 {
		w[ct] = softmaxRows(alpha[ct])
		for e := range darts.NumEdges {
			for k := range darts.NumOps {
				mv, pv := mix.get(ct, e, k)
				w[ct][e][k] = w[ct][e][k]*mv + pv
			}
		}
	}
	return w
}
