package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

// asCLIEnv makes the test binary run as nbquery (see TestMain).
const asCLIEnv = "NBQUERY_TEST_AS_CLI"

const fashionMNIST = "/usr/share/datasets/fashion-mnist"

// liveArgs is a tiny live search on real Fashion-MNIST images: 2 runs of
// random and re with 3 queries each (6 distinct cells), C=4, N=1, 300
// training images, 1 epoch.
func liveArgs(store string) []string {
	return []string{"--store", store, "experiment", "--live", "--data", fashionMNIST, "--dataset", "fashion-mnist", "--hp", "1",
		"--algos", "random,re", "--runs", "2", "--budget", "3", "--train-max", "300", "--train-c", "4", "--train-batch", "50", "--seed", "2"}
}

// summaryCore is the summary without the wall time (the last column of
// the algorithms' rows) and the output directory.
func summaryCore(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "wrote" {
			continue
		}
		if len(f) > 1 && (f[0] == "random" || f[0] == "re") {
			f = f[:len(f)-1]
		}
		b.WriteString(strings.Join(f, " ") + "\n")
	}
	return b.String()
}

// runsCore is runs.json without the wall-clock training times.
func runsCore(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "runs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var runs []map[string]any
	if err := json.Unmarshal(b, &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 4 {
		t.Errorf("%s: %d runs, want 4", dir, len(runs))
	}
	for _, r := range runs {
		delete(r, "sim_time_s")
		delete(r, "time_to_opt_s")
	}
	out, _ := json.Marshal(runs)
	return string(out)
}

// liveRecords returns the store's live results by key (without the
// wall-clock training time), failing on a key recorded twice.
func liveRecords(t *testing.T, store string) map[string]index.LiveResult {
	t.Helper()
	st, err := index.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string]index.LiveResult{}
	catalog.For(st).View([]byte("live/nb201/"), func(k, v []byte) error {
		var r index.LiveResult
		if err := json.Unmarshal(v, &r); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[string(k)]; dup {
			t.Errorf("%s recorded twice", k)
		}
		delete(r.Metrics, "train-all-time")
		r.Time = time.Time{}
		out[string(k)] = r
		return nil
	})
	return out
}

// cliCmd is the test binary started as nbquery in its own process.
func cliCmd(t *testing.T, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), asCLIEnv+"=1")
	return cmd
}

// TestSlurmLiveExperiment runs the same live search with the local executor
// and through Slurm, killing the Slurm coordinator with SIGKILL once its
// first trial finished and restarting it: the summaries and the stores'
// results are equal, every trained cell is in the store exactly once, and no
// trial was submitted twice (the restarted coordinator collected finished
// trials from the spool and re-attached to running ones).
func TestSlurmLiveExperiment(t *testing.T) {
	shared.RequireSlurm(t)
	if _, err := os.Stat(filepath.Join(fashionMNIST, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("Fashion-MNIST not installed (.ci/run installs dataset-fashion-mnist): %v", err)
	}
	dir := t.TempDir()
	local, stderr, code := nbq(t, append(liveArgs(filepath.Join(dir, "local")), "-q", "--out", filepath.Join(dir, "out-local"))...)
	if code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	store := filepath.Join(dir, "slurm")
	spool := filepath.Join(dir, "spool")
	args := append(liveArgs(store), "--executor", "slurm", "--spool", spool, "--slurm-poll", "300ms", "--slurm-cpus", "1")

	first := cliCmd(t, args...)
	var log1 bytes.Buffer
	first.Stderr = &log1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if m, _ := filepath.Glob(filepath.Join(spool, "results", "*.json")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatalf("no trial finished in 5 minutes:\n%s", log1.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	first.Process.Kill() // SIGKILL: no cleanup
	first.Wait()

	second := cliCmd(t, append(args, "--out", filepath.Join(dir, "out-slurm"))...)
	var out2, log2 bytes.Buffer
	second.Stdout, second.Stderr = &out2, &log2
	if err := second.Run(); err != nil {
		t.Fatalf("restarted coordinator: %v\n%s", err, log2.String())
	}
	if a, b := summaryCore(local), summaryCore(out2.String()); a != b {
		t.Errorf("summaries differ:\nlocal:\n%s\nslurm:\n%s", a, b)
	}
	if a, b := runsCore(t, filepath.Join(dir, "out-local")), runsCore(t, filepath.Join(dir, "out-slurm")); a != b {
		t.Errorf("runs.json differ:\nlocal %s\nslurm %s", a, b)
	}
	lr, sr := liveRecords(t, filepath.Join(dir, "local")), liveRecords(t, store)
	if len(lr) != 6 || len(sr) != len(lr) {
		t.Errorf("%d local and %d slurm results, want 6 each", len(lr), len(sr))
	}
	for k, a := range lr {
		b, ok := sr[k]
		if !ok {
			t.Errorf("%s missing from the slurm store", k)
			continue
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s:\nlocal %s\nslurm %s", k, ja, jb)
		}
	}
	// Every trial was submitted once over both coordinators.
	recs, _ := filepath.Glob(filepath.Join(spool, "jobs", "*.json"))
	seen := map[string]int{}
	for _, p := range recs {
		var r struct{ Trials []string }
		b, _ := os.ReadFile(p)
		json.Unmarshal(b, &r)
		for _, id := range r.Trials {
			seen[id]++
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("trial %s submitted %d times", id, n)
		}
	}
	if len(seen) != 6 {
		t.Errorf("%d trials submitted, want 6\nfirst:\n%s\nsecond:\n%s", len(seen), log1.String(), log2.String())
	}
	t.Logf("restarted coordinator:\n%s", log2.String())
}

// TestSlurmDryRun prints the job script (no cluster needed): settings from
// the config file, overridden by flags, and the train command of each task.
func TestSlurmDryRun(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "slurm.json")
	os.WriteFile(conf, []byte(`{"partition": "gpu", "time": "30", "mem": "2G", "options": ["--account=lab"], "spool": "`+dir+`/spool"}`), 0o644)
	args := append(liveArgs(filepath.Join(dir, "store")), "-q", "--executor", "slurm", "--dry-run", "--slurm-config", conf, "--slurm-time", "45", "--slurm-cpus", "2")
	out, stderr, code := nbq(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"#SBATCH --partition=gpu", "#SBATCH --time=45", "#SBATCH --mem=2G", "#SBATCH --cpus-per-task=2",
		"#SBATCH --account=lab", "#SBATCH --array=0-1", "train nb201 --trial-config '{\"Arch\":\"|", `"MaxTrain":300`, `"C":4,`,
		"--result-file " + dir + "/spool/results/"} {
		if !strings.Contains(out, want) {
			t.Errorf("script lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "spool")); err == nil {
		t.Error("a dry run created the spool")
	}
	os.WriteFile(conf, []byte(`{"partiton": "gpu"}`), 0o644)
	if _, stderr, code := nbq(t, args...); code != exitUsage || !strings.Contains(stderr, "partiton") {
		t.Errorf("misspelt config key: exit %d (%s)", code, stderr)
	}
	if _, stderr, code := nbq(t, append(liveArgs(filepath.Join(dir, "store")), "--executor", "pbs")...); code != exitUsage || !strings.Contains(stderr, "pbs") {
		t.Errorf("unknown executor: exit %d (%s)", code, stderr)
	}
}

// TestSlurmRuns runs a table experiment's whole runs as Slurm tasks
// (`experiment --runs 1 --run-index i` each): runs.json equals the local
// executor's, and a second coordinator over the same spool submits nothing.
func TestSlurmRuns(t *testing.T) {
	shared.RequireSlurm(t)
	store := nb201StoreDir(t)
	dir := t.TempDir()
	args := []string{"--store", store, "-q", "experiment", "--dataset", "cifar10-valid", "--target", "valid", "--report", "test", "--hp", "200",
		"--algos", "random,re,ls", "--runs", "2", "--budget", "40", "--seed", "5", "--count", "distinct"}
	if _, stderr, code := nbq(t, append(args, "--out", filepath.Join(dir, "local"))...); code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	t.Setenv(asCLIEnv, "1") // the tasks run this test binary as nbquery
	spool := filepath.Join(dir, "spool")
	sargs := append(args, "--executor", "slurm", "--spool", spool, "--slurm-poll", "300ms", "--slurm-cpus", "1")
	if _, stderr, code := nbq(t, append(sargs, "--out", filepath.Join(dir, "slurm"))...); code != 0 {
		t.Fatalf("slurm: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "local", "runs.json"))
	b, _ := os.ReadFile(filepath.Join(dir, "slurm", "runs.json"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("runs.json differ:\nlocal %s\nslurm %s", a, b)
	}
	jobs, _ := filepath.Glob(filepath.Join(spool, "jobs", "*.json"))
	if _, stderr, code := nbq(t, append(sargs, "--out", filepath.Join(dir, "again"))...); code != 0 {
		t.Fatalf("again: exit %d: %s", code, stderr)
	}
	if again, _ := filepath.Glob(filepath.Join(spool, "jobs", "*.json")); len(jobs) != 1 || len(again) != 1 {
		t.Errorf("%d then %d array jobs, want 1 (the second coordinator finds every trace in the spool)", len(jobs), len(again))
	}
	out, stderr, code := nbq(t, append(sargs, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "--run-index 1 --algos ls") || !strings.Contains(out, "--count=distinct") {
		t.Errorf("dry run: exit %d (%s):\n%s", code, stderr, out)
	}
}
