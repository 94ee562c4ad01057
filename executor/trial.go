package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/train"
)

// Trial is one training of one cell at one fidelity (Train.Epochs) with one
// seed (Train.Seed): Train.Arch is the cell, Train.Dataset the data set.
type Trial struct {
	Bench string // the search space (index.NB201)
	Train train.Config
}

// Key is the identity under which the result is merged into the store:
// (space, cell, dataset, fidelity, seed).
func (t Trial) Key() string {
	return t.Bench + "/" + t.Train.Arch + "/" + t.Train.Dataset + "/" + strconv.Itoa(t.Train.Epochs) + "/" + strconv.FormatUint(t.Train.Seed, 10)
}

// ID names the trial's files in a spool: a digest of its key and of the
// whole training configuration, so that a spool shared by searches of
// different settings never hands one the other's result.
func (t Trial) ID() string {
	h := sha256.Sum256([]byte(t.Key() + "\x00" + t.Train.Hash()))
	return hex.EncodeToString(h[:12])
}

// check validates the result r of t: same key, same configuration.
func (t Trial) check(r index.LiveResult) error {
	if r.Bench != t.Bench || r.Arch != t.Train.Arch || r.Dataset != t.Train.Dataset || r.Epochs != t.Train.Epochs || r.Seed != t.Train.Seed {
		return fmt.Errorf("result is for %s/%s/%s/%d/%d, not %s", r.Bench, r.Arch, r.Dataset, r.Epochs, r.Seed, t.Key())
	}
	if want := t.Train.Hash(); r.Config != want {
		return fmt.Errorf("result of %s was trained with config %.12s…, want %.12s… (the task's flags lost a setting?)", t.Key(), r.Config, want)
	}
	if len(r.Metrics) == 0 {
		return fmt.Errorf("result of %s has no metrics", t.Key())
	}
	return nil
}

// Executor runs trials. Run returns the results in the order of trials; it
// may be called from several goroutines at once. On error, the results of
// the trials that did finish are still returned (the zero LiveResult for
// the others) so that the caller can record them.
type Executor interface {
	Run(ctx context.Context, trials []Trial) ([]index.LiveResult, error)
}

// Failure is a trial that did not produce a result after all its attempts.
type Failure struct {
	ID, Key  string // the trial's (or unit's)
	Trial    Trial  // the trial, if it is one
	Attempts int
	State    string // the last attempt's end: FAILED, CANCELLED, TIMEOUT, PREEMPTED, ...
	Log      string // where its output is, if anywhere
	Err      error  // the in-process error (Local)
}

func (f Failure) String() string {
	s := fmt.Sprintf("%s (id %s): %d attempt(s), last %s", f.Key, f.ID, f.Attempts, f.State)
	if f.Err != nil {
		s += ": " + f.Err.Error()
	}
	if f.Log != "" {
		s += ", log " + f.Log
	}
	return s
}

// FailedError reports the trials that failed for good.
type FailedError struct{ Failures []Failure }

func (e *FailedError) Error() string {
	s := fmt.Sprintf("executor: %d trial(s) failed:", len(e.Failures))
	for _, f := range e.Failures {
		s += "\n  " + f.String()
	}
	return s
}

// ErrFailed is wrapped by every FailedError.
var ErrFailed = errors.New("executor: trials failed")

func (e *FailedError) Unwrap() error { return ErrFailed }

// TrainTrial trains t in this process (checkpoints in a temporary directory
// removed afterwards) and returns its result as the store records it.
func TrainTrial(ctx context.Context, t Trial) (index.LiveResult, error) {
	c := t.Train
	dir, err := os.MkdirTemp("", "nbquery-trial-")
	if err != nil {
		return index.LiveResult{}, fmt.Errorf("executor: %w", err)
	}
	defer os.RemoveAll(dir) // checkpoints of a finished run are not needed
	c.OutDir = dir
	res, err := train.Run(ctx, c, nil)
	if err != nil {
		return index.LiveResult{}, fmt.Errorf("executor: train %s: %w", c.Arch, err)
	}
	return ResultOf(t.Bench, c, res), nil
}

// ResultOf is the store's record of training run res of configuration c.
func ResultOf(bench string, c train.Config, res train.Result) index.LiveResult {
	return index.LiveResult{Bench: bench, Arch: c.Arch, Dataset: c.Dataset, Epochs: c.Epochs,
		Seed: c.Seed, Metrics: res.Metrics(), Config: res.ConfigHash}
}

// Local runs trials in this process, at most Workers at a time over all
// concurrent calls of Run (Workers <= 0: one; training uses every core).
type Local struct {
	Workers int
	// Train runs one trial; nil is TrainTrial. Tests inject stand-ins.
	Train func(context.Context, Trial) (index.LiveResult, error)

	once sync.Once
	sem  chan struct{}
}

// Run trains the trials, at most Workers at a time.
func (l *Local) Run(ctx context.Context, trials []Trial) ([]index.LiveResult, error) {
	l.once.Do(func() { l.sem = make(chan struct{}, max(1, l.Workers)) })
	fn := l.Train
	if fn == nil {
		fn = TrainTrial
	}
	out := make([]index.LiveResult, len(trials))
	errs := make([]error, len(trials))
	var wg sync.WaitGroup
	for i, t := range trials {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case l.sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-l.sem }()
			out[i], errs[i] = fn(ctx, t)
		}()
	}
	wg.Wait()
	var fe FailedError
	for i, err := range errs {
		if err != nil {
			if ctx.Err() != nil {
				return out, fmt.Errorf("executor: %w", ctx.Err())
			}
			fe.Failures = append(fe.Failures, Failure{ID: trials[i].ID(), Key: trials[i].Key(), Trial: trials[i], Attempts: 1, State: "FAILED", Err: err})
		}
	}
	if fe.Failures != nil {
		return out, &fe
	}
	return out, nil
}
