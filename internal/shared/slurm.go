package shared

import (
	"os"
	"testing"
)

// RequireSlurm skips a test that needs the single-node Slurm cluster of
// .ci/slurm-up unless NBQUERY_SLURM is set; under CI (CI=true) a missing
// cluster fails the test instead, so that CI cannot pass without running it.
func RequireSlurm(tb testing.TB) {
	tb.Helper()
	if os.Getenv("NBQUERY_SLURM") != "" {
		return
	}
	SkipUnlessCI(tb, "no Slurm cluster: NBQUERY_SLURM is unset (start one with .ci/slurm-up as root and set NBQUERY_SLURM=1)")
}
