package nb101

import (
	"context"
	"syscall"
	"testing"
	"time"
)

func BenchmarkHash(b *testing.B) {
	s := mustSpec(b, readmeMatrix, readmeOps)
	var h Hash
	for b.Loop() {
		h = s.Hash()
	}
	if h.String() != "28cfc7874f6d200472e1a9dcd8650aa0" {
		b.Fatal(h)
	}
}

func BenchmarkNewSpecHash(b *testing.B) {
	for b.Loop() {
		s, err := NewSpec(readmeMatrix, readmeOps)
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Hash()
	}
}

// BenchmarkEnumerate also reports the process CPU time per enumeration,
// which does not depend on the load of a shared machine.
func BenchmarkEnumerate(b *testing.B) {
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		cells, err := enumerate(context.Background())
		cpu += cpuTime() - c0
		if err != nil || len(cells) != NumCells {
			b.Fatal(len(cells), err)
		}
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
