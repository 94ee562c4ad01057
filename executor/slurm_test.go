package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/train"
)

// fakeTrials are n trials of distinct cells whose stand-in "training"
// (fakeTask) writes metrics derived from the trial index.
func fakeTrials(n int) []Trial {
	ops := []string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}
	out := make([]Trial, n)
	for i := range out {
		c := train.DefaultConfig()
		c.Arch = fmt.Sprintf("|%s~0|+|%s~0|%s~1|+|none~0|none~1|none~2|", ops[i%5], ops[i/5%5], ops[i/25%5])
		c.Dataset, c.Epochs, c.Seed, c.DataDir = "fashion-mnist", 1, 7, "/nonexistent"
		out[i] = Trial{Bench: index.NB201, Train: c}
	}
	return out
}

func fakeResult(i int, t Trial) index.LiveResult {
	return index.LiveResult{Bench: t.Bench, Arch: t.Train.Arch, Dataset: t.Train.Dataset, Epochs: t.Train.Epochs,
		Seed: t.Train.Seed, Config: t.Train.Hash(), Metrics: map[string]float64{"valid-accuracy": float64(10 + i), "test-accuracy": float64(20 + i)}}
}

// fakeSlurm is a Slurm executor whose tasks run fakeTask: a shell script
// that copies a prepared result into the spool after the fault that
// behaviour[i] asks for on the given attempts.
func fakeSlurm(t *testing.T, trials []Trial, behaviour map[int]string) *Slurm {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "task.sh")
	// task.sh INDEX RESULT: faults by "$NBQUERY_ATTEMPT".
	body := `#!/bin/sh
i=$1; out=$2
case "$(cat ` + dir + `/behaviour.$i 2>/dev/null)@$NBQUERY_ATTEMPT" in
  fail@1|fail-always@*) echo "task $i fails" >&2; exit 3 ;;
  hang@1) echo running > ` + dir + `/running.$i; sleep 600; exit 4 ;;
  slow@*) sleep 4 ;;
esac
echo $SLURM_ARRAY_JOB_ID_$SLURM_ARRAY_TASK_ID >> ` + dir + `/ran.$i
cp ` + dir + `/result.$i "$out"
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, tr := range trials {
		if err := WriteResult(filepath.Join(dir, fmt.Sprintf("result.%d", i)), fakeResult(i, tr)); err != nil {
			t.Fatal(err)
		}
		if b, ok := behaviour[i]; ok {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("behaviour.%d", i)), []byte(b), 0o644)
		}
	}
	index := map[string]int{}
	for i, tr := range trials {
		index[tr.ID()] = i
	}
	return &Slurm{
		Config: SlurmConfig{Spool: filepath.Join(dir, "spool"), Poll: "300ms", CPUs: 1, JobName: "nbq-test-" + filepath.Base(dir)},
		// The job script appends --out DIR, which the stand-in ignores.
		Command: func(tr Trial, result string) []string {
			return []string{"/bin/sh", script, fmt.Sprint(index[tr.ID()]), result}
		},
	}
}

func ranCount(t *testing.T, s *Slurm, i int) int {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(s.Config.Spool), fmt.Sprintf("ran.%d", i)))
	return strings.Count(string(b), "\n")
}

// TestSlurmFaults runs trials on the real cluster through every kind of
// task end: success, non-zero exit (retried), scancel of a running task
// (retried), the time limit (retried) and a task that always fails
// (reported after MaxAttempts); every other result is returned.
func TestSlurmFaults(t *testing.T) {
	shared.RequireSlurm(t)
	trials := fakeTrials(6)
	beh := map[int]string{1: "fail", 2: "hang", 3: "hang", 4: "fail-always"}
	s := fakeSlurm(t, trials, beh)
	s.Config.Time = "1" // minute: trial 3's first attempt hangs into it
	s.Config.MaxAttempts = 2
	var log strings.Builder
	s.Log = &log
	dir := filepath.Dir(s.Config.Spool)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	// scancel trial 2's task once it runs.
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat(filepath.Join(dir, "running.2")); err == nil {
				recs, _ := Spool{Dir: s.Config.Spool}.jobs()
				for _, r := range recs {
					for k, id := range r.Trials {
						if id == trials[2].ID() {
							exec.Command("scancel", fmt.Sprintf("%s_%d", r.Job, k)).Run()
							return
						}
					}
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	res, err := s.Run(ctx, trials)
	var fe *FailedError
	if !errors.As(err, &fe) || len(fe.Failures) != 1 || fe.Failures[0].Trial.ID() != trials[4].ID() || fe.Failures[0].ID != trials[4].ID() || fe.Failures[0].Attempts != 2 {
		t.Fatalf("want trial 4 reported after 2 attempts, got %v\nlog:\n%s", err, log.String())
	}
	if !strings.Contains(fe.Failures[0].State, "FAILED") || !strings.Contains(fe.Error(), "log ") {
		t.Errorf("failure report %q", fe.Error())
	}
	for i, tr := range trials {
		if i == 4 {
			continue
		}
		if want := fakeResult(i, tr); res[i].Metrics["test-accuracy"] != want.Metrics["test-accuracy"] || res[i].Arch != tr.Train.Arch {
			t.Errorf("trial %d: result %+v", i, res[i])
		}
		if n := ranCount(t, s, i); n != 1 {
			t.Errorf("trial %d finished %d times", i, n)
		}
	}
	out := log.String()
	for _, want := range []string{"CANCELLED", "TIMEOUT", "FAILED exit 3:0", "giving up after 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	// A second Run finds every result in the spool and submits nothing.
	before, _ := Spool{Dir: s.Config.Spool}.jobs()
	res2, err := s.Run(ctx, append(trials[:4:4], trials[5]))
	after, _ := Spool{Dir: s.Config.Spool}.jobs()
	if err != nil || len(after) != len(before) || res2[4].Metrics["test-accuracy"] != 25 {
		t.Errorf("rerun: err %v, %d -> %d jobs", err, len(before), len(after))
	}
}

// TestSlurmReattach starts trials, abandons the coordinator mid-way (its
// context ends, as when it is killed) and runs a new one on the same spool:
// it re-attaches to the queued and running tasks instead of submitting
// them again, and each trial runs exactly once.
func TestSlurmReattach(t *testing.T) {
	shared.RequireSlurm(t)
	trials := fakeTrials(4)
	beh := map[int]string{0: "slow", 1: "slow", 2: "slow", 3: "slow"}
	s := fakeSlurm(t, trials, beh)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	_, err := s.Run(ctx, trials)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("abandoned run: %v", err)
	}
	var log strings.Builder
	s2 := &Slurm{Config: s.Config, Command: s.Command, Log: &log}
	res, err := s2.Run(context.Background(), trials)
	if err != nil {
		t.Fatal(err)
	}
	for i := range trials {
		if res[i].Metrics["valid-accuracy"] != float64(10+i) {
			t.Errorf("trial %d: %+v", i, res[i])
		}
		if n := ranCount(t, s, i); n != 1 {
			t.Errorf("trial %d ran %d times", i, n)
		}
	}
	if strings.Contains(log.String(), "submitted") || !strings.Contains(log.String(), "re-attached") {
		t.Errorf("second coordinator:\n%s", log.String())
	}
}
