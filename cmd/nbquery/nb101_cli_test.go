package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
)

// TestNB101AllSources ingests every NB101 source in ../shared/data that has
// hashes (the 30 NASLib models, the best-cells file, the 1k and 30,001-cell
// tiga slices, the NASLib 500-query log) into one store; one merged table
// answers the global optimum, the slice's best cell and the test-vector
// cell, each with what its sources record.
func TestNB101AllSources(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	for _, p := range []string{
		"nb101_naslib_dummy/nb101_dummy.json",
		"nb101_slices/nb101_best_cells_by_mean_test.json",
		"nb101_slices/tiga1231_nasbench-vis_data-1k.json",
		"nb101_slices/nb101_tiga_30001_val_4-12-36-108.csv",
		"nb101_slices/naslib_zc_nasbench101_500_decoded.csv",
	} {
		if _, stderr, code := nbq(t, "--store", store, "-q", "ingest", "nb101", shared.Path(t, p)); code != 0 {
			t.Fatalf("ingest %s: exit %d: %s", p, code, stderr)
		}
	}
	q := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, code := nbq(t, append([]string{"--store", store, "--json", "query", "nb101"}, args...)...)
		if code != 0 {
			t.Fatalf("query %v: exit %d: %s", args, code, stderr)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// The global optimum (FACTS.md): mean test 0.943175752957662, 32,426,634 params.
	opt := q("--hash", "02e5a0247bbdcf2860b7e96f74961594", "--repeat", "mean")
	if opt["test_accuracy"] != 0.943175752957662 || opt["trainable_parameters"] != 32426634.0 || len(opt["missing"].([]any)) != 0 {
		t.Errorf("global optimum = %v", opt)
	}
	// The slice's best cell by validation accuracy at 108 epochs (0.94912,
	// nb101_slices/PROVENANCE.md), which has no test accuracy: answered,
	// with the missing metrics named.
	best := q("--hash", "096f593e0f12d65f6220bf8565b764a9", "--repeat", "0")
	if best["validation_accuracy"] != 0.949118614 || best["test_accuracy"] != nil ||
		!strings.Contains(strings.Join(anyStrings(best["missing"]), ","), "final_test_accuracy") {
		t.Errorf("slice best cell = %v", best)
	}
	// The test-vector cell (nb101_testvectors: 8,555,530 params) at 4 epochs,
	// from the tiga slice (val@4 0.360476762, one repeat).
	tv := q("--hash", "00005c142e6f48ac74fdcf73e3439874", "--epochs", "4", "--repeat", "0")
	if tv["trainable_parameters"] != 8555530.0 || tv["validation_accuracy"] != 0.360476762 {
		t.Errorf("test-vector cell = %v", tv)
	}
	// The NASLib log lists 043721b9... 55 times with 3 distinct repeats.
	nl := q("--hash", "043721b9c7fe8c5fad811d47d83132ec", "--repeat", "2")
	if nl["validation_accuracy"] == nil {
		t.Errorf("NASLib cell, repeat 2 = %v", nl)
	}
	// Whole-table commands see the merged table: the slice's best cell
	// ranks first by validation accuracy; stats count every cell.
	out, stderr, code := nbq(t, "--store", store, "top", "nb101", "--split", "valid", "--seed", "0", "-k", "1")
	if code != 0 || !strings.Contains(out, "096f593e0f12d65f6220bf8565b764a9") {
		t.Errorf("top valid: exit %d %s\n%s", code, stderr, out)
	}
	out, stderr, code = nbq(t, "--store", store, "top", "nb101", "--split", "test", "-k", "1")
	if code != 0 || !strings.Contains(out, "02e5a0247bbdcf2860b7e96f74961594") || !strings.Contains(stderr, "were left out") {
		t.Errorf("top test: exit %d %s\n%s", code, stderr, out)
	}
	var st map[string]any
	out, _, _ = nbq(t, "--store", store, "--json", "stats", "nb101", "--split", "valid")
	if err := json.Unmarshal([]byte(out), &st); err != nil || st["count"].(float64) < 30001 {
		t.Errorf("stats valid = %v (%v)", st, err)
	}
}

func anyStrings(v any) []string {
	var out []string
	if xs, ok := v.([]any); ok {
		for _, x := range xs {
			out = append(out, x.(string))
		}
	}
	return out
}
