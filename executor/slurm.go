package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nbquery/nbquery/index"
)

// Slurm runs trials as the tasks of Slurm job arrays (sbatch), watches
// them with squeue and scontrol (sacct where accounting is configured) and
// collects each task's result file from the spool.
type Slurm struct {
	Config SlurmConfig
	// Command is the command line of the task that trains t and writes its
	// result to the file result (the same nbquery binary and flags).
	Command func(t Trial, result string) []string
	// Log receives one line per submission, retry and failure (nil: none).
	Log io.Writer

	mu sync.Mutex // serialises submissions and their job records
}

// Unit is the work of one array task: a trial, or a whole run of an
// experiment (RunUnits).
type Unit struct {
	ID  string // names its result file in the spool (letters, digits, '-', '_')
	Key string // what it is, for messages and the job script
	// Argv is the task's command line, which writes its result to result.
	Argv func(result string) []string
	// Check validates a result file's content; an invalid one is an error.
	Check func([]byte) error
	// Work appends --out DIR to Argv: a scratch directory of the task in
	// the spool, removed when it ends (the train command's checkpoints).
	Work bool
}

// task is one array task: a unit and its attempt number (1, 2, ...).
type task struct {
	unit    Unit
	attempt int
}

func (s *Slurm) cfg() SlurmConfig { return s.Config.withDefaults() }

func (s *Slurm) spool() (Spool, error) {
	c := s.cfg()
	if c.Spool == "" {
		return Spool{}, fmt.Errorf("executor: slurm: no spool directory")
	}
	abs, err := filepath.Abs(c.Spool)
	if err != nil {
		return Spool{}, fmt.Errorf("executor: slurm: %w", err)
	}
	return Spool{Dir: abs}, nil
}

// Script is the job script of one array whose task i runs tasks[i].
func (s *Slurm) Script(tasks []task) (string, error) {
	c := s.cfg()
	if err := c.validate(); err != nil {
		return "", fmt.Errorf("executor: slurm: %w", err)
	}
	sp, err := s.spool()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	b.WriteString("# nbquery: task i runs one trial (or search run) and writes its result to the spool.\n")
	array := fmt.Sprintf("0-%d", len(tasks)-1)
	if c.Parallel > 0 {
		array += "%" + strconv.Itoa(c.Parallel)
	}
	opt := func(k, v string) { fmt.Fprintf(&b, "#SBATCH --%s=%s\n", k, v) }
	opt("job-name", c.JobName)
	opt("array", array)
	opt("output", filepath.Join(sp.Dir, "logs", "%A_%a.out"))
	opt("open-mode", "append")
	if c.Partition != "" {
		opt("partition", c.Partition)
	}
	if c.Time != "" {
		opt("time", c.Time)
	}
	if c.CPUs > 0 {
		opt("cpus-per-task", strconv.Itoa(c.CPUs))
	}
	if c.Mem != "" {
		opt("mem", c.Mem)
	}
	for _, o := range c.Options {
		fmt.Fprintf(&b, "#SBATCH %s\n", o)
	}
	b.WriteString("set -u\n")
	b.WriteString("case \"$SLURM_ARRAY_TASK_ID\" in\n")
	for i, t := range tasks {
		id := t.unit.ID
		argv := t.unit.Argv(sp.ResultPath(id))
		q := make([]string, len(argv))
		for j, a := range argv {
			q[j] = shellQuote(a)
		}
		fmt.Fprintf(&b, "%d)\n  # %s\n  export NBQUERY_TRIAL=%s NBQUERY_ATTEMPT=%d\n", i, strings.ReplaceAll(t.unit.Key, "\n", " "), id, t.attempt)
		if !t.unit.Work {
			fmt.Fprintf(&b, "  %s\n  exit $? ;;\n", strings.Join(q, " "))
			continue
		}
		fmt.Fprintf(&b, "  work=%s\n  %s --out \"$work\"\n  rc=$?\n  rm -rf \"$work\"\n  exit $rc ;;\n",
			shellQuote(filepath.Join(sp.Dir, "work", id))+".\"$SLURM_JOB_ID\"", strings.Join(q, " "))
	}
	b.WriteString("*) echo \"nbquery: no trial for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n")
	return b.String(), nil
}

// shellQuote quotes s for bash.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// DryRun writes the job script that Run would submit for trials (first
// attempts) to w, and submits nothing.
func (s *Slurm) DryRun(w io.Writer, trials []Trial) error {
	units := make([]Unit, len(trials))
	for i, t := range trials {
		units[i] = s.unit(t)
	}
	return s.DryRunUnits(w, units)
}

// DryRunUnits is DryRun for any units.
func (s *Slurm) DryRunUnits(w io.Writer, units []Unit) error {
	tasks := make([]task, len(units))
	for i, u := range units {
		tasks[i] = task{u, 1}
	}
	sc, err := s.Script(tasks)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, sc)
	return err
}

func (s *Slurm) logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, "slurm: "+format+"\n", args...)
	}
}

// slurmCmd runs a Slurm client command and returns its standard output.
func slurmCmd(ctx context.Context, name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// submit writes the script of tasks to the spool, submits it and records
// the job; it returns the array job id.
func (s *Slurm) submit(ctx context.Context, sp Spool, tasks []task) (string, error) {
	sc, err := s.Script(tasks)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.CreateTemp(sp.path("scripts"), "job-*.sh")
	if err != nil {
		return "", fmt.Errorf("executor: %w", err)
	}
	_, err = f.WriteString(sc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("executor: %w", err)
	}
	out, err := slurmCmd(ctx, "sbatch", "--parsable", f.Name())
	if err != nil {
		return "", fmt.Errorf("executor: submit: %w", err)
	}
	job, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if _, err := strconv.ParseUint(job, 10, 64); err != nil {
		return "", fmt.Errorf("executor: sbatch printed %q, not a job id", out)
	}
	rec := jobRecord{Job: job, Script: f.Name()}
	for _, t := range tasks {
		rec.Trials = append(rec.Trials, t.unit.ID)
		rec.Attempts = append(rec.Attempts, t.attempt)
	}
	if err := sp.saveJob(rec); err != nil {
		return job, err
	}
	s.logf("submitted array job %s: %d task(s), script %s", job, len(tasks), f.Name())
	return job, nil
}

// active returns the array tasks of jobs still known to squeue (pending,
// running, completing, requeued), as "JOB_TASK".
func active(ctx context.Context, jobs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(jobs) == 0 {
		return out, nil
	}
	parse := func(s string) {
		for _, line := range strings.Split(s, "\n") {
			id, st, ok := strings.Cut(strings.TrimSpace(line), "|")
			if ok {
				out[id] = st
			}
		}
	}
	res, err := slurmCmd(ctx, "squeue", "-h", "-r", "-o", "%i|%T", "-j", strings.Join(jobs, ","))
	if err == nil {
		parse(res)
		return out, nil
	}
	if len(jobs) == 1 && strings.Contains(err.Error(), "Invalid job id") {
		return out, nil // purged: no task of it is active
	}
	if len(jobs) == 1 {
		return nil, err
	}
	// One purged job id fails the whole query: ask job by job.
	for _, j := range jobs {
		m, err := active(ctx, []string{j})
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// endState says how array task JOB_TASK ended: scontrol while the
// controller still remembers it, else sacct if accounting is configured.
func endState(ctx context.Context, id string) string {
	if out, err := slurmCmd(ctx, "scontrol", "-o", "show", "job", id); err == nil {
		st, reason := field(out, "JobState="), field(out, "Reason=")
		if st != "" {
			if code := field(out, "ExitCode="); code != "" && code != "0:0" {
				st += " exit " + code
			}
			if reason != "" && reason != "None" {
				st += " (" + reason + ")"
			}
			return st
		}
	}
	if accounting(ctx) {
		if out, err := slurmCmd(ctx, "sacct", "-n", "-P", "-X", "-o", "State,ExitCode", "-j", id); err == nil {
			if s := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0]); s != "" {
				return strings.ReplaceAll(s, "|", " exit ")
			}
		}
	}
	return "ENDED (no result file; state no longer known)"
}

func field(s, key string) string {
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	v := s[i+len(key):]
	if j := strings.IndexAny(v, " \n"); j >= 0 {
		v = v[:j]
	}
	return v
}

var (
	acctOnce sync.Once
	acctOn   bool
)

// accounting reports whether the cluster records jobs (sacct works).
func accounting(ctx context.Context) bool {
	acctOnce.Do(func() {
		out, err := slurmCmd(ctx, "scontrol", "show", "config")
		acctOn = err == nil && !strings.Contains(field(out, "AccountingStorageType"), "none") &&
			strings.Contains(out, "AccountingStorageType") && !strings.Contains(out, "accounting_storage/none")
	})
	return acctOn
}

// state of one trial inside Run.
type trialState struct {
	attempts int    // submissions so far
	job      string // array job of the current attempt ("" = none)
	index    int    // its task index
	done     bool
}

// unit is the array task of trial t: s.Command, checked by t.check.
func (s *Slurm) unit(t Trial) Unit {
	return Unit{ID: t.ID(), Key: t.Key(), Work: true, Argv: func(result string) []string { return s.Command(t, result) },
		Check: func(b []byte) error {
			var r index.LiveResult
			if err := json.Unmarshal(b, &r); err != nil {
				return err
			}
			return t.check(r)
		}}
}

// Run submits the trials that have no result in the spool yet (re-attaching
// to tasks of earlier coordinators that are still queued or running),
// retries failed ones up to MaxAttempts and returns the results. A trial
// given twice is run once.
func (s *Slurm) Run(ctx context.Context, trials []Trial) ([]index.LiveResult, error) {
	units := make([]Unit, len(trials))
	for i, t := range trials {
		units[i] = s.unit(t)
	}
	raw, err := s.RunUnits(ctx, units)
	out := make([]index.LiveResult, len(trials))
	for i, b := range raw {
		if b != nil {
			json.Unmarshal(b, &out[i]) // checked by the unit already
		}
	}
	var fe *FailedError
	if errors.As(err, &fe) {
		for k := range fe.Failures {
			for _, t := range trials {
				if t.ID() == fe.Failures[k].ID {
					fe.Failures[k].Trial = t
				}
			}
		}
	}
	return out, err
}

// RunUnits runs units as array tasks like Run and returns each one's result
// file content (nil for those that failed). A unit given twice runs once.
func (s *Slurm) RunUnits(ctx context.Context, units []Unit) ([][]byte, error) {
	first := map[string]int{}
	var uniq []Unit
	for _, u := range units {
		if _, ok := first[u.ID]; !ok {
			first[u.ID] = len(uniq)
			uniq = append(uniq, u)
		}
	}
	res, err := s.run(ctx, uniq)
	out := make([][]byte, len(units))
	if res != nil {
		for i, u := range units {
			out[i] = res[first[u.ID]]
		}
	}
	return out, err
}

func (s *Slurm) run(ctx context.Context, trials []Unit) ([][]byte, error) {
	c := s.cfg()
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("executor: slurm: %w", err)
	}
	poll, _ := time.ParseDuration(c.Poll)
	sp, err := s.spool()
	if err != nil {
		return nil, err
	}
	if err := sp.init(); err != nil {
		return nil, err
	}
	out := make([][]byte, len(trials))
	st := make([]trialState, len(trials))
	byID := map[string]int{}
	left := 0
	collect := func(i int) (bool, error) {
		r, ok, err := sp.read(trials[i])
		if err != nil || !ok {
			return false, err
		}
		out[i], st[i].done = r, true
		return true, nil
	}
	for i, t := range trials {
		ok, err := collect(i)
		if err != nil {
			return out, err
		}
		if !ok {
			byID[t.ID] = i
			left++
		}
	}
	if left == 0 {
		return out, nil
	}
	// Re-attach to tasks that an earlier coordinator submitted.
	recs, err := sp.jobs()
	if err != nil {
		return out, err
	}
	var jobs []string
	for _, r := range recs {
		for _, id := range r.Trials {
			if _, ok := byID[id]; ok {
				jobs = append(jobs, r.Job)
				break
			}
		}
	}
	act, err := active(ctx, jobs)
	if err != nil {
		return out, fmt.Errorf("executor: %w", err)
	}
	for _, r := range recs {
		for k, id := range r.Trials {
			i, ok := byID[id]
			if !ok {
				continue
			}
			if st[i].attempts < r.Attempts[k] {
				st[i].attempts = r.Attempts[k]
			}
			if _, ok := act[fmt.Sprintf("%s_%d", r.Job, k)]; ok && st[i].job == "" {
				st[i].job, st[i].index = r.Job, k
				s.logf("re-attached to task %s_%d (%s, attempt %d)", r.Job, k, trials[i].Key, r.Attempts[k])
			}
		}
	}
	// A trial that an earlier coordinator already gave up on gets a fresh
	// allowance: it is run again rather than reported without a try.
	for i := range st {
		if !st[i].done && st[i].job == "" && st[i].attempts >= c.MaxAttempts {
			st[i].attempts = 0
		}
	}
	var failures []Failure
	for {
		// Submit every trial that has no task, one array per MaxArray.
		var tasks []task
		var idx []int
		for i := range st {
			if st[i].done || st[i].job != "" || st[i].attempts < 0 {
				continue
			}
			tasks = append(tasks, task{trials[i], st[i].attempts + 1})
			idx = append(idx, i)
		}
		for lo := 0; lo < len(tasks); lo += c.MaxArray {
			hi := min(lo+c.MaxArray, len(tasks))
			job, err := s.submit(ctx, sp, tasks[lo:hi])
			if err != nil {
				return out, err
			}
			for k, i := range idx[lo:hi] {
				st[i].attempts++
				st[i].job, st[i].index = job, k
			}
		}
		jobs = jobs[:0]
		seenJob := map[string]bool{}
		for i := range st {
			if !st[i].done && st[i].job != "" && !seenJob[st[i].job] {
				seenJob[st[i].job] = true
				jobs = append(jobs, st[i].job)
			}
		}
		if len(jobs) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("executor: %w (queued tasks keep running; their results stay in %s)", ctx.Err(), sp.Dir)
		case <-time.After(poll):
		}
		// squeue first, then the result files: a task that left the queue
		// without a result had written none.
		act, err := active(ctx, jobs)
		if err != nil {
			return out, fmt.Errorf("executor: %w", err)
		}
		for i := range st {
			if st[i].done || st[i].job == "" {
				continue
			}
			ok, err := collect(i)
			if err != nil {
				return out, err
			}
			if ok {
				continue
			}
			tid := fmt.Sprintf("%s_%d", st[i].job, st[i].index)
			if _, running := act[tid]; running {
				continue
			}
			state := endState(ctx, tid)
			logPath := sp.LogPath(st[i].job, st[i].index)
			st[i].job = ""
			if st[i].attempts >= c.MaxAttempts {
				s.logf("task %s (%s) ended %s without a result; giving up after %d attempt(s), log %s", tid, trials[i].Key, state, st[i].attempts, logPath)
				failures = append(failures, Failure{ID: trials[i].ID, Key: trials[i].Key, Attempts: st[i].attempts, State: state, Log: logPath})
				st[i].attempts = -1 // reported
				continue
			}
			s.logf("task %s (%s) ended %s without a result; submitting attempt %d, log %s", tid, trials[i].Key, state, st[i].attempts+1, logPath)
		}
	}
	if failures != nil {
		return out, &FailedError{Failures: failures}
	}
	return out, nil
}
