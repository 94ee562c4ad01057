package train

import (
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/darts"
)

// alphaFor returns hand-set architecture weights whose argmax parse is g:
// each kept pair's op gets a large logit (the first pair of a node the
// larger, so the parse emits the pairs in g's order), every other edge a
// still larger none logit and a small logit on a random op.
func alphaFor(g darts.Genotype, rng *rand.Rand) [2][]float64 {
	var a [2][]float64
	for ct, c := range [2]darts.Cell{g.Normal, g.Reduce} {
		a[ct] = make([]float64, darts.NumEdges*darts.NumOps)
		kept := map[int]bool{}
		for p, pr := range c {
			e := darts.Edge(p/2, int(pr.Input))
			kept[e] = true
			a[ct][e*darts.NumOps+int(pr.Op)] = 4 - float64(p%2)
		}
		for e := range darts.NumEdges {
			if !kept[e] {
				a[ct][e*darts.NumOps+darts.None] = 5
				a[ct][e*darts.NumOps+1+rng.IntN(darts.NumOps-1)] = 1
			}
		}
	}
	return a
}

// TestArgmaxHandSetAlphas: the DARTS parse of hand-set α gives back the
// published genotypes, pair order included.
func TestArgmaxHandSetAlphas(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []string{darts.DARTSV1, darts.DARTSV2, darts.DARTSPTS50} {
		want := darts.MustParse(s)
		a := alphaFor(want, rng)
		w := [2]archWeights{softmaxRows(a[0]), softmaxRows(a[1])}
		if got := argmaxGenotype(&w); got != want {
			t.Fatalf("argmax of hand-set α:\n got %v\nwant %v", got, want)
		}
	}
	// none never wins, even where it has the largest weight on a kept edge.
	var w archWeights
	for e := range darts.NumEdges {
		w[e][darts.None] = 0.9
		w[e][darts.AvgPool3x3] = 0.05
	}
	c := argmaxCell(&w)
	for _, p := range c {
		if p.Op != darts.AvgPool3x3 {
			t.Fatalf("argmax chose %s", darts.OpNames[p.Op])
		}
	}
	// Ties keep the lower input (Python's stable sort): node 3 reads 0, 1.
	if c[6].Input != 0 || c[7].Input != 1 {
		t.Fatalf("tie order: %v", c)
	}
}

// TestDARTSPTKnownContributions runs the DARTS-PT projection rounds on a
// hand-built supernet whose accuracy is a known linear function of the
// projected weights, acc = 50 + Σ W[e,k]·v[e,k] (v = what op k on edge e
// contributes): the op kept on every edge must be the one whose removal
// costs most (largest W·v) and each node must keep its two edges of largest
// contribution; the final parse is therefore known.
func TestDARTSPTKnownContributions(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	var v [2]archWeights
	var alpha [2][]float64
	for ct := range 2 {
		alpha[ct] = make([]float64, darts.NumEdges*darts.NumOps)
		for e := range darts.NumEdges {
			for k := range darts.NumOps {
				if k != darts.None { // the zero op contributes nothing
					v[ct][e][k] = rng.Float64() * 10
				}
				alpha[ct][e*darts.NumOps+k] = rng.NormFloat64()
			}
		}
	}
	mix := newMixInputs(tensor.Float64)
	evals := 0
	acc := func() (float64, error) {
		evals++
		w := projectedWeights(alpha, mix)
		a := 50.0
		for ct := range 2 {
			for e := range darts.NumEdges {
				for k := range darts.NumOps {
					a += w[ct][e][k] * v[ct][e][k]
				}
			}
		}
		return a, nil
	}
	st := &ptState{}
	p := &projector{mix: mix, st: st, rng: rand.New(rand.NewPCG(4, 5)), acc: acc}
	sm := [2]archWeights{softmaxRows(alpha[0]), softmaxRows(alpha[1])}
	for st.Round = 0; st.Round < ptRounds; st.Round++ {
		ds, err := p.round()
		if err != nil {
			t.Fatal(err)
		}
		for ct, d := range ds {
			if d.Kind != "op" {
				// Node i has i+2 inputs and keeps 2: i drops, each its own pass.
				if len(d.Dropped) != d.Node || len(d.Chosen) != 2 || !strings.Contains(d.String(), "-> drop ") {
					t.Fatalf("edge decision %v", d)
				}
				continue
			}
			// The op whose removal hurts most: largest softmax weight × contribution.
			want, best := 0, -1.0
			for k := range darts.NumOps {
				if c := sm[ct][d.Edge][k] * v[ct][d.Edge][k]; c > best {
					want, best = k, c
				}
			}
			if d.Chosen[0] != darts.OpNames[want] {
				t.Fatalf("%s edge %d: kept %s, want %s (%v)", d.Cell, d.Edge, d.Chosen[0], darts.OpNames[want], d)
			}
		}
	}
	// darts-pt's count: 14·2·8 op evaluations + 2·(3+7+12) edge evaluations.
	if evals != 268 {
		t.Fatalf("%d supernet evaluations, want 268", evals)
	}
	// Expected genotype: every edge holds its kept op k* one-hot and
	// contributes v[e,k*]; each node 1..3 keeps its two edges of largest
	// contribution (removing them costs most), node 0 both of its edges.
	w := projectedWeights(alpha, mix)
	got := argmaxGenotype(&w)
	for ct, c := range got.Cells() {
		for i := range darts.NumNodes {
			var contrib []float64
			for j := range i + darts.NumInputs {
				e := darts.Edge(i, j)
				cv := 0.0
				for k := range darts.NumOps {
					cv += w[ct][e][k] * v[ct][e][k]
				}
				contrib = append(contrib, cv)
			}
			kept := 0
			for _, x := range contrib {
				if x > 0 {
					kept++
				}
			}
			if kept != 2 {
				t.Fatalf("%s node %d keeps %d edges, want 2", cellNames[ct], i, kept)
			}
			a, b := c[2*i].Input, c[2*i+1].Input
			for j, x := range contrib {
				if x > 0 != (uint8(j) == a || uint8(j) == b) {
					t.Fatalf("%s node %d: parse %v disagrees with kept edges %v", cellNames[ct], i, got, contrib)
				}
				// The dropped edges contribute less than the kept ones did.
				if x == 0 {
					e := darts.Edge(i, j)
					for _, y := range contrib {
						if y > 0 && maxRow(v[ct][e], st, ct, e) > y+1e-12 {
							t.Fatalf("%s node %d dropped input %d (contribution %.3f) over one of %.3f", cellNames[ct], i, j, maxRow(v[ct][e], st, ct, e), y)
						}
					}
				}
			}
		}
	}
	t.Logf("DARTS-PT on the linear supernet: %v after %d evaluations", got, evals)
}

// maxRow is the contribution edge e had with its kept op (found from the
// op decision recorded for it).
func maxRow(v [darts.NumOps]float64, st *ptState, ct, e int) float64 {
	for _, d := range st.Decisions {
		if d.Kind == "op" && d.Cell == cellNames[ct] && d.Edge == e {
			return v[darts.OpID(d.Chosen[0])]
		}
	}
	return -1
}
