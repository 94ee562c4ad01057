package index_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest"
	"github.com/nbquery/nbquery/internal/shared"
)

var (
	benchOnce  sync.Once
	benchStore string
)

// realStore ingests the shared NB201 tables once into a temp store.
func realStore(tb testing.TB) string {
	tb.Helper()
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nbquery-index-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		benchStore = filepath.Join(dir, "store")
		st, err := index.Open(benchStore)
		if err != nil {
			tb.Fatal(err)
		}
		defer st.Close()
		for _, p := range []string{
			"nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple",
			"nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv",
			"nb201_minibench/nb201_hp12_accs.csv",
			"nb201_help_latency",
		} {
			if _, err := ingest.NB201(context.Background(), st, shared.Path(tb, p), ingest.Options{}); err != nil {
				tb.Fatal(err)
			}
		}
	})
	return benchStore
}

var validQ = index.Query{Dataset: "cifar10-valid", HP: "200", Split: "valid", Epoch: -1}

// BenchmarkOpen measures opening the store and answering one query.
func BenchmarkOpen(b *testing.B) {
	dir := realStore(b)
	b.ReportAllocs()
	for b.Loop() {
		st, err := index.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		bn, err := st.Bench(index.NB201)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bn.Value(6111, validQ); err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
}

// BenchmarkPointQuery measures Value for random rows (mean over seeds).
func BenchmarkPointQuery(b *testing.B) {
	for _, c := range []struct {
		name string
		q    index.Query
	}{
		{"csv-valid-mean", validQ},
		{"nats-3seeds-mean", index.Query{Dataset: "cifar100", HP: "200", Split: "test", Epoch: -1}},
		{"hw-latency", index.Query{Metric: "hw:pixel3"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			st, err := index.Open(realStore(b))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			bn, _ := st.Bench(index.NB201)
			r := rand.New(rand.NewPCG(1, 2))
			rows := make([]int, 1024)
			for i := range rows {
				rows[i] = r.IntN(bn.Len())
			}
			if c.name == "nats-3seeds-mean" {
				for i := range rows {
					rows[i] = []int{0, 11, 284}[i%3]
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := bn.Value(rows[i&1023], c.q); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestPointQueryLatency records the p50/p99 of single point queries (with
// the timer around each call) and the memory after open.
func TestPointQueryLatency(t *testing.T) {
	st, err := index.Open(realStore(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	bn, _ := st.Bench(index.NB201)
	r := rand.New(rand.NewPCG(3, 4))
	const n = 100000
	lat := make([]time.Duration, n)
	for i := range lat {
		row := r.IntN(bn.Len())
		t0 := time.Now()
		if _, err := bn.Value(row, validQ); err != nil {
			t.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("point query p50 %v p90 %v p99 %v; Go heap in use after open %.1f MB", lat[n/2], lat[n*9/10], lat[n*99/100], float64(ms.HeapInuse)/1e6)
	if lat[n/2] > 5*time.Microsecond {
		t.Errorf("point query p50 %v: far over the 300 ns goal", lat[n/2])
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore != "" {
		os.RemoveAll(filepath.Dir(benchStore))
	}
	os.Exit(code)
}
