package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestOneDocument: --json is one JSON document for every many-row command
// (an array), --jsonl one object per line, and the two together a usage error.
func TestOneDocument(t *testing.T) {
	store := nb201StoreDir(t)
	for _, args := range [][]string{
		{"predictors", "list"},
		{"info"},
		{"top", "nb201", "--dataset", "cifar10-valid", "--hp", "200", "-k", "3"},
		{"top", "nb101", "--split", "valid", "-k", "3"},
		{"query", "nb201", "--dataset", "cifar10-valid", "--hp", "200", "0", "1"},
	} {
		out, stderr, code := nbq(t, append([]string{"--store", store, "--json"}, args...)...)
		var rows []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) == 0 {
			t.Errorf("%v --json: exit %d %s; want one array, got %q", args, code, stderr, out)
		}
		out, _, code = nbq(t, append([]string{"--store", store, "--jsonl"}, args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, l := range lines {
			var m map[string]any
			if code != 0 || json.Unmarshal([]byte(l), &m) != nil {
				t.Errorf("%v --jsonl: line %q is not an object", args, l)
			}
		}
		if len(lines) != len(rows) {
			t.Errorf("%v: %d lines under --jsonl, %d rows under --json", args, len(lines), len(rows))
		}
	}
	// Text prints an absent value as JSON does.
	out, _, _ := nbq(t, "--store", store, "query", "nb201", "--index", "6111", "--dataset", "ImageNet16-120", "--hp", "12")
	if !strings.Contains(out, "valid-loss      null") || strings.Contains(out, "None") {
		t.Errorf("text nulls: %s", out)
	}
}

// TestWriteKV: writeKV's one write is what a Fprintf("%-*s  %s\n") a line
// wrote, non-ASCII keys (padded by runes) included.
func TestWriteKV(t *testing.T) {
	for _, test := range []struct{ keys, vals []string }{
		{[]string{"index", "arch", "latency:pixel3 (ms)"}, []string{"6111", "|none~0|", "null"}},
		{[]string{"é", "ab", "latency:gpu€ (ms)"}, []string{"1", "", "2.5"}},
		{[]string{"x"}, []string{"y"}},
		{nil, nil},
	} {
		width := 0
		for _, k := range test.keys {
			width = max(width, len(k))
		}
		var want strings.Builder
		for i, k := range test.keys {
			fmt.Fprintf(&want, "%-*s  %s\n", width, k, test.vals[i])
		}
		var got countingWriter
		writeKV(&got, test.keys, test.vals)
		if got.String() != want.String() || got.writes > 1 {
			t.Errorf("writeKV(%q) = %q in %d writes, want %q in one", test.keys, got.String(), got.writes, want.String())
		}
	}
}

type countingWriter struct {
	strings.Builder
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Builder.Write(p)
}
