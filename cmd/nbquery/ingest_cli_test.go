package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
)

// TestIngestBadInput: every bad source exits non-zero with one line naming
// the file, and leaves the store byte-for-byte as it was.
func TestIngestBadInput(t *testing.T) {
	tmp := t.TempDir()
	store := filepath.Join(tmp, "store")
	csvPath := shared.Path(t, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv")
	if _, stderr, code := nbq(t, "--store", store, "-q", "ingest", "nb201", csvPath); code != 0 {
		t.Fatalf("ingest: %s", stderr)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	meta, err := os.ReadFile(shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple/meta.pickle.pbz2"))
	if err != nil {
		t.Fatal(err)
	}
	csvBytes, _ := os.ReadFile(csvPath)
	lines := strings.SplitN(string(csvBytes), "\n", 3)
	badArch := strings.Replace(lines[1], "avg_pool_3x3~0", "avg_pool_5x5~0", 1)
	cases := []struct {
		name, bench, path string
		extra             []string
	}{
		{"truncated pbz2", "nb201", write("meta.pickle.pbz2", meta[:len(meta)/2]), nil},
		{"not a pickle", "nb201", write("junk.pth", []byte("this is not a torch file at all\n")), nil},
		{"unknown arch in csv", "nb201", write("bad.csv", []byte(lines[0]+"\n"+badArch+"\n")), nil},
		{"mapping onto unknown dataset", "nb201", csvPath, []string{"--mapping", write("m.json",
			[]byte(`{"index":"index","arch":"arch_str","hp":"200","columns":{"valid-accuracy":{"dataset":"mnist","set":"x-valid","metric":"accuracy","epoch":199}}}`))}},
		{"missing mapped column", "nb201", csvPath, []string{"--mapping", write("m2.json",
			[]byte(`{"index":"index","arch":"arch_str","hp":"200","columns":{"no-such-column":{"dataset":"cifar10","set":"ori-test","metric":"accuracy","epoch":199}}}`))}},
		{"garbage tfrecord", "nb101", write("x.tfrecord", []byte("0123456789abcdef0123456789")), nil},
	}
	before := shared.TreeDigest(t, store)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--store", store, "-q", "ingest", c.bench}, c.extra...)
			_, stderr, code := nbq(t, append(args, c.path)...)
			if code == 0 {
				t.Fatalf("exit 0 for %s", c.name)
			}
			msg := strings.TrimSpace(stderr)
			t.Log(msg)
			if strings.Contains(msg, "\n") || !strings.Contains(msg, filepath.Base(c.path)) {
				t.Errorf("want one line naming %s, got %q", filepath.Base(c.path), msg)
			}
			if d := shared.DiffTrees(before, shared.TreeDigest(t, store)); d != nil {
				t.Errorf("store changed: %v", d)
			}
		})
	}
}
