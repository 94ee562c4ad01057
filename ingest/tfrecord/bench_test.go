package tfrecord

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb101"
)

var (
	synthOnce sync.Once
	synthPath string
	synthErr  error
)

// synthFile writes a SYNTHETIC nasbench_only108-sized file: every one of the
// 423,624 enumerated cells x 3 repeats at 108 epochs = 1,270,872 records,
// with made-up metrics from a seeded generator. It lives in a temp dir for
// the benchmark run only and is never committed.
func synthFile(b *testing.B) string {
	synthOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nbquery-synthetic-nb101-")
		if err != nil {
			synthErr = err
			return
		}
		synthPath = filepath.Join(dir, "SYNTHETIC_nasbench_only108.tfrecord")
		synthErr = writeSynthetic(synthPath, rand.New(rand.NewPCG(1, 2)), []int{108}, 0)
	})
	if synthErr != nil {
		b.Fatal(synthErr)
	}
	return synthPath
}

// writeSynthetic writes the synthetic file described at synthFile, of the
// first ncells cells of the space in a random order (0: every cell, in
// enumeration order).
func writeSynthetic(path string, r *rand.Rand, budgets []int, ncells int) error {
	cells, err := nb101.All()
	if err != nil {
		return err
	}
	if ncells > 0 {
		cells = slices.Clone(cells[:ncells])
		r.Shuffle(len(cells), func(i, j int) { cells[i], cells[j] = cells[j], cells[i] })
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := NewWriter(bw)
	var payload []byte
	row := Row{Metrics: Metrics{Evals: make([]Eval, 3)}}
	for _, c := range cells {
		row.Hash, row.Spec = c.Hash, c.Spec
		row.Metrics.Params = int32(r.IntN(50_000_000))
		for _, e := range budgets {
			row.Epochs = e
			for range 3 {
				t := float64(e) * (5 + r.Float64()*20)
				row.Metrics.TotalTime = t * 1.3
				row.Metrics.Evals[0] = Eval{0, 0, r.Float64() * 0.2, r.Float64() * 0.2, r.Float64() * 0.2, ""}
				row.Metrics.Evals[1] = Eval{float64(e / 2), t / 2, r.Float64(), r.Float64(), r.Float64(), ""}
				row.Metrics.Evals[2] = Eval{float64(e), t, r.Float64(), r.Float64(), r.Float64(), ""}
				payload = AppendRow(payload[:0], &row)
				if err := w.Write(payload); err != nil {
					f.Close()
					return err
				}
			}
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BenchmarkReadRowsFullSynthetic: framing + CRCs + JSON + base64 + protobuf
// over the full-size synthetic file, one goroutine.
func BenchmarkReadRowsFullSynthetic(b *testing.B) {
	path := synthFile(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		rr := NewRowReader(f)
		var row Row
		n := 0
		for {
			if err := rr.Next(&row); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			n++
		}
		f.Close()
		cpu += cpuTime() - c0
		if n != 3*nb101.NumCells {
			b.Fatalf("%d records", n)
		}
	}
	// CPU-time throughput: independent of other processes on the machine.
	b.ReportMetric(float64(st.Size())/1e6/(cpu.Seconds()/float64(b.N)), "cpu-MB/s")
}

func BenchmarkParseRow(b *testing.B) {
	rows := dummyRows(b)
	payload := AppendRow(nil, &rows[0])
	b.SetBytes(int64(len(payload)))
	var p Parser
	var row Row
	for b.Loop() {
		if err := p.Parse(payload, &row); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIngestNB101FullSynthetic: the whole ingest (read, verify, hash
// check, sort, Arrow write, commit) of the full-size synthetic file.
// It also reports the process CPU time per ingest, which does not depend on
// the load other processes put on a shared machine.
func BenchmarkIngestNB101FullSynthetic(b *testing.B) {
	path := synthFile(b)
	st0, _ := os.Stat(path)
	for _, skip := range []bool{false, true} {
		name := "hash-check"
		if skip {
			name = "no-hash-check"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(st0.Size())
			var cpu time.Duration
			for b.Loop() {
				st, err := index.Open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				c0 := cpuTime()
				res, err := IngestNB101With(context.Background(), st, path, Options{SkipHashCheck: skip})
				cpu += cpuTime() - c0
				if err != nil || res.Cells != nb101.NumCells {
					b.Fatal(res, err)
				}
				st.Close()
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
