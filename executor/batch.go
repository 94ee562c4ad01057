package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nbquery/nbquery/index"
)

// Batcher gathers the trials that concurrent callers ask for one at a time
// (the runs of a live search, each waiting for its next cell) into one Run
// of the executor: a batch opens with the first request and closes Linger
// later, so that a Slurm executor submits one array instead of a job per
// trial. Batches run concurrently with each other.
type Batcher struct {
	Exec   Executor
	Linger time.Duration

	mu      sync.Mutex
	pending []request
}

type request struct {
	ctx   context.Context
	trial Trial
	reply chan reply
}

type reply struct {
	r   index.LiveResult
	err error
}

// Do runs trial t in the next batch and returns its result.
func (b *Batcher) Do(ctx context.Context, t Trial) (index.LiveResult, error) {
	ch := make(chan reply, 1)
	b.mu.Lock()
	b.pending = append(b.pending, request{ctx, t, ch})
	if len(b.pending) == 1 {
		time.AfterFunc(b.Linger, b.flush)
	}
	b.mu.Unlock()
	select {
	case r := <-ch:
		return r.r, r.err
	case <-ctx.Done():
		return index.LiveResult{}, fmt.Errorf("executor: %w", ctx.Err())
	}
}

func (b *Batcher) flush() {
	b.mu.Lock()
	batch := b.pending
	b.pending = nil
	b.mu.Unlock()
	trials := make([]Trial, len(batch))
	for i, q := range batch {
		trials[i] = q.trial
	}
	// The batch lives as long as its first caller's context (the callers of
	// one search share it).
	res, err := b.Exec.Run(batch[0].ctx, trials)
	var fe *FailedError
	failed := map[string]Failure{}
	if errors.As(err, &fe) {
		for _, f := range fe.Failures {
			failed[f.ID] = f
		}
	}
	for i, q := range batch {
		switch f, bad := failed[q.trial.ID()]; {
		case bad:
			q.reply <- reply{err: &FailedError{Failures: []Failure{f}}}
		case err != nil && fe == nil:
			q.reply <- reply{err: err}
		default:
			q.reply <- reply{r: res[i]}
		}
	}
}
