package shared

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// PeakHeap runs fn and returns its wall time and the peak of the Go heap's
// object bytes above what was live before it (sampled every 100 us, after
// a collection), for tests that bound the memory of a parser or builder.
// The figure includes garbage not yet collected, so bounds need room for
// the collector's slack.
func PeakHeap(fn func()) (time.Duration, int64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() int64 { metrics.Read(s); return int64(s[0].Value.Uint64()) }
	base := read()
	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	})
	start := time.Now()
	fn()
	d := time.Since(start)
	close(stop)
	wg.Wait()
	return d, max(0, peak.Load()-base)
}
