package experiment_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest"
	"github.com/nbquery/nbquery/internal/shared"
)

// The real cifar10-valid hp=200 table and the HELP device latencies,
// ingested once per test binary into a temporary store.
var (
	storeOnce sync.Once
	storeDir  string
	storeErr  error
)

func testStore(t testing.TB) *index.Store {
	t.Helper()
	paths := []string{
		shared.Path(t, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv"),
		shared.Path(t, "nb201_help_latency/nb201_latency_help.csv"),
	}
	storeOnce.Do(func() {
		storeDir, storeErr = os.MkdirTemp("", "nbquery-experiment-test-")
		if storeErr != nil {
			return
		}
		st, err := index.Open(storeDir)
		if err != nil {
			storeErr = err
			return
		}
		defer st.Close()
		for _, p := range paths {
			if _, err := ingest.NB201(context.Background(), st, p, ingest.Options{}); err != nil {
				storeErr = err
				return
			}
		}
	})
	if storeErr != nil {
		t.Fatal(storeErr)
	}
	st, err := index.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestMain(m *testing.M) {
	code := m.Run()
	if storeDir != "" {
		os.RemoveAll(storeDir)
	}
	if nb101Dir != "" {
		os.RemoveAll(nb101Dir)
	}
	os.Exit(code)
}
