package search

import (
	"fmt"
	"math"
	"sync"
)

// Evaluator answers a query where no table has the answer, by training cell
// i live: its target (maximised), report value and cost in seconds.
type Evaluator func(i int) (target, report, cost float64, err error)

// liveState is the lazily filled part of a live oracle.
type liveState struct {
	eval    Evaluator
	mu      sync.Mutex
	known   []bool
	pending map[int]chan struct{} // cells being evaluated; closed when done
	err     error
}

// NewLiveOracle returns an oracle over n cells whose labels are unknown
// until a session queries them; each cell is evaluated at most once and the
// answers are shared by every run. Runs may query concurrently: distinct
// cells are evaluated concurrently (so an executor can train them in
// parallel), a cell asked for while it is being evaluated is waited for. Its optimum and whole-space statistics are unknown, so
// samples-to-optimum is not counted and algorithms that need the labels of
// the whole space (WeakNAS's z-scoring) cannot use it.
func NewLiveOracle(n int, eval Evaluator) *Oracle {
	if n <= 0 || eval == nil {
		panic("search: NewLiveOracle: need n > 0 and an evaluator")
	}
	nan := math.NaN()
	o := &Oracle{
		Target: make([]float64, n), Report: make([]float64, n), Cost: make([]float64, n),
		valid: make([]bool, n), pool: make([]int32, n), optVal: math.Inf(1),
		mean: nan, std: nan, repMean: nan,
		live: &liveState{eval: eval, known: make([]bool, n), pending: map[int]chan struct{}{}},
	}
	for i := range o.Target {
		o.Target[i], o.Report[i], o.Cost[i] = nan, nan, nan
		o.valid[i] = true
		o.pool[i] = int32(i)
	}
	return o
}

// Live reports whether the oracle evaluates cells on demand.
func (o *Oracle) Live() bool { return o.live != nil }

// Err returns the first evaluation error of a live oracle.
func (o *Oracle) Err() error {
	if o.live == nil {
		return nil
	}
	o.live.mu.Lock()
	defer o.live.mu.Unlock()
	return o.live.err
}

// fetch evaluates cell i once. After it returns nil, Target[i], Report[i]
// and Cost[i] are set and safe to read from the calling goroutine.
func (o *Oracle) fetch(i int) error {
	l := o.live
	l.mu.Lock()
	for {
		if l.err != nil {
			l.mu.Unlock()
			return l.err
		}
		if l.known[i] {
			l.mu.Unlock()
			return nil
		}
		ch, busy := l.pending[i]
		if !busy {
			break
		}
		l.mu.Unlock()
		<-ch
		l.mu.Lock()
	}
	ch := make(chan struct{})
	l.pending[i] = ch
	l.mu.Unlock()
	t, r, c, err := l.eval(i)
	if err == nil && math.IsNaN(t) {
		err = fmt.Errorf("search: live evaluation of cell %d gave no target value", i)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.pending, i)
	close(ch)
	if err != nil {
		if l.err == nil {
			l.err = err
		}
		return l.err
	}
	o.Target[i], o.Report[i], o.Cost[i] = t, r, c
	l.known[i] = true
	return nil
}
