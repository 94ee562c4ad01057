package shared

import (
	"os"
	"path/filepath"
	"testing"
)

// DataDir returns the shared data directory: $NBQUERY_DATA if set, else
// ../shared/data relative to the module root. It returns "" if neither exists.
func DataDir() string {
	if d := os.Getenv("NBQUERY_DATA"); d != "" {
		return d
	}
	root := ModuleRoot()
	if root == "" {
		return ""
	}
	d := filepath.Join(root, "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		return ""
	}
	return d
}

// ModuleRoot returns the directory holding go.mod, searching upwards from
// the working directory, or "".
func ModuleRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Path returns the path of rel inside the shared data directory and fails
// the test if the file is missing: tests on real data must not pass vacuously.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	d := DataDir()
	if d == "" {
		tb.Fatalf("shared data directory not found (set NBQUERY_DATA or place it at ../shared/data)")
	}
	p := filepath.Join(d, rel)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("shared data: %v", err)
	}
	return p
}
