package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nbquery/nbquery/index"
)

// Spool is the directory through which the coordinator and the Slurm tasks
// exchange work; it must be on a filesystem that every compute node sees.
//
//	results/ID.json   a finished trial's index.LiveResult (written atomically by the task)
//	jobs/JOB.json     a submitted array: which trial each task runs, which attempt
//	scripts/*.sh      the job scripts as submitted
//	logs/JOB_TASK.out each task's output
//	work/ID.JOB/      a running task's checkpoints (removed when it ends)
type Spool struct{ Dir string }

func (s Spool) path(parts ...string) string {
	return filepath.Join(append([]string{s.Dir}, parts...)...)
}

// ResultPath is where the task of trial id writes its result.
func (s Spool) ResultPath(id string) string { return s.path("results", id+".json") }

// LogPath is the output file of task `task` of array job `job`.
func (s Spool) LogPath(job string, task int) string {
	return s.path("logs", fmt.Sprintf("%s_%d.out", job, task))
}

func (s Spool) init() error {
	for _, d := range []string{"results", "jobs", "scripts", "logs", "work"} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return fmt.Errorf("executor: spool: %w", err)
		}
	}
	return nil
}

// WriteResult writes r to path atomically (temporary file, fsync, rename),
// so that a reader never sees half a result.
func WriteResult(path string, r index.LiveResult) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("executor: result: %w", err)
	}
	return writeAtomic(path, append(b, '\n'))
}

// WriteFile writes b to path atomically, as WriteResult does.
func WriteFile(path string, b []byte) error { return writeAtomic(path, b) }

func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("executor: write %s: %w", path, err)
	}
	return nil
}

// read reads the result of u from the spool: ok is false if there is none
// yet. A result that fails u's check is an error.
func (s Spool) read(u Unit) (b []byte, ok bool, err error) {
	p := s.ResultPath(u.ID)
	b, err = os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("executor: %w", err)
	}
	if err := u.Check(b); err != nil {
		return nil, false, fmt.Errorf("executor: %s: %w", p, err)
	}
	return b, true, nil
}

// Results returns every readable result in the spool, in file-name order
// (unreadable files are skipped: they belong to no trial that can be
// checked). A coordinator merges these after a restart so that nothing a
// task finished while it was away is lost.
func (s Spool) Results() ([]index.LiveResult, error) {
	names, err := filepath.Glob(s.path("results", "*.json"))
	if err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	sort.Strings(names)
	var out []index.LiveResult
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue
		}
		var r index.LiveResult
		if json.Unmarshal(b, &r) == nil && len(r.Metrics) > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

// jobRecord is jobs/JOB.json: task i of array job Job runs trial Trials[i]
// as attempt Attempts[i].
type jobRecord struct {
	Job      string   `json:"job"`
	Trials   []string `json:"trials"`
	Attempts []int    `json:"attempts"`
	Script   string   `json:"script"`
}

func (s Spool) saveJob(rec jobRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	return writeAtomic(s.path("jobs", rec.Job+".json"), append(b, '\n'))
}

// jobs returns the records of every array submitted through this spool.
func (s Spool) jobs() ([]jobRecord, error) {
	names, err := filepath.Glob(s.path("jobs", "*.json"))
	if err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	var out []jobRecord
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("executor: %w", err)
		}
		var r jobRecord
		if err := json.Unmarshal(b, &r); err != nil || len(r.Trials) != len(r.Attempts) || r.Job == "" ||
			strings.TrimSuffix(filepath.Base(n), ".json") != r.Job {
			return nil, fmt.Errorf("executor: spool job record %s is corrupt", n)
		}
		out = append(out, r)
	}
	return out, nil
}
