package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestCommandName(t *testing.T) {
	for _, test := range []struct {
		args string
		want string
	}{
		{"query nb201 --index 1", "query"},
		{"--store S query nb201", "query"},
		{"--store=S --json -q --rand-seed 7 query", "query"},
		{"--store query query", "query"}, // the store is named query
		{"--jsonl --quiet --rand-seed=3 top nb201", "top"},
		{"--version", ""},
		{"--json=true query", ""},
		{"-qv query", ""},
		{"--store", ""},
		{"", ""},
		{"-- query", ""},
		{"help query", "help"},
	} {
		if got := commandName(strings.Fields(test.args)); got != test.want {
			t.Errorf("commandName(%q) = %q, want %q", test.args, got, test.want)
		}
	}
}

// TestQueryTree: a query run with the root and the query command alone
// (newRootCommandFor) answers, fails and helps exactly as with every
// command built.
func TestQueryTree(t *testing.T) {
	store := nb201StoreDir(t)
	full := func(o *globalOptions, _ []string) *cobra.Command { return newRootCommand(o) }
	for _, args := range []string{
		"query nb201 --index 6111 --dataset cifar10-valid --hp 200",
		"--json query nb201 --index 6111 --dataset cifar10 --hp 200 --devices",
		"--jsonl query nb201 --dataset cifar10-valid --hp 200 1 2 3",
		"query nb201 --index 6111 --dataset cifar10-valid --hp 200 --json --jsonl",
		"query nb201 --index 6111 --dataset cifar10-valid",
		"query nb201 --index 6111 --dataset cifar10-valid --hp 200 --bogus",
		"query nb201 --index x",
		"query",
		"query --help",
		"query nb201 -h",
		"query nb101 --hash 00000000000000000000000000000000",
		"query nb201 --arch |none~0|+|none~0|none~1|+|none~0|none~1|none~2| --dataset cifar100 --hp 12 --seed 777",
	} {
		argv := append([]string{"--store", store}, strings.Fields(args)...)
		var out1, err1, out2, err2 bytes.Buffer
		c1 := runWithInput(argv, strings.NewReader(""), &out1, &err1)
		c2 := runTree(argv, strings.NewReader(""), &out2, &err2, full)
		if c1 != c2 || out1.String() != out2.String() || err1.String() != err2.String() {
			t.Errorf("%s: query tree: exit %d\n%s%s\nwhole tree: exit %d\n%s%s", args, c1, out1.String(), err1.String(), c2, out2.String(), err2.String())
		}
		if out1.Len()+err1.Len() == 0 {
			t.Errorf("%s: no output", args)
		}
	}
}
