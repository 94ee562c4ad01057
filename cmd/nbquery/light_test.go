package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

// buildPair builds the light build as dir/nbquery and the full build beside
// it as dir/nbquery-full (what make build installs) and returns their paths.
func buildPair(t *testing.T, dir string) (light, full string) {
	t.Helper()
	light, full = filepath.Join(dir, "nbquery"), filepath.Join(dir, "nbquery-full")
	for _, b := range [][]string{{"-tags", shared.LightTags(t), "-o", light}, {"-o", full}} {
		c := exec.Command("go", append(append([]string{"build"}, b...), "./cmd/nbquery")...)
		c.Dir = shared.ModuleRoot()
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", b, err, out)
		}
	}
	return light, full
}

// TestLightBuild: the light build (no catalogue, no HTTP server linked)
// hands ingest, info and serve to nbquery-full, answers table queries
// itself, and hands a query the tables cannot answer to nbquery-full when
// the store has a catalogue (live-training results), so the two builds
// answer alike.
func TestLightBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	dir := t.TempDir()
	light, _ := buildPair(t, dir)
	store := filepath.Join(dir, "store")
	runLight := func(want int, args ...string) string {
		t.Helper()
		c := exec.Command(light, append([]string{"--store", store}, args...)...)
		var out, errb strings.Builder
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		if code := c.ProcessState.ExitCode(); code != want {
			t.Fatalf("nbquery %v: exit %d (%v), want %d\nstdout: %s\nstderr: %s", args, code, err, want, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}
	// No store yet: no catalogue, so a miss is answered here (exit 3).
	arch := "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
	runLight(exitNotFound, "query", "nb201", "--arch", arch, "--dataset", "fashion-mnist", "--hp", "2")
	// ingest runs nbquery-full, which records the source in the catalogue.
	runLight(0, "-q", "ingest", "nb201", shared.Path(t, "nb201_minibench/nb201_hp12_accs.csv"))
	st, err := index.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := catalog.For(st).Sources(); err != nil || len(recs) != 1 {
		t.Fatalf("catalogue after a light ingest: %v, %v", recs, err)
	}
	if err := catalog.For(st).PutLive(index.LiveResult{Bench: index.NB201, Arch: arch, Dataset: "fashion-mnist", Epochs: 2, Seed: 1,
		Metrics: map[string]float64{"test-accuracy": 61.5}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if out := runLight(0, "query", "nb201", "--index", "6111", "--dataset", "cifar10-valid", "--hp", "12"); !strings.Contains(out, "source          table") {
		t.Errorf("table query:\n%s", out)
	}
	if out := runLight(0, "query", "nb201", "--arch", arch, "--dataset", "fashion-mnist", "--hp", "2"); !strings.Contains(out, "61.5") || !strings.Contains(out, "live (1 run(s)") {
		t.Errorf("live query through the light build:\n%s", out)
	}
	// No live run at that fidelity: the tables' error stands, printed once.
	if out := runLight(exitUsage, "query", "nb201", "--arch", arch, "--dataset", "fashion-mnist", "--hp", "3"); strings.Count(out, "nbquery:") != 1 {
		t.Errorf("error printed other than once:\n%s", out)
	}
	if out := runLight(0, "info"); !strings.Contains(out, "nb201: 1 live training runs") {
		t.Errorf("info through the light build:\n%s", out)
	}
	// serve runs nbquery-full in this process's place: SIGTERM reaches it
	// and it shuts down gracefully (exit 0).
	c := exec.Command(light, "--store", store, "serve", "--addr", "127.0.0.1:0")
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "listening on http://127.0.0.1:") {
			t.Fatalf("serve: %q", line)
		}
	case <-time.After(60 * time.Second):
		c.Process.Kill()
		t.Fatal("serve did not start")
	}
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
}
