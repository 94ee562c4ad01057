package main

import (
	"encoding/json"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainThenQueryLive trains a tiny cell on real Fashion-MNIST images,
// then answers a query from the live result, also after a restart.
func TestTrainThenQueryLive(t *testing.T) {
	data := "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(data, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist; .ci/run does): %v", err)
	}
	store := filepath.Join(t.TempDir(), "store")
	arch := "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
	_, stderr, code := nbq(t, "--store", store, "-q", "train", "nb201", "--arch", arch, "--data", data,
		"--dataset", "fashion-mnist", "--epochs", "1", "--max-train", "600", "--c", "4", "--n", "1",
		"--batch", "50", "--lr", "0.05", "--seed", "3", "--out", filepath.Join(t.TempDir(), "run"))
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	out, stderr, code := nbq(t, "--store", store, "--json", "query", "nb201", "--arch", arch, "--dataset", "fashion-mnist", "--hp", "1")
	if code != 0 {
		t.Fatalf("query exit %d: %s", code, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if m["source"] != "live" || m["test-accuracy"].(float64) <= 10 || m["params"].(float64) <= 0 {
		t.Errorf("live answer = %v", m)
	}
	// A seed that was not trained, and an arch never trained, are not found.
	if _, stderr, code := nbq(t, "--store", store, "query", "nb201", "--arch", arch, "--dataset", "fashion-mnist", "--hp", "1", "--seed", "9"); code != exitNotFound {
		t.Errorf("seed 9 exit %d (%s)", code, stderr)
	}
	if _, stderr, code := nbq(t, "--store", store, "train", "nb201", "--arch", "|conv~0|", "--data", data); code != exitUsage || !strings.Contains(stderr, "arch") {
		t.Errorf("bad arch exit %d (%s)", code, stderr)
	}
	if _, stderr, code := nbq(t, "--store", store, "train", "nb201", "--arch", arch, "--data", "/nonexistent", "--out", t.TempDir()); code == 0 || !strings.Contains(stderr, "nonexistent") {
		t.Errorf("missing data exit %d (%s)", code, stderr)
	}
}

// TestLiveExperimentCLI searches cells with no table by training them, and
// records every trained cell in the store.
func TestLiveExperimentCLI(t *testing.T) {
	data := "/usr/share/datasets/fashion-mnist"
	store := filepath.Join(t.TempDir(), "store")
	out, stderr, code := nbq(t, "--store", store, "-q", "experiment", "--live", "--data", data, "--dataset", "fashion-mnist",
		"--hp", "1", "--algos", "random", "--runs", "1", "--budget", "2", "--train-max", "300", "--train-c", "4", "--train-batch", "50", "--seed", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "optimum unknown") || !strings.Contains(out, "random") {
		t.Errorf("summary:\n%s", out)
	}
	st, err := index.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	catalog.For(st).View([]byte("live/nb201/"), func(k, v []byte) error { n++; return nil })
	st.Close()
	if n != 2 {
		t.Errorf("%d live results recorded, want the 2 queried cells", n)
	}
	if _, stderr, code := nbq(t, "--store", store, "experiment", "--live", "--data", data, "--dataset", "fashion-mnist", "--hp", "1", "--algos", "weaknas"); code != exitUsage {
		t.Errorf("weaknas live: exit %d (%s)", code, stderr)
	}
}
