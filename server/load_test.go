package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nbquery/nbquery/server"
)

// TestLoad drives the server on a loopback port with concurrent clients in
// three phases (single get_more_info queries, whole-space batches as JSON,
// the same batches as Arrow streams) plus one hostile client sending
// malformed and oversized requests, and requires zero errors, 4xx for every
// hostile request and a bounded RSS. Short in CI (4 clients, 1 s a phase);
// NBQUERY_LONG=1 runs 8 clients for 30 s a phase and logs the figures of
// BENCHMARKS.md (go test -v -run TestLoad ./server).
func TestLoad(t *testing.T) {
	clients, phase := 4, time.Second
	if os.Getenv("NBQUERY_LONG") == "1" {
		clients, phase = 8, 30*time.Second
	} else if testing.Short() {
		t.Skip("short")
	}
	h := server.New(testStore(t), server.Config{RandSeed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Serve(ctx, "127.0.0.1:0", h, h.Config(), 5*time.Second, func(a net.Addr) { addrc <- a.String() })
	}()
	base := "http://" + <-addrc
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients + 1}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()

	type request struct {
		path, body, accept string
		status             int
	}
	single := func(r *rand.Rand) request {
		return request{"/v1/nb201/query", fmt.Sprintf(`{"index": %d, "dataset": "cifar10-valid", "hp": "200"}`, r.IntN(15625)), "", 200}
	}
	batchBody := `{"queries": [{"name": "v", "dataset": "cifar10-valid", "split": "valid", "hp": "200"}]}`
	phases := []struct {
		name string
		next func(*rand.Rand) request
	}{
		{"single query (JSON)", single},
		{"batch 15,625 x 1 (JSON)", func(*rand.Rand) request { return request{"/v1/nb201/batch", batchBody, "", 200} }},
		{"batch 15,625 x 1 (Arrow)", func(*rand.Rand) request { return request{"/v1/nb201/batch", batchBody, server.ArrowStream, 200} }},
	}
	hostile := []request{
		{"/v1/nb201/query", `{"index": 0, "dataset"`, "", 400},
		{"/v1/nb201/query", `{"index": 0, "dataset": "mnist", "hp": 200}`, "", 400},
		{"/v1/nb201/batch", `{"indices": [` + strings.Repeat("1,", 600000) + `1]}`, "", 413},
		{"/v1/nb201/query", `{"index": 99999, "dataset": "cifar10-valid", "hp": 200}`, "", 404},
	}
	do := func(q request) (time.Duration, error) {
		req, _ := http.NewRequest(http.MethodPost, base+q.path, strings.NewReader(q.body))
		if q.accept != "" {
			req.Header.Set("Accept", q.accept)
		}
		t0 := time.Now()
		res, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		d := time.Since(t0)
		if err != nil {
			return d, err
		}
		if res.StatusCode != q.status || n == 0 {
			return d, fmt.Errorf("%s: status %d (%d bytes), want %d", q.path, res.StatusCode, n, q.status)
		}
		return d, nil
	}
	rss0 := rssKiB(t)
	for pi, ph := range phases {
		var mu sync.Mutex
		var lat []time.Duration
		var errs []error
		hostileN := 0
		stop := time.Now().Add(phase)
		var wg sync.WaitGroup
		for c := range clients + 1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(pi), uint64(c)))
				var mine []time.Duration
				var myErrs []error
				n := 0
				for time.Now().Before(stop) {
					if c == clients { // the hostile client, throttled
						if _, err := do(hostile[n%len(hostile)]); err != nil {
							myErrs = append(myErrs, fmt.Errorf("hostile: %w", err))
						}
						n++
						time.Sleep(10 * time.Millisecond)
						continue
					}
					d, err := do(ph.next(r))
					if err != nil {
						myErrs = append(myErrs, err)
						continue
					}
					mine = append(mine, d)
				}
				mu.Lock()
				lat = append(lat, mine...)
				errs = append(errs, myErrs...)
				hostileN += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Errorf("%s: %d errors, first: %v", ph.name, len(errs), errs[0])
		}
		if len(lat) == 0 {
			t.Fatalf("%s: no request completed", ph.name)
		}
		slices.Sort(lat)
		pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		t.Logf("%-26s %d clients %v: %7d requests, %8.0f req/s, p50 %v, p99 %v, %d hostile requests answered 4xx, RSS %d MiB",
			ph.name, clients, phase, len(lat), float64(len(lat))/phase.Seconds(), pct(0.50).Round(time.Microsecond),
			pct(0.99).Round(time.Microsecond), hostileN, rssKiB(t)>>10)
	}
	// Still serving, and memory did not run away.
	if _, err := do(single(rand.New(rand.NewPCG(9, 9)))); err != nil {
		t.Errorf("after the load: %v", err)
	}
	if rss1 := rssKiB(t); rss1-rss0 > 256<<10 {
		t.Errorf("RSS grew from %d to %d MiB", rss0>>10, rss1>>10)
	}
}

// rssKiB returns the resident set size of this process (Linux), or 0.
func rssKiB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
