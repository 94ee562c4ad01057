package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

// nbqIn runs the CLI in-process with standard input.
func nbqIn(t testing.TB, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runWithInput(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func allIndexes() string {
	var sb strings.Builder
	for i := range 15625 {
		fmt.Fprintf(&sb, "%d\n", i)
	}
	return sb.String()
}

// TestBatchWholeSpace answers all 15,625 NB201 cells in one call, one line
// each, in order, with the values of single queries.
func TestBatchWholeSpace(t *testing.T) {
	store := nb201StoreDir(t)
	out, stderr, code := nbqIn(t, allIndexes(), "--store", store, "query", "nb201", "--dataset", "cifar10-valid", "--hp", "200", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 15625 {
		t.Fatalf("%d lines, want 15625", len(lines))
	}
	for _, i := range []int{0, 11, 284, 6111, 15624} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatal(err)
		}
		single := queryJSON(t, store, "--index", fmt.Sprint(i), "--dataset", "cifar10-valid", "--hp", "200")
		if m["index"] != float64(i) || m["valid-accuracy"] != single["valid-accuracy"] || m["params"] != single["params"] {
			t.Errorf("line %d: %v, single query %v", i, m, single)
		}
	}
	// 6111 is the best cell on cifar10-valid valid (FACTS.md).
	if !strings.Contains(lines[6111], `"valid-accuracy": 91.60666665`) {
		t.Errorf("line 6111 = %s", lines[6111])
	}
}

// TestBatchMixed mixes argument forms, JSON objects with their own
// settings, NB101 hashes and failing requests.
func TestBatchMixed(t *testing.T) {
	store := nb201StoreDir(t)
	out, stderr, code := nbqIn(t, `{"index": 11, "dataset": "cifar100", "seed": 777}
"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
{"index": 1, "dataset": "cifar-10"}
{"arch": "|x|"}
{"foo": 1}
`, "--store", store, "--json", "query", "nb201", "--dataset", "cifar10-valid", "--hp", "200", "6111", "-", "99999")
	if code != exitUsage {
		t.Fatalf("exit %d, want 2 (the worst failure): %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("--json must print one array: %v\n%s", err, out)
	}
	if len(rows) != 7 {
		t.Fatalf("%d rows, want 7", len(rows))
	}
	want := []string{"6111", "11", "1651", "did you mean", "malformed nb201 architecture", "unknown field", "outside [0, 15625)"}
	for i, w := range want {
		got := fmt.Sprint(rows[i]["index"])
		if e, ok := rows[i]["error"]; ok {
			got = fmt.Sprint(e)
		}
		if !strings.Contains(got, w) {
			t.Errorf("row %d = %v, want %q", i, rows[i], w)
		}
	}
	if rows[1]["seed"] != "777" || rows[1]["dataset"] != "cifar100" {
		t.Errorf("per-request settings ignored: %v", rows[1])
	}
	if !strings.Contains(stderr, "4 of 7 requests failed") {
		t.Errorf("stderr = %q", stderr)
	}
	// NB101 hashes.
	out, stderr, code = nbqIn(t, "", "--store", store, "query", "nb101", "--repeat", "mean", "ff9707907f5c17ef8f80cc68fff30f74", "ff940d27cbe9ed0a639a68a9c3f87283")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"test_accuracy": 0.929687519868215`) {
		t.Fatalf("nb101 batch: exit %d %s\n%s", code, stderr, out)
	}
}

// BenchmarkBatchWholeSpace times one batch query of all 15,625 cells
// (in-process: the store open and the answers, not the process start).
func BenchmarkBatchWholeSpace(b *testing.B) {
	store := nb201StoreDir(b)
	in := allIndexes()
	for b.Loop() {
		code := runWithInput([]string{"--store", store, "query", "nb201", "--dataset", "cifar10-valid", "--hp", "200", "-"},
			strings.NewReader(in), io.Discard, io.Discard)
		if code != 0 {
			b.Fatal(code)
		}
	}
}
