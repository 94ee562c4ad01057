package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

// child starts the CLI in a child process (this test binary, see TestMain).
func child(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "NBQUERY_TEST_CLI="+strings.Join(args, "\x1f"))
	return c
}

// synthCSV writes a 15,625-row table of 40 epochs of cifar100 x-valid
// accuracy (about 6 MB) with values that depend on salt, and its mapping.
func synthCSV(t *testing.T, dir string, salt, rows int) (csvPath, mapPath string) {
	t.Helper()
	csvPath = filepath.Join(dir, fmt.Sprintf("synth-%d.csv", salt))
	f, err := os.Create(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("index")
	cols := map[string]any{}
	for e := range 40 {
		fmt.Fprintf(w, ",c%d", e)
		cols[fmt.Sprintf("c%d", e)] = map[string]any{"dataset": "cifar100", "set": "x-valid", "metric": "accuracy", "epoch": e}
	}
	w.WriteString("\n")
	r := rand.New(rand.NewPCG(uint64(salt), 7))
	for i := range rows {
		fmt.Fprintf(w, "%d", i)
		for range 40 {
			fmt.Fprintf(w, ",%.4f", 100*r.Float64())
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	mapPath = filepath.Join(dir, "synth-mapping.json")
	b, _ := json.Marshal(map[string]any{"index": "index", "hp": "200", "columns": cols})
	os.WriteFile(mapPath, b, 0o644)
	return csvPath, mapPath
}

// earlierQueries are answered before the crashes and must not change.
var earlierQueries = [][]string{
	{"--json", "query", "nb201", "--index", "0", "--dataset", "cifar10-valid", "--hp", "200"},
	{"--json", "query", "nb201", "--index", "284", "--dataset", "cifar100", "--hp", "12", "--seed", "mean"},
	{"--json", "query", "nb201", "--index", "11", "--dataset", "ImageNet16-120", "--hp", "200"},
}

func answers(t *testing.T, store string) []string {
	t.Helper()
	var out []string
	for _, q := range earlierQueries {
		o, e, code := nbq(t, append([]string{"--store", store}, q...)...)
		out = append(out, fmt.Sprintf("%d %s %s", code, o, e))
	}
	return out
}

// storeLeftovers lists temp files and data files the manifest does not
// reference.
func storeLeftovers(t *testing.T, store string) []string {
	t.Helper()
	var m struct {
		Benches map[string]struct {
			Archs    string                  `json:"archs"`
			Segments []struct{ File string } `json:"segments"`
			Extra    map[string]string       `json:"extra"`
		} `json:"benches"`
	}
	b, err := os.ReadFile(filepath.Join(store, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{}
	for _, bm := range m.Benches {
		refs[bm.Archs] = true
		for _, s := range bm.Segments {
			refs[s.File] = true
		}
		for _, e := range bm.Extra {
			refs[e] = true
			refs[strings.TrimSuffix(e, ".arrow")+".dir"] = true
		}
	}
	var out []string
	filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(store, p)
		switch {
		case err != nil:
			return err
		case d.IsDir() && rel == "catalog":
			return filepath.SkipDir
		case d.IsDir() || rel == "MANIFEST" || rel == "LOCK" || rel == "READERS":
			return nil
		case strings.Contains(d.Name(), ".tmp-") || !refs[filepath.ToSlash(rel)]:
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// TestCrash kills an ingest of a synthetic table with SIGKILL at 20
// random moments; then store verify passes, the next write leaves no temp
// or unreferenced file, and the earlier queries answer identically.
func TestCrash(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	if _, e, code := nbq(t, "--store", store, "-q", "ingest", "nb201",
		shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple"), shared.Path(t, "nb201_minibench/nb201_hp12_accs.csv")); code != 0 {
		t.Fatal(e)
	}
	before := answers(t, store)
	tmp := t.TempDir()
	r := rand.New(rand.NewPCG(12, 20))
	// The first ingest, timed, sets the window the kills fall into.
	rows := 5000 // 2 MB; the full 15,625 rows (6 MB) with NBQUERY_LONG=1
	if os.Getenv("NBQUERY_LONG") == "1" {
		rows = 15625
	}
	p0, mp := synthCSV(t, tmp, 0, rows)
	start := time.Now()
	if err := child(context.Background(), "--store", store, "-q", "ingest", "nb201", "--mapping", mp, p0).Run(); err != nil {
		t.Fatal(err)
	}
	window := time.Since(start)
	t.Logf("one ingest takes %v", window)
	killed := 0
	for i := 1; i <= 20; i++ {
		p, _ := synthCSV(t, tmp, i, rows)
		c := child(context.Background(), "--store", store, "-q", "ingest", "nb201", "--mapping", mp, p)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.Int64N(int64(window))))
		if c.Process.Signal(syscall.SIGKILL) == nil {
			if err := c.Wait(); err != nil {
				killed++
			}
		}
		os.Remove(p)
	}
	t.Logf("%d of 20 ingests killed before they finished; they left %d temp or unreferenced files", killed, len(storeLeftovers(t, store)))
	if o, e, code := nbq(t, "--store", store, "store", "verify"); code != 0 {
		t.Fatalf("store verify after the kills: exit %d: %s%s", code, o, e)
	}
	if got := answers(t, store); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Fatalf("earlier queries changed:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
	}
	// The next write collects what the kills left behind.
	p, _ := synthCSV(t, tmp, 99, 100)
	if _, e, code := nbq(t, "--store", store, "-q", "ingest", "nb201", "--mapping", mp, p); code != 0 {
		ents, _ := os.ReadDir(filepath.Join(store, "catalog"))
		for _, e := range ents {
			fi, _ := e.Info()
			t.Logf("catalog/%s %d bytes", e.Name(), fi.Size())
		}
		t.Fatal(e)
	}
	if left := storeLeftovers(t, store); len(left) > 0 {
		t.Fatalf("after the next write the store still holds %v", left)
	}
	if o, e, code := nbq(t, "--store", store, "store", "verify"); code != 0 {
		t.Fatalf("store verify: %s%s", o, e)
	}
}

// TestConcurrentReaders runs 4 reader loops (two queries, info, a live
// query) in other processes' view of the store while 20 ingests commit:
// no ingest fails and every answer is the expected one.
func TestConcurrentReaders(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	if _, e, code := nbq(t, "--store", store, "-q", "ingest", "nb201", shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple")); code != 0 {
		t.Fatal(e)
	}
	st, err := index.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	arch := "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
	if err := catalog.For(st).PutLive(index.LiveResult{Bench: index.NB201, Arch: arch, Dataset: "fashion-mnist", Epochs: 2, Seed: 1,
		Metrics: map[string]float64{"test-accuracy": 81.25}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	readers := [][]string{
		{"--json", "query", "nb201", "--index", "0", "--dataset", "cifar10-valid", "--hp", "200"},
		{"--json", "query", "nb201", "--index", "284", "--dataset", "cifar100", "--hp", "12"},
		{"info"},
		{"--json", "query", "nb201", "--arch", arch, "--dataset", "fashion-mnist", "--hp", "2"},
	}
	want := make([]string, len(readers))
	for i, q := range readers {
		o, e, code := nbq(t, append([]string{"--store", store}, q...)...)
		if code != 0 {
			t.Fatalf("%v: %s", q, e)
		}
		want[i] = o
	}
	tmp := t.TempDir()
	var stop atomic.Bool
	var reads, bad atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstBad string
	for i, q := range readers {
		wg.Go(func() {
			for !stop.Load() {
				out, err := child(context.Background(), append([]string{"--store", store}, q...)...).CombinedOutput()
				reads.Add(1)
				ok := err == nil
				if ok && q[0] != "info" {
					ok = string(out) == want[i]
				}
				if ok && q[0] == "info" {
					ok = strings.Contains(string(out), "1 live training runs")
				}
				if !ok {
					bad.Add(1)
					mu.Lock()
					if firstBad == "" {
						firstBad = fmt.Sprintf("%v: %v: %s", q, err, out)
					}
					mu.Unlock()
				}
			}
		})
	}
	_, mp := synthCSV(t, tmp, 0, 10)
	failed := 0
	for i := range 20 {
		p, _ := synthCSV(t, tmp, 1000+i, 200)
		if out, err := child(context.Background(), "--store", store, "-q", "ingest", "nb201", "--mapping", mp, p).CombinedOutput(); err != nil {
			failed++
			t.Errorf("ingest %d: %v: %s", i, err, out)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d reads during 20 ingests", reads.Load())
	if failed > 0 || bad.Load() > 0 {
		t.Fatalf("%d failed ingests, %d wrong or failed reads; first: %s", failed, bad.Load(), firstBad)
	}
}
