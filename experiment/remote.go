package experiment

import (
	"context"
	"fmt"

	"github.com/nbquery/nbquery/search"
)

// RunSpec names one run of an experiment: an algorithm and a run index
// (seeded from (Config.Seed, Run)).
type RunSpec struct {
	Algo string `json:"algo"`
	Run  int    `json:"run"`
}

// RunTrace is what a run leaves behind, enough to rebuild its RunResult in
// another process: the queried cells in order, the cumulative cost after
// each query and the strict and loose samples-to-optimum.
type RunTrace struct {
	RunSpec
	Queries  []int     `json:"queries"`
	Time     []float64 `json:"time"`
	StrictAt int       `json:"strict"`
	LooseAt  int       `json:"loose"`
}

// Runner executes runs elsewhere (e.g. as Slurm tasks, each one
// `experiment --runs 1 --run-index i` with the same settings) and returns
// their traces in the order of runs.
type Runner func(ctx context.Context, runs []RunSpec) ([]RunTrace, error)

func traceOf(s *search.Session, algo string, run int) RunTrace {
	return RunTrace{RunSpec: RunSpec{algo, run}, Queries: append([]int(nil), s.Queries...),
		Time: append([]float64(nil), s.Time...), StrictAt: s.StrictAt, LooseAt: s.LooseAt}
}

// runRemote runs every run of cfg through cfg.Runner and records each
// trace as if the run had been executed here.
func runRemote(ctx context.Context, p *problem, cfg Config, sum *Summary, results [][]RunResult) error {
	var specs []RunSpec
	for _, a := range cfg.Algos {
		for i := 0; i < cfg.Runs; i++ {
			specs = append(specs, RunSpec{a, cfg.FirstRun + i})
		}
	}
	traces, err := cfg.Runner(ctx, specs)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	if len(traces) != len(specs) {
		return fmt.Errorf("experiment: runner returned %d traces for %d runs", len(traces), len(specs))
	}
	n := p.o.Len()
	for k, tr := range traces {
		want := specs[k]
		if tr.RunSpec != want || len(tr.Time) != len(tr.Queries) || len(tr.Queries) > cfg.Budget ||
			tr.StrictAt < 0 || tr.StrictAt > len(tr.Queries) || tr.LooseAt < 0 || tr.LooseAt > len(tr.Queries) {
			return fmt.Errorf("experiment: trace of %s run %d is inconsistent (%s run %d, %d queries, %d times, strict %d, loose %d)",
				want.Algo, want.Run, tr.Algo, tr.Run, len(tr.Queries), len(tr.Time), tr.StrictAt, tr.LooseAt)
		}
		for _, i := range tr.Queries {
			if i < 0 || i >= n {
				return fmt.Errorf("experiment: trace of %s run %d queries cell %d of a space of %d", want.Algo, want.Run, i, n)
			}
		}
		s := &search.Session{Queries: tr.Queries, Time: tr.Time, StrictAt: tr.StrictAt, LooseAt: tr.LooseAt}
		a := k / max(1, cfg.Runs)
		results[a][k%cfg.Runs] = record(p, s, want.Algo, want.Run, sum)
	}
	return nil
}
