package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/mbv2"
	"github.com/nbquery/nbquery/train"
)

// TestSinglePathCLI measures a latency table, runs a tiny Single-Path NAS
// search with it on real Fashion-MNIST images, trains the decided arch and
// finds its result in the store.
func TestSinglePathCLI(t *testing.T) {
	data := "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(data, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist; .ci/run does): %v", err)
	}
	dir := t.TempDir()
	table := filepath.Join(dir, "lat.json")
	out, stderr, code := nbq(t, "-q", "latency", "measure", "--width", "0.25", "--stem-stride", "2", "--input", "1x28x28",
		"--repeats", "2", "--warmup", "1", "--out", table)
	if code != 0 || !strings.Contains(out, "wrote "+table) {
		t.Fatalf("latency measure exit %d: %s %s", code, out, stderr)
	}
	lt, err := train.ReadLatencyTable(table)
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "store")
	run := filepath.Join(dir, "run")
	args := []string{"--store", store, "-q", "search", "single-path", "--data", data, "--dataset", "fashion-mnist",
		"--lambda", "0.5", "--latency-table", table, "--width", "0.25", "--stem-stride", "2", "--epochs", "1",
		"--max-train", "128", "--max-test", "200", "--child-epochs", "1", "--seed", "1", "--out", run}
	out, stderr, code = nbq(t, args...)
	if code != 0 {
		t.Fatalf("search exit %d: %s %s", code, out, stderr)
	}
	var res train.SPNASResult
	b, err := os.ReadFile(filepath.Join(run, "search.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	a, err := mbv2.Parse(res.Arch)
	if err != nil || !res.Completed || res.PredictedLatency != lt.Predict(a) || !strings.Contains(out, "decided "+res.Arch) {
		t.Fatalf("result %+v (%v), output %s", res, err, out)
	}
	st, err := index.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := catalog.For(st).Live("mbv2", res.Arch, "fashion-mnist", 1)
	st.Close()
	if err != nil || len(runs) != 1 || runs[0].Metrics["predicted-latency"] != res.PredictedLatency || runs[0].Metrics["test-accuracy"] != res.Child.TestAccuracy {
		t.Fatalf("stored %+v, %v", runs, err)
	}
	// Resuming a finished run reproduces it without training.
	out2, stderr, code := nbq(t, append(args, "--resume", "--no-store")...)
	if code != 0 || out2 != out {
		t.Errorf("resume exit %d: %q, want %q (%s)", code, out2, out, stderr)
	}
	// Usage errors.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"search", "single-path", "--data", data, "--out", run, "--lambda", "1"}, "needs --latency-table"},
		{[]string{"search", "single-path", "--data", data, "--out", t.TempDir(), "--latency-table", table, "--width", "0.5"}, "measured for width 0.25"},
		{[]string{"search", "single-path", "--out", run}, "--data and --out are required"},
		{[]string{"latency", "measure", "--out", table, "--input", "28x28"}, "want CxHxW"},
	} {
		if _, stderr, code := nbq(t, append([]string{"--store", store}, tc.args...)...); code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want usage error containing %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestLiveExperimentMBV2 runs experiment --live over the MobileNetV2 space
// (random draws from the seeded pool, RE's mutations), training each queried
// network once on real Fashion-MNIST images and recording it under bench
// mbv2; with --latency-max every network is over the limit and none is trained.
func TestLiveExperimentMBV2(t *testing.T) {
	data := "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(data, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist; .ci/run does): %v", err)
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	base := []string{"--store", store, "-q", "experiment", "--live", "--bench", "mbv2", "--data", data, "--dataset", "fashion-mnist",
		"--hp", "1", "--runs", "1", "--seed", "2", "--train-max", "64", "--train-batch", "32", "--train-max-test", "100",
		"--train-width", "0.25", "--train-stem-stride", "2", "--mbv2-pool", "20", "--mbv2-capacity", "200"}
	out, stderr, code := nbq(t, append(base, "--algos", "random,re", "--budget", "3", "--re-population", "2", "--re-tournament", "2")...)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, stderr)
	}
	st, err := index.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	var archs []string
	catalog.For(st).View([]byte("live/mbv2/"), func(k, v []byte) error {
		var r index.LiveResult
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		if _, err := mbv2.Parse(r.Arch); err != nil || r.Metrics["test-accuracy"] <= 0 {
			t.Errorf("record %s: %v %v", k, err, r.Metrics)
		}
		archs = append(archs, r.Arch)
		return nil
	})
	st.Close()
	if len(archs) < 3 || len(archs) > 6 {
		t.Errorf("%d networks trained and recorded, want 3 to 6 (2 runs of 3 queries, some shared): %v", len(archs), archs)
	}
	// A latency limit below every network: answered from the table, untrained.
	table := filepath.Join(dir, "lat.json")
	if _, stderr, code := nbq(t, "-q", "latency", "measure", "--width", "0.25", "--stem-stride", "2", "--repeats", "1", "--warmup", "1", "--out", table); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := nbq(t, append(base, "--store", filepath.Join(dir, "store2"), "--algos", "random", "--budget", "3",
		"--latency-table", table, "--latency-max", "1e-9")...); code != 0 {
		t.Fatalf("constrained: exit %d: %s", code, stderr)
	}
	if st, err := index.Open(filepath.Join(dir, "store2")); err == nil {
		n := 0
		catalog.For(st).View([]byte("live/mbv2/"), func(k, v []byte) error { n++; return nil })
		st.Close()
		if n != 0 {
			t.Errorf("%d networks over the latency limit were trained", n)
		}
	}
	if _, stderr, code := nbq(t, append(base, "--algos", "random", "--budget", "2", "--latency-weight", "1")...); code != exitUsage || !strings.Contains(stderr, "need --latency-table") {
		t.Errorf("weight without table: exit %d %s", code, stderr)
	}
}
