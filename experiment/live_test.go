package experiment_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/space/nb201"
)

// TestLiveExperiment runs the harness over an oracle that evaluates cells on
// demand (a stand-in for live training): every cell is evaluated once,
// results do not depend on the worker count, and WeakNAS is refused.
func TestLiveExperiment(t *testing.T) {
	var calls atomic.Int64
	eval := func(i int) (float64, float64, float64, error) {
		calls.Add(1)
		c := nb201.FromCode(i)
		v := 0.0
		for e, op := range c {
			if op == nb201.Conv3x3 {
				v += float64(e + 1)
			}
		}
		return v, v / 2, 1, nil
	}
	var sums []*experiment.Summary
	for _, workers := range []int{1, 2} {
		calls.Store(0)
		cfg := experiment.Config{Dataset: "fashion-mnist", Algos: []string{"random", "re", "ls"}, Runs: 3, Budget: 40, Seed: 5, Workers: workers, Live: eval}
		s, err := experiment.Run(context.Background(), nil, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := calls.Load(); n == 0 || n > 3*3*40 {
			t.Errorf("%d evaluations", n)
		}
		if len(s.Optimum) != 0 || !math.IsNaN(float64(s.OptimumValue)) {
			t.Errorf("live optimum %v %v", s.Optimum, s.OptimumValue)
		}
		var buf bytes.Buffer
		if err := experiment.PrintSummary(&buf, s); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, s)
	}
	for a := range sums[0].Algos {
		x, y := sums[0].Algos[a], sums[1].Algos[a]
		if x.FinalReport != y.FinalReport || x.BestTarget[len(x.BestTarget)-1] != y.BestTarget[len(y.BestTarget)-1] {
			t.Errorf("%s differs between 1 and 2 workers", x.Algo)
		}
		if x.BestTarget[len(x.BestTarget)-1] <= 0 {
			t.Errorf("%s found nothing", x.Algo)
		}
	}
	_, err := experiment.Run(context.Background(), nil, experiment.Config{Algos: []string{"weaknas"}, Runs: 1, Budget: 10, Live: eval}, nil)
	if !errors.Is(err, experiment.ErrConfig) || !strings.Contains(err.Error(), "whole space") {
		t.Errorf("weaknas on a live oracle: %v", err)
	}
	boom := errors.New("training diverged")
	_, err = experiment.Run(context.Background(), nil, experiment.Config{Algos: []string{"random"}, Runs: 2, Budget: 10,
		Live: func(int) (float64, float64, float64, error) { return 0, 0, 0, boom }}, nil)
	if !errors.Is(err, boom) {
		t.Errorf("failed evaluation: %v", err)
	}
}
