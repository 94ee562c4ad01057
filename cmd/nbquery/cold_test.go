package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nbquery/nbquery/internal/shared"
)

// TestColdStart measures the cold CLI against a hello-world Go binary built
// and run in the same test, interleaved, as a ratio of medians (wall clock
// and CPU time of the child), with the floor program (testdata/floor: the
// light build's libraries linked, no work). It builds four binaries, so it runs only
// with NBQUERY_LONG=1; BENCHMARKS.md records its output. NBQUERY_COLD_N
// sets the number of runs of each (default 200); NBQUERY_COLD_EXTRA
// ("name=path,...") times other builds' binaries (of earlier commits, say)
// with the same query in the same run.
func TestColdStart(t *testing.T) {
	if os.Getenv("NBQUERY_LONG") == "" {
		t.Skip("set NBQUERY_LONG=1 (builds four binaries and runs each hundreds of times)")
	}
	store := nb201StoreDir(t)
	dir := t.TempDir()
	hello := filepath.Join(dir, "hello")
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("go", "build", "-o", hello, ".")
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("go build hello: %v\n%s", err, out)
	}
	light, full := buildPair(t, dir)
	floor := filepath.Join(dir, "floor")
	c = exec.Command("go", "build", "-tags", shared.LightTags(t), "-o", floor, "./cmd/nbquery/testdata/floor")
	c.Dir = shared.ModuleRoot()
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("go build floor: %v\n%s", err, out)
	}
	n := 200
	if s := os.Getenv("NBQUERY_COLD_N"); s != "" {
		if _, err := fmtSscan(s, &n); err != nil {
			t.Fatal(err)
		}
	}
	query := []string{"--store", store, "query", "nb201", "--index", "6111", "--dataset", "cifar10-valid", "--hp", "200"}
	progs := []struct {
		name string
		argv []string
	}{
		{"hello", []string{hello}},
		{"floor (cobra + index linked, no work)", []string{floor, "--store", store}},
		{"nbquery query (light build)", append([]string{light}, query...)},
		{"nbquery --version (light build)", []string{light, "--version"}},
		{"nbquery query (full build)", append([]string{full}, query...)},
	}
	if extra := os.Getenv("NBQUERY_COLD_EXTRA"); extra != "" {
		for _, e := range strings.Split(extra, ",") {
			name, path, ok := strings.Cut(e, "=")
			if !ok {
				t.Fatalf("NBQUERY_COLD_EXTRA: %q is not name=path", e)
			}
			progs = append(progs, struct {
				name string
				argv []string
			}{"query: " + name, append([]string{path}, query...)})
		}
	}
	wall := make([][]float64, len(progs))
	cpu := make([][]float64, len(progs))
	for range n {
		for i, p := range progs {
			c := exec.Command(p.argv[0], p.argv[1:]...)
			start := time.Now()
			if out, err := c.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", p.name, err, out)
			}
			wall[i] = append(wall[i], time.Since(start).Seconds())
			cpu[i] = append(cpu[i], (c.ProcessState.UserTime() + c.ProcessState.SystemTime()).Seconds())
		}
	}
	median := func(x []float64) float64 { s := slices.Clone(x); slices.Sort(s); return s[len(s)/2] }
	hw, hc := median(wall[0]), median(cpu[0])
	for i, p := range progs {
		w, c := median(wall[i]), median(cpu[i])
		t.Logf("%-40s median wall %6.2f ms (%.2fx hello)  median CPU %6.2f ms (%.2fx hello)  [%d runs]", p.name, w*1e3, w/hw, c*1e3, c/max(hc, 1e-4), n)
	}
	if median(wall[2]) > median(wall[4])*1.2 {
		t.Errorf("the light build is slower than the full one")
	}
}

func fmtSscan(s string, n *int) (int, error) { return fmt.Sscan(s, n) }
