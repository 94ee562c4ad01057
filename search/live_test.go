package search_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/space/nb201"
)

// allCells is the whole NB201 space, numbered by nb201 code.
func allCells(t *testing.T) search.Space {
	t.Helper()
	codes := make([]int, nb201.NumCells)
	for i := range codes {
		codes[i] = i
	}
	sp, err := search.NewNB201(codes)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestLiveOracle runs searches over an oracle that "trains" on demand (here
// a deterministic function of the cell) and checks that every cell is
// evaluated once, whatever the number of runs, and that a failure stops the
// run.
func TestLiveOracle(t *testing.T) {
	sp := allCells(t)
	calls := map[int]int{}
	score := func(i int) float64 {
		c := nb201.FromCode(i)
		s := 0.0
		for _, op := range c {
			if op == nb201.Conv3x3 {
				s++
			}
		}
		return s + float64(i%7)/10
	}
	o := search.NewLiveOracle(nb201.NumCells, func(i int) (float64, float64, float64, error) {
		calls[i]++
		return score(i), score(i) - 1, 10, nil
	})
	if !o.Live() {
		t.Fatal("not live")
	}
	for _, algo := range []search.Algorithm{search.Random{}, &search.Evolution{Population: 10, Tournament: 3}, search.LocalSearch{}} {
		for run := range 2 {
			s, err := search.NewSession(sp, o, 60, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := algo.Search(context.Background(), s, rand.New(rand.NewPCG(1, uint64(run)))); err != nil {
				t.Fatalf("%s: %v", algo.Name(), err)
			}
			if len(s.Queries) != 60 || s.StrictAt != 0 {
				t.Fatalf("%s: %d queries, strict %d", algo.Name(), len(s.Queries), s.StrictAt)
			}
			for k, i := range s.Queries {
				if o.Target[i] != score(i) || s.Time[k] != 10*float64(k+1) {
					t.Fatalf("%s: cell %d target %v, time %v", algo.Name(), i, o.Target[i], s.Time[k])
				}
			}
		}
	}
	for i, n := range calls {
		if n != 1 {
			t.Fatalf("cell %d evaluated %d times", i, n)
		}
	}

	boom := errors.New("out of data")
	bad := search.NewLiveOracle(nb201.NumCells, func(i int) (float64, float64, float64, error) { return 0, 0, 0, boom })
	s, _ := search.NewSession(sp, bad, 10, false)
	search.Random{}.Search(context.Background(), s, rand.New(rand.NewPCG(1, 1)))
	if len(s.Queries) != 0 || !s.Done() || !errors.Is(bad.Err(), boom) {
		t.Errorf("after a failed evaluation: %d queries, done %v, err %v", len(s.Queries), s.Done(), bad.Err())
	}
}

// TestLiveOracleConcurrent: runs querying at once evaluate distinct cells
// concurrently (an executor can train them in parallel) and a cell asked for
// while it is being evaluated is evaluated once.
func TestLiveOracleConcurrent(t *testing.T) {
	sp := allCells(t)
	var mu sync.Mutex
	calls := map[int]int{}
	inflight, peak := 0, 0
	o := search.NewLiveOracle(nb201.NumCells, func(i int) (float64, float64, float64, error) {
		mu.Lock()
		calls[i]++
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		inflight--
		mu.Unlock()
		return float64(i % 97), 0, 1, nil
	})
	var wg sync.WaitGroup
	// Runs 0 and 1 twice each: the twins query the same cells at once.
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := search.NewSession(sp, o, 20, false)
			if err != nil {
				t.Error(err)
				return
			}
			if err := (search.Random{}).Search(context.Background(), s, rand.New(rand.NewPCG(3, uint64(g%2)))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, n := range calls {
		if n != 1 {
			t.Errorf("cell %d evaluated %d times", i, n)
		}
	}
	if len(calls) == 0 || len(calls) > 40 || peak < 2 {
		t.Errorf("%d cells evaluated, peak concurrency %d", len(calls), peak)
	}
}
