package shared

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LightTags returns the build tags of the light build (bin/nbquery, the
// query path) as the Makefile's LIGHT_TAGS line gives them, joined by
// commas for go build -tags / go list -tags.
func LightTags(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(ModuleRoot(), "Makefile"))
	if err != nil {
		tb.Fatalf("shared: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "LIGHT_TAGS"); ok {
			if _, v, ok := strings.Cut(rest, "="); ok {
				if tags := strings.Fields(v); len(tags) > 0 {
					return strings.Join(tags, ",")
				}
			}
		}
	}
	tb.Fatal("shared: the Makefile has no LIGHT_TAGS line")
	return ""
}
