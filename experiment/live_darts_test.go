package experiment_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/space/darts"
)

// TestLiveDARTS searches the DARTS space live (random, RE, LS, BANANAS on
// the one-hot encoding) over a stand-in evaluator that scores a genotype by
// its sep_conv_3x3 pairs: mutations reach genotypes outside the random pool,
// every queried slot holds a searchable genotype, and the searches beat the
// pool's average.
func TestLiveDARTS(t *testing.T) {
	sp := search.NewDARTS(200, 20000, 1)
	score := func(g darts.Genotype) float64 {
		v := 0.0
		for p, pr := range g.Normal {
			if pr.Op == darts.SepConv3x3 {
				v += float64(1 + p/2)
			}
		}
		return v
	}
	var calls atomic.Int64
	eval := func(i int) (float64, float64, float64, error) {
		calls.Add(1)
		g := sp.Genotype(i)
		if !g.Searchable() {
			t.Errorf("slot %d holds %v", i, g)
		}
		v := score(g)
		return v, v, 1, nil
	}
	cfg := experiment.Config{Bench: "darts", Dataset: "fashion-mnist", Algos: []string{"random", "re", "ls", "bananas"},
		Runs: 2, Budget: 30, Seed: 3, Workers: 2, Live: eval, LiveSpace: sp}
	cfg.Bananas.Encoding = "onehot"
	s, err := experiment.Run(context.Background(), nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Filled() <= 200 {
		t.Fatalf("no mutation left the random pool (%d slots filled)", sp.Filled())
	}
	mean := 0.0
	for i := range 200 {
		mean += score(sp.Genotype(i)) / 200
	}
	for _, a := range s.Algos {
		best := a.BestTarget[len(a.BestTarget)-1]
		if float64(best) <= mean {
			t.Errorf("%s: best %v, pool mean %.2f", a.Algo, best, mean)
		}
		t.Logf("%s: best %v (pool mean %.2f)", a.Algo, best, mean)
	}
	t.Logf("%d evaluations, %d slots filled", calls.Load(), sp.Filled())
}
