package shared

import (
	"fmt"
	"os"
	"testing"
)

// SkipUnlessCI skips a test whose requirement (a tool, a cluster, a Python
// package) is missing, except under CI (CI=true), where .ci/run provides
// it and a missing one fails the test, so that CI cannot pass without
// running it. The message says what is missing and how to get it.
func SkipUnlessCI(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true but %s: .ci/run must provide it", msg)
	}
	tb.Skip(msg)
}
