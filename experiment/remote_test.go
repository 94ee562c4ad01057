package experiment_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nbquery/nbquery/experiment"
)

// TestRunner: runs executed one at a time elsewhere (here: a Run per run
// with FirstRun and Trace, as `experiment --runs 1 --run-index i` does in a
// Slurm task) give the same results as running them here, and a trace that
// does not fit is refused.
func TestRunner(t *testing.T) {
	st := testStore(t)
	cfg := experiment.Config{Algos: []string{"weaknas", "random", "re"}, Runs: 3, Budget: 60, Seed: 9, Predictor: "ridge"}
	local, err := experiment.Run(context.Background(), st, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	one := func(ctx context.Context, spec experiment.RunSpec) (experiment.RunTrace, error) {
		c := cfg
		c.Algos, c.Runs, c.FirstRun = []string{spec.Algo}, 1, spec.Run
		var mu sync.Mutex
		var got []experiment.RunTrace
		c.Trace = func(tr experiment.RunTrace) { mu.Lock(); got = append(got, tr); mu.Unlock() }
		if _, err := experiment.Run(ctx, st, c, nil); err != nil {
			return experiment.RunTrace{}, err
		}
		return got[0], nil
	}
	var calls int
	remote := cfg
	remote.Runner = func(ctx context.Context, specs []experiment.RunSpec) ([]experiment.RunTrace, error) {
		calls++
		out := make([]experiment.RunTrace, len(specs))
		for i, s := range specs {
			var err error
			if out[i], err = one(ctx, s); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	s, err := experiment.Run(context.Background(), st, remote, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("runner called %d times, want once with every run", calls)
	}
	for a := range local.Algos {
		if fmt.Sprintf("%v", local.Algos[a].Results) != fmt.Sprintf("%v", s.Algos[a].Results) {
			t.Errorf("%s: remote results differ:\n%v\n%v", local.Algos[a].Algo, local.Algos[a].Results, s.Algos[a].Results)
		}
	}
	remote.Runner = func(ctx context.Context, specs []experiment.RunSpec) ([]experiment.RunTrace, error) {
		out := make([]experiment.RunTrace, len(specs))
		for i, sp := range specs {
			out[i] = experiment.RunTrace{RunSpec: sp, Queries: []int{1 << 30}, Time: []float64{1}}
		}
		return out, nil
	}
	if _, err := experiment.Run(context.Background(), st, remote, nil); err == nil || !strings.Contains(err.Error(), "queries cell") {
		t.Errorf("out-of-range trace: %v", err)
	}
}
