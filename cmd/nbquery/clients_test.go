package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/server"
)

// requireTool returns the path of a client tool, skipping the test when it
// is missing outside CI and failing it in CI (CI=true), where .ci/run
// installs it.
func requireTool(t *testing.T, what string, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if p, err := exec.LookPath(path); err == nil && filepath.IsAbs(p) {
		return p
	}
	shared.SkipUnlessCI(t, "%s missing (%s; run .ci/run or install it)", what, path)
	return ""
}

// startServer serves store on a free loopback port until the test ends and
// returns its base URL.
func startServer(t *testing.T, store string) string {
	t.Helper()
	st, err := index.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(st, server.Config{RandSeed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Serve(ctx, "127.0.0.1:0", h, h.Config(), 5*time.Second, func(a net.Addr) { addrc <- a.String() })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		st.Close()
	})
	return "http://" + addr
}

func runTool(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPythonClient runs python/test_nbquery_api.py with Debian's python3
// against a server on a free loopback port: every golden value of FACTS.md
// the shared data holds, and the golden arch 0/11/284 JSON.
func TestPythonClient(t *testing.T) {
	py := requireTool(t, "Debian's python3", "/usr/bin/python3")
	store := nb201StoreDir(t)
	url := startServer(t, store)
	// A second store with the real 30,001-cell NB101 slice (partial: one
	// repeat of validation accuracy) for the FACTS values about it.
	slice := filepath.Join(t.TempDir(), "store")
	if _, stderr, code := nbq(t, "--store", slice, "-q", "ingest", "nb101", shared.Path(t, "nb101_slices/nb101_tiga_30001_val_4-12-36-108.csv")); code != 0 {
		t.Fatalf("ingest the NB101 slice: exit %d: %s", code, stderr)
	}
	out := runTool(t, filepath.Join(shared.ModuleRoot(), "python"),
		[]string{"NBQUERY_URL=" + url, "NBQUERY_URL_SLICE=" + startServer(t, slice),
			"NBQUERY_GOLDEN=" + shared.Path(t, "nb201_golden_arch_0_11_284.json"), "PYTHONDONTWRITEBYTECODE=1"},
		py, "-m", "unittest", "-v", "test_nbquery_api")
	if !strings.Contains(out, "Ran 13 tests") || strings.Contains(out, "skipped") {
		t.Errorf("python tests did not all run:\n%s", out)
	}
}

// TestNodeClients: DuckDB (@duckdb/node-api) and Apache Arrow's JavaScript
// reader (apache-arrow) read the Parquet and Arrow IPC exports and the
// server's Arrow stream (apache-arrow also the store's own Arrow files), and find the cifar10-valid optimum 6111 at
// 91.60666665.
func TestNodeClients(t *testing.T) {
	node := requireTool(t, "node", "node")
	dir := filepath.Join(shared.ModuleRoot(), "clients", "node")
	requireTool(t, "the npm packages of clients/node (npm ci)", filepath.Join(dir, "node_modules", "@duckdb", "node-api"))
	requireTool(t, "the npm packages of clients/node (npm ci)", filepath.Join(dir, "node_modules", "apache-arrow"))
	store := nb201StoreDir(t)
	tmp := t.TempDir()
	pq, ipc := filepath.Join(tmp, "nb201.parquet"), filepath.Join(tmp, "nb201.arrow")
	for _, args := range [][]string{
		{"export", "nb201", "--format", "parquet", "--out", pq},
		{"export", "nb201", "--format", "arrow", "--out", ipc},
	} {
		if _, stderr, code := nbq(t, append([]string{"--store", store, "-q"}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	const arch6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"

	t.Run("duckdb parquet", func(t *testing.T) {
		sql := `SELECT index, arch, "x-valid" FROM read_parquet('` + pq + `') ` +
			`WHERE dataset = 'cifar10-valid' AND hp = 200 AND seed IS NULL ORDER BY "x-valid" DESC, index LIMIT 1`
		var rows []map[string]any
		out := runTool(t, dir, nil, node, "duckdb.mjs", sql)
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
			t.Fatalf("duckdb answer %q: %v", out, err)
		}
		if r := rows[0]; r["index"] != 6111.0 || r["arch"] != arch6111 || r["x-valid"] != 91.60666665 {
			t.Errorf("duckdb: %v", r)
		}
		// Per-seed rows and the mean agree with the golden seeds of arch 0.
		out = runTool(t, dir, nil, node, "duckdb.mjs", `SELECT seed, "x-valid" FROM read_parquet('`+pq+`') `+
			`WHERE index = 0 AND dataset = 'cifar10-valid' AND hp = 200 AND seed IS NOT NULL ORDER BY seed`)
		if want := `[{"seed":777,"x-valid":82.09199998291015},{"seed":888,"x-valid":81.61599997314453},{"seed":999,"x-valid":82.24000001464844}]`; strings.TrimSpace(out) != want {
			t.Errorf("duckdb seeds of arch 0: %s, want %s", out, want)
		}
	})
	// The store's own files, written by internal/arrowfile: the arch list
	// and the segment of cifar10_avg.csv.
	t.Run("apache-arrow reads the store", func(t *testing.T) {
		archs, _ := filepath.Glob(filepath.Join(store, "nb201", "archs-*.arrow"))
		segs, _ := filepath.Glob(filepath.Join(store, "nb201", "seg-0002-*.arrow"))
		if len(archs) != 1 || len(segs) != 1 {
			t.Fatalf("store files: %v %v", archs, segs)
		}
		for _, test := range []struct {
			args []string
			row  int
			want float64
		}{
			{[]string{archs[0], "--where", "arch=" + arch6111, "--max", "code"}, 6111, 11667},
			{[]string{segs[0], "--max", "row"}, 15624, 15624},
		} {
			var ans struct {
				NumRows int
				Best    struct{ Row, Value float64 }
			}
			out := runTool(t, dir, nil, node, append([]string{"arrow.mjs"}, test.args...)...)
			if err := json.Unmarshal([]byte(out), &ans); err != nil {
				t.Fatalf("arrow answer %q: %v", out, err)
			}
			if ans.NumRows != 15625 || ans.Best.Row != float64(test.row) || ans.Best.Value != test.want {
				t.Errorf("apache-arrow %v: %d rows, best %+v, want row %d value %v", test.args, ans.NumRows, ans.Best, test.row, test.want)
			}
		}
	})
	for _, test := range []struct{ name, src, body, where string }{
		{"arrow ipc export", ipc, "", "dataset=cifar10-valid,hp=200,seed=null"},
		{"arrow stream answer", startServer(t, store) + "/v1/nb201/batch",
			`{"arch": true, "queries": [{"name": "x-valid", "dataset": "cifar10-valid", "split": "valid", "hp": "200"}]}`, ""},
	} {
		t.Run(test.name, func(t *testing.T) {
			args := []string{"arrow.mjs", test.src, "--max", "x-valid", "--show", "index,arch"}
			if test.body != "" {
				args = append(args, "--body", test.body)
			}
			if test.where != "" {
				args = append(args, "--where", test.where)
			}
			var ans struct {
				ContentType string
				NumRows     int
				Best        map[string]any
			}
			out := runTool(t, dir, nil, node, args...)
			if err := json.Unmarshal([]byte(out), &ans); err != nil {
				t.Fatalf("arrow answer %q: %v", out, err)
			}
			if b := ans.Best; b["index"] != 6111.0 || b["arch"] != arch6111 || b["value"] != 91.60666665 {
				t.Errorf("apache-arrow: %v", b)
			}
			if test.body != "" && (ans.ContentType != server.ArrowStream || ans.NumRows != 15625) {
				t.Errorf("stream: content type %q, %d rows", ans.ContentType, ans.NumRows)
			}
		})
	}
}

// TestExportCLI checks the export command's rows and its errors.
func TestExportCLI(t *testing.T) {
	store := nb201StoreDir(t)
	out := filepath.Join(t.TempDir(), "x.parquet")
	for _, test := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"export", "nb201", "--format", "csv", "--out", out}, exitUsage, "want parquet or arrow"},
		{[]string{"export", "nb201", "--out", ""}, exitUsage, "--out is required"},
		{[]string{"export", "nb201", "--dataset", "mnist", "--out", out}, exitUsage, "no dataset"},
		{[]string{"export", "nb201", "--indices", "1,x", "--out", out}, exitUsage, "comma-separated"},
		{[]string{"export", "nb999", "--out", out}, exitUsage, "unknown benchmark"},
		{[]string{"export", "nb101", "--hp", "7", "--out", out}, exitUsage, "epochs 7"},
	} {
		if _, stderr, code := nbq(t, append([]string{"--store", store}, test.args...)...); code != test.code || !strings.Contains(stderr, test.msg) {
			t.Errorf("%v: exit %d %q, want %d %q", test.args, code, stderr, test.code, test.msg)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed export left %s", out)
	}
	for _, test := range []struct {
		args []string
		rows string
	}{
		// 30 cells x 1 budget x (3 repeats + the mean).
		{[]string{"export", "nb101", "--out", out}, `"rows": 120`},
		{[]string{"export", "nb101", "--seeds", "mean", "--out", out}, `"rows": 30`},
		{[]string{"export", "nb201", "--dataset", "cifar10-valid", "--hp", "200", "--seeds", "mean", "--out", out}, `"rows": 15625`},
		{[]string{"export", "nb201", "--indices", "0,11,284", "--dataset", "cifar10", "--hp", "200", "--out", out}, `"rows": 12`},
	} {
		stdout, stderr, code := nbq(t, append([]string{"--store", store, "--json"}, test.args...)...)
		if code != 0 || !strings.Contains(stdout, test.rows) {
			t.Errorf("%v: exit %d %s %s, want %s", test.args, code, stdout, stderr, test.rows)
		}
	}
}
