package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCSVMapping runs the worked example of ingest --help and the mapping
// mistakes: each error names --mapping or the valid keys and values.
func TestCSVMapping(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csvPath := write("my_accs.csv", "idx,arch,c100_val,c100_test\n"+
		"0,|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|,51.5,52.25\n"+
		"1,|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,70.5,70.25\n")
	good := write("my_mapping.json", `{"index": "idx", "arch": "arch", "hp": "200",
 "columns": {"c100_val":  {"dataset": "cifar100", "set": "valid", "metric": "accuracy"},
             "c100_test": {"dataset": "cifar100", "set": "test",  "metric": "accuracy"}}}`)
	store := filepath.Join(dir, "store")
	if _, stderr, code := nbq(t, "--store", store, "-q", "ingest", "nb201", "--mapping", good, csvPath); code != 0 {
		t.Fatalf("worked example: exit %d: %s", code, stderr)
	}
	m := queryJSON(t, store, "--index", "1", "--dataset", "cifar100", "--hp", "200")
	if m["valid-accuracy"] != 70.5 || m["test-accuracy"] != 70.25 {
		t.Fatalf("query after the mapping = %v", m)
	}
	for _, test := range []struct {
		name, mapping, want string
	}{
		{"unknown key", `{"index": "idx", "colums": {}}`, `unknown field "colums" (valid keys: "index", "arch", "hp", "columns"`},
		{"no index or arch", `{"columns": {"c100_val": {"dataset": "cifar100", "set": "valid", "metric": "accuracy"}}}`, `needs "index" or "arch"`},
		{"no hp", `{"index": "idx", "columns": {"c100_val": {"dataset": "cifar100", "set": "valid", "metric": "accuracy"}}}`, `no hp: set "hp" in the mapping or the column (valid for nb201: 12, 200)`},
		{"bad set", `{"index": "idx", "hp": "200", "columns": {"c100_val": {"dataset": "cifar100", "set": "validation", "metric": "accuracy"}}}`, `no set "validation" (valid: train, valid, test, valtest`},
		{"bad dataset", `{"index": "idx", "hp": "200", "columns": {"c100_val": {"dataset": "cifar-100", "set": "valid", "metric": "accuracy"}}}`, `unknown dataset "cifar-100" (valid: cifar10-valid`},
		{"bad metric", `{"index": "idx", "hp": "200", "columns": {"c100_val": {"dataset": "cifar100", "set": "valid", "metric": "acc"}}}`, `unknown metric "acc" (valid: accuracy`},
	} {
		t.Run(test.name, func(t *testing.T) {
			p := write("m.json", test.mapping)
			_, stderr, code := nbq(t, "--store", filepath.Join(dir, "s2"), "-q", "ingest", "nb201", "--mapping", p, csvPath)
			if code == 0 || !strings.Contains(stderr, test.want) {
				t.Errorf("exit %d, stderr %q; want it to contain %q", code, stderr, test.want)
			}
		})
	}
	// A CSV no built-in layout matches: the error names --mapping.
	other := write("other.csv", "a,b\n1,2\n")
	_, stderr, code := nbq(t, "--store", filepath.Join(dir, "s3"), "-q", "ingest", "nb201", other)
	if code == 0 || !strings.Contains(stderr, "pass --mapping FILE") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	// An arch-only mapping in a fresh store says how to fix it.
	archOnly := write("arch.json", `{"arch": "arch", "hp": "200", "columns": {"c100_val": {"dataset": "cifar100", "set": "valid", "metric": "accuracy"}}}`)
	_, stderr, code = nbq(t, "--store", filepath.Join(dir, "s4"), "-q", "ingest", "nb201", "--mapping", archOnly, csvPath)
	if code == 0 || !strings.Contains(stderr, `map an "index" column, or first ingest a source that carries the list`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
