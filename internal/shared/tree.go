package shared

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TreeDigest returns the SHA-256 of every file under dir by relative path
// (directories map to "dir"), for tests that a failed write leaves a store
// byte-for-byte unchanged. The store's LOCK and READERS files are left
// out: taking a lock is not a change. A missing dir digests to an empty map.
func TreeDigest(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case e.IsDir():
			out[rel+"/"] = "dir"
		case e.Name() != "LOCK" && e.Name() != "READERS":
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			out[rel] = hex.EncodeToString(s[:])
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// DiffTrees lists the paths whose digests differ between two TreeDigests,
// sorted; nil means the trees are identical.
func DiffTrees(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
