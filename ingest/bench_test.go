package ingest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

// fullNATSDir builds a full-size tss -simple directory in a temp dir: the
// real meta file and 15,625 arch files that are the three real records
// (0, 11, 284) in turn, hard-linked (or copied) under every index.
func fullNATSDir(tb testing.TB) string {
	return natsDirCopies(tb, 15625)
}

// natsDirCopies builds a tss -simple directory with arch files 0..n-1.
func natsDirCopies(tb testing.TB, n int) string {
	tb.Helper()
	src := shared.Path(tb, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple")
	dir := filepath.Join(tb.TempDir(), "NATS-tss-v1_0-3ffb9-simple")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	link := func(from, to string) {
		if err := os.Link(from, to); err == nil {
			return
		}
		b, err := os.ReadFile(from)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	link(filepath.Join(src, natsMeta), filepath.Join(dir, natsMeta))
	real := []string{"000000", "000011", "000284"}
	for i := range n {
		link(filepath.Join(src, real[i%3]+natsExt), filepath.Join(dir, fmt.Sprintf("%06d%s", i, natsExt)))
	}
	return dir
}

// peakRSS returns VmHWM of this process in bytes; resetPeakRSS restarts it.
func peakRSS(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	tb.Skip("no VmHWM")
	return 0
}

func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// ingestFullDir ingests the full-size directory into a fresh store and
// returns the elapsed time, peak RSS and result.
func ingestFullDir(tb testing.TB, dir string, n int) (time.Duration, int64, Result) {
	st, err := index.Open(filepath.Join(tb.TempDir(), "store"))
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	resetPeakRSS()
	start := time.Now()
	res, err := ingest(context.Background(), storeAdapter{st}, index.NB201, dir, Options{lenientIdentity: true})
	el := time.Since(start)
	if err != nil {
		tb.Fatal(err)
	}
	if res.Rows != n {
		tb.Fatalf("rows %d", res.Rows)
	}
	return el, peakRSS(tb), res
}

const rssLimit = 1 << 30

// BenchmarkIngestNATSDir measures a full-size (15,625 files) directory
// ingest into a real store, reporting peak RSS (must stay under 1 GB).
func BenchmarkIngestNATSDir(b *testing.B) {
	dir := fullNATSDir(b)
	var peak int64
	for b.Loop() {
		_, p, _ := ingestFullDir(b, dir, 15625)
		peak = max(peak, p)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peakRSS-MiB")
	b.ReportMetric(15625*float64(b.N)/b.Elapsed().Seconds(), "archs/s")
	if peak >= rssLimit {
		b.Fatalf("peak RSS %d MiB >= 1 GiB", peak>>20)
	}
}

// TestIngestNATSDirFull is the same check as a test, run with NBQUERY_LONG=1.
func TestIngestNATSDirFull(t *testing.T) {
	if os.Getenv("NBQUERY_LONG") != "1" {
		t.Skip("set NBQUERY_LONG=1 (ingests 15,625 arch files, a few GB of segment)")
	}
	n := 15625
	if s := os.Getenv("NBQUERY_NATS_FILES"); s != "" { // a shorter run for quick RSS checks
		n, _ = strconv.Atoi(s)
	}
	el, peak, res := ingestFullDir(t, natsDirCopies(t, n), n)
	t.Logf("%d arch files: %v, peak RSS %d MiB, %d columns", n, el, peak>>20, res.Columns)
	if peak >= rssLimit {
		t.Fatalf("peak RSS %d MiB >= 1 GiB", peak>>20)
	}
}

// BenchmarkIngestCSV ingests cifar10_avg.csv (15,625 rows) into a fresh
// store per iteration; the goal is at most 1 s.
func BenchmarkIngestCSV(b *testing.B) {
	p := shared.Path(b, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv")
	for b.Loop() {
		b.StopTimer()
		st, err := index.Open(filepath.Join(b.TempDir(), "s"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := NB201(context.Background(), st, p, Options{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}

// BenchmarkDecodeArch is the per-file hot path: bunzip2, unpickle, convert.
func BenchmarkDecodeArch(b *testing.B) {
	data, err := os.ReadFile(shared.Path(b, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple/000011.pickle.pbz2"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		obj, err := decodePbz2(data, maxArchPickle)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := convertArch(obj, 11); err != nil {
			b.Fatal(err)
		}
	}
}
