package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExperimentJSONNeverFound: an algorithm that never finds the optimum
// (random search, 10 queries of 15,625) still exits 0 with one JSON
// document whose missing statistics are null, and records its settings.
func TestExperimentJSONNeverFound(t *testing.T) {
	store := nb201StoreDir(t)
	out, stderr, code := nbq(t, "--store", store, "-q", "--json", "experiment", "--dataset", "cifar10-valid", "--hp", "200",
		"--algos", "random,re,weaknas,weaknas-paper", "--runs", "3", "--budget", "10", "--re-population", "5", "--re-tournament", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var s struct {
		Config struct {
			Count string
			RE    struct{ Population, Tournament int }
			Bench struct {
				Members int `json:"ensemble"`
			} `json:"bananas"`
		} `json:"config"`
		Algos []struct {
			Algo     string
			Settings struct {
				Init, K, TopStart int
				Population        int    `json:"population"`
				Predictor         string `json:"predictor"`
			} `json:"settings"`
			Strict struct {
				Found  int
				Frac   float64
				Median struct{ Value *float64 } `json:"km_median"`
				RMean  float64                  `json:"rmean"`
				Mean   *float64                 `json:"found_mean"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if s.Config.Count != "all" || s.Config.RE.Population != 5 || s.Config.RE.Tournament != 3 || s.Config.Bench.Members != 5 {
		t.Errorf("recorded settings %+v", s.Config)
	}
	// What each algorithm ran with, defaults resolved: the new WeakNAS
	// default takes 5 per step, the authors' loop 10.
	want := map[string]int{"weaknas": 5, "weaknas-paper": 10}
	for _, a := range s.Algos {
		if k, ok := want[a.Algo]; ok && (a.Settings.K != k || a.Settings.Init != 10 || a.Settings.TopStart != 100 || a.Settings.Predictor != "fast") {
			t.Errorf("%s settings %+v, want k %d", a.Algo, a.Settings, k)
		}
		if a.Algo == "re" && a.Settings.Population != 5 {
			t.Errorf("re settings %+v", a.Settings)
		}
	}
	for _, a := range s.Algos {
		if a.Strict.Found != 0 || a.Strict.Median.Value != nil || a.Strict.Mean != nil || a.Strict.RMean != 10 {
			t.Errorf("%s: %+v, want nothing found, median and found mean null, restricted mean 10", a.Algo, a.Strict)
		}
	}
}

// TestExperimentFrom repeats an experiment from its summary.json and gets
// the same runs; other settings cannot be given with --from.
func TestExperimentFrom(t *testing.T) {
	store := nb201StoreDir(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	out, stderr, code := nbq(t, "--store", store, "-q", "experiment", "--dataset", "cifar10-valid", "--hp", "200",
		"--algos", "re,ls", "--runs", "4", "--budget", "300", "--seed", "5", "--count", "distinct",
		"--re-population", "10", "--re-tournament", "3", "--re-with-replacement", "--ls-neighbours", "6", "--out", a)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`counting rule "distinct"`, "median queries", "restricted", "rand.NewPCG(5, i)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if _, stderr, code := nbq(t, "--store", store, "-q", "experiment", "--from", filepath.Join(a, "summary.json"), "--out", b, "--workers", "1"); code != 0 {
		t.Fatalf("--from: exit %d: %s", code, stderr)
	}
	ra, _ := os.ReadFile(filepath.Join(a, "runs.csv"))
	rb, _ := os.ReadFile(filepath.Join(b, "runs.csv"))
	if len(ra) == 0 || string(ra) != string(rb) {
		t.Errorf("runs differ after --from:\n%s\n%s", ra, rb)
	}
	if _, stderr, code := nbq(t, "--store", store, "experiment", "--from", filepath.Join(a, "summary.json"), "--runs", "3"); code != exitUsage || !strings.Contains(stderr, "--runs") {
		t.Errorf("--from with --runs: exit %d: %s", code, stderr)
	}
	if _, stderr, code := nbq(t, "--store", store, "experiment", "--from", filepath.Join(a, "runs.csv")); code != exitUsage {
		t.Errorf("--from a non-summary: exit %d: %s", code, stderr)
	}
	if _, stderr, code := nbq(t, "--store", store, "experiment", "--dataset", "cifar10-valid", "--hp", "200", "--count", "some"); code != exitUsage {
		t.Errorf("--count some: exit %d: %s", code, stderr)
	}
}
