package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of testdata/cli/*.txt")

// TestScripts runs the data-driven CLI scripts in testdata/cli: each block is
// a "$ args" line followed by the expected stdout, any "nbquery: note:" lines
// of stderr (and, on failure, "exit N"
// and the stderr line). The store holds the shared NB201 data.
func TestScripts(t *testing.T) {
	store := nb201StoreDir(t)
	files, err := filepath.Glob(filepath.Join(shared.ModuleRoot(), "testdata", "cli", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata/cli: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			blocks := strings.Split("\n"+string(raw), "\n$ ")
			out.WriteString(strings.TrimRight(blocks[0][1:], "\n") + "\n")
			for _, blk := range blocks[1:] {
				cmdline, want, _ := strings.Cut(blk, "\n")
				args := append([]string{"--store", store}, strings.Fields(cmdline)...)
				stdout, stderr, code := nbq(t, args...)
				got := stdout
				if code == 0 {
					// Notes (rows left out, values computed) are part of the answer.
					for _, l := range strings.Split(stderr, "\n") {
						if strings.HasPrefix(l, "nbquery: note: ") {
							got += l + "\n"
						}
					}
				}
				if code != 0 {
					stderr = strings.ReplaceAll(stderr, store, "$STORE")
					if d := shared.DataDir(); d != "" {
						abs, _ := filepath.Abs(d)
						stderr = strings.ReplaceAll(strings.ReplaceAll(stderr, abs, "$DATA"), d, "$DATA")
					}
					got += fmt.Sprintf("exit %d\n%s", code, stderr)
				}
				got = strings.TrimRight(got, "\n")
				want = strings.TrimRight(want, "\n")
				fmt.Fprintf(&out, "$ %s\n%s\n", cmdline, got)
				if !*update && got != want {
					t.Errorf("$ %s\n--- got\n%s--- want\n%s", cmdline, got, want)
				}
			}
			if *update {
				if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
