package executor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
)

// TestLocalPool: at most Workers trials run at once over concurrent calls,
// results come back in order, a failing trial is reported by key.
func TestLocalPool(t *testing.T) {
	trials := fakeTrials(8)
	var running, peak atomic.Int64
	boom := errors.New("diverged")
	l := &Local{Workers: 2, Train: func(ctx context.Context, tr Trial) (index.LiveResult, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		if tr.ID() == trials[5].ID() {
			return index.LiveResult{}, boom
		}
		for i := range trials {
			if trials[i].ID() == tr.ID() {
				return fakeResult(i, tr), nil
			}
		}
		return index.LiveResult{}, nil
	}}
	var wg sync.WaitGroup
	for _, part := range [][]Trial{trials[:4], trials[4:]} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := l.Run(context.Background(), part)
			var fe *FailedError
			if part[1].ID() == trials[5].ID() {
				if !errors.As(err, &fe) || len(fe.Failures) != 1 || !errors.Is(err, boom) && !strings.Contains(err.Error(), "diverged") {
					t.Errorf("want trial 5 failed, got %v", err)
				}
			} else if err != nil {
				t.Error(err)
			}
			for i, r := range res {
				if r.Arch != "" && r.Arch != part[i].Train.Arch {
					t.Errorf("result %d is of %s", i, r.Arch)
				}
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency %d, want 2", p)
	}
}

// recorder is an executor that records the batches it is given.
type recorder struct {
	mu      sync.Mutex
	batches []int
}

func (r *recorder) Run(_ context.Context, trials []Trial) ([]index.LiveResult, error) {
	r.mu.Lock()
	r.batches = append(r.batches, len(trials))
	r.mu.Unlock()
	out := make([]index.LiveResult, len(trials))
	for i, t := range trials {
		out[i] = fakeResult(i, t)
	}
	return out, nil
}

// TestBatcher: concurrent requests within the linger time become one batch.
func TestBatcher(t *testing.T) {
	rec := &recorder{}
	b := &Batcher{Exec: rec, Linger: 200 * time.Millisecond}
	trials := fakeTrials(5)
	var wg sync.WaitGroup
	for _, tr := range trials {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := b.Do(context.Background(), tr)
			if err != nil || r.Arch != tr.Train.Arch {
				t.Errorf("%v %+v", err, r)
			}
		}()
	}
	wg.Wait()
	if len(rec.batches) != 1 || rec.batches[0] != 5 {
		t.Errorf("batches %v, want one of 5", rec.batches)
	}
}

// TestSpoolResultCheck: a result of another trial or configuration in a
// trial's spool file is an error, never a silent answer.
func TestSpoolResultCheck(t *testing.T) {
	sp := Spool{Dir: t.TempDir()}
	if err := sp.init(); err != nil {
		t.Fatal(err)
	}
	trials := fakeTrials(2)
	u := (&Slurm{}).unit(trials[0])
	if _, ok, err := sp.read(u); ok || err != nil {
		t.Fatalf("empty spool: %v %v", ok, err)
	}
	r := fakeResult(0, trials[0])
	r.Config = "0123"
	WriteResult(sp.ResultPath(trials[0].ID()), r)
	if _, _, err := sp.read(u); err == nil || !strings.Contains(err.Error(), "config") {
		t.Errorf("wrong config hash: %v", err)
	}
	WriteResult(sp.ResultPath(trials[0].ID()), fakeResult(1, trials[1]))
	if _, _, err := sp.read(u); err == nil {
		t.Error("result of another trial accepted")
	}
	WriteResult(sp.ResultPath(trials[0].ID()), fakeResult(0, trials[0]))
	if b, ok, err := sp.read(u); !ok || err != nil || !strings.Contains(string(b), `"test-accuracy":20`) {
		t.Errorf("good result: %v %v %s", ok, err, b)
	}
	os.WriteFile(sp.ResultPath("junk"), []byte("{"), 0o644)
	if rs, err := sp.Results(); err != nil || len(rs) != 1 {
		t.Errorf("Results: %d, %v", len(rs), err)
	}
}

// TestScript: the job script is valid bash, quotes hostile arguments and
// carries the settings; config files reject unknown keys and line breaks.
func TestScript(t *testing.T) {
	dir := t.TempDir()
	s := &Slurm{Config: SlurmConfig{Spool: dir, Partition: "p", Time: "10", CPUs: 2, Mem: "1G", Parallel: 3, Options: []string{"--qos=low"}},
		Command: func(tr Trial, result string) []string {
			return []string{"/bin/echo", tr.Train.Arch, "it's $HOME `x`", result}
		}}
	trials := fakeTrials(2)
	var b strings.Builder
	if err := s.DryRun(&b, trials); err != nil {
		t.Fatal(err)
	}
	sc := b.String()
	for _, want := range []string{"#SBATCH --array=0-1%3", "#SBATCH --partition=p", "#SBATCH --time=10", "#SBATCH --cpus-per-task=2",
		"#SBATCH --mem=1G", "#SBATCH --qos=low", `'it'\''s $HOME ` + "`x`'", "NBQUERY_ATTEMPT=1"} {
		if !strings.Contains(sc, want) {
			t.Errorf("script lacks %q:\n%s", want, sc)
		}
	}
	// Run task 1 of the script by hand: it echoes its trial's arch.
	path := filepath.Join(dir, "job.sh")
	os.WriteFile(path, []byte(sc), 0o755)
	cmd := exec.Command("bash", path)
	cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID=1", "SLURM_JOB_ID=9")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), trials[1].Train.Arch+" it's $HOME `x` ") || !strings.Contains(string(out), "--out "+dir+"/work/") {
		t.Errorf("task 1: %v: %s", err, out)
	}
	conf := filepath.Join(dir, "c.json")
	for body, want := range map[string]string{
		`{"partition": "a", "cpus": 2}`:   "",
		`{"partition": "a", "cpu": 2}`:    "unknown field",
		`{"options": ["--x\n#SBATCH"]}`:   "line break",
		`{"poll": "soon"}`:                "poll",
		`{"max_attempts": -1}`:            "negative",
		`{"partition": "a"} {"extra": 1}`: "trailing",
	} {
		os.WriteFile(conf, []byte(body), 0o644)
		c, err := LoadSlurmConfig(conf)
		if want == "" && (err != nil || c.Partition != "a") || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %+v, %v", body, c, err)
		}
	}
	m := SlurmConfig{Partition: "a", Time: "5", Options: []string{"--x"}}.Merge(SlurmConfig{Time: "9", Options: []string{"--y"}})
	if m.Partition != "a" || m.Time != "9" || strings.Join(m.Options, " ") != "--x --y" {
		t.Errorf("merge: %+v", m)
	}
}
