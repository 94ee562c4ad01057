package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest"
	"github.com/nbquery/nbquery/ingest/tfrecord"
	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/server"
)

var (
	storeOnce sync.Once
	store     *index.Store
	storeErr  error
)

// testStore ingests the real cifar10-valid table (15,625 archs, means over
// seeds) and the 30 real NB101 cells once per test binary.
func testStore(t testing.TB) *index.Store {
	t.Helper()
	csv := shared.Path(t, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv")
	nb101 := shared.Path(t, "nb101_naslib_dummy/nb101_dummy.json")
	storeOnce.Do(func() {
		dir, err := tempDir()
		if err != nil {
			storeErr = err
			return
		}
		st, err := index.Open(dir)
		if err != nil {
			storeErr = err
			return
		}
		if _, err := ingest.NB201(context.Background(), st, csv, ingest.Options{}); err != nil {
			storeErr = err
			return
		}
		if _, err := tfrecord.IngestNB101Partial(context.Background(), st, nb101, nil); err != nil {
			storeErr = err
			return
		}
		store = st
	})
	if storeErr != nil {
		t.Fatal(storeErr)
	}
	return store
}

func post(t testing.TB, h http.Handler, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %s: answer is not JSON (%v): %.200s", path, body, err, rec.Body.String())
	}
	return rec.Code, m
}

func TestAnswers(t *testing.T) {
	h := server.New(testStore(t), server.Config{RandSeed: 1})
	code, m := post(t, h, "/v1/nb201/query", `{"index": 6111, "dataset": "cifar10-valid", "hp": 200}`)
	if code != 200 || m["valid-accuracy"] != 91.60666665 || m["test-accuracy"] != 91.09 {
		t.Errorf("query 6111: %d %v", code, m)
	}
	code, m = post(t, h, "/v1/nb201/top", `{"dataset": "cifar10-valid", "split": "valid", "hp": "200", "k": 1}`)
	if r := m["results"].([]any)[0].(map[string]any); code != 200 || r["index"] != 6111.0 || r["value"] != 91.60666665 {
		t.Errorf("top: %d %v", code, m)
	}
	code, m = post(t, h, "/v1/nb201/stats", `{"dataset": "cifar10-valid", "split": "valid", "hp": "200"}`)
	if code != 200 || m["count"] != 15625.0 || fmt.Sprintf("%.4f", m["mean"]) != "83.6869" {
		t.Errorf("stats: %d %v", code, m)
	}
	code, m = post(t, h, "/v1/nb101/top", `{"metric": "final_test_accuracy", "k": 1}`)
	if r := m["results"].([]any)[0].(map[string]any); code != 200 || r["hash"] != "ff9707907f5c17ef8f80cc68fff30f74" || r["value"] != 0.929687519868215 {
		t.Errorf("nb101 top: %d %v", code, m)
	}
	// GET with URL parameters answers the same.
	req := httptest.NewRequest(http.MethodGet, "/v1/nb201/index?arch=|nor_conv_3x3~0|%2B|nor_conv_3x3~0|nor_conv_3x3~1|%2B|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"index":6111`) {
		t.Errorf("GET index: %d %s", rec.Code, rec.Body)
	}
}

// TestBadRequests: every malformed, oversized or impossible request gets a
// 4xx with a JSON {"error", "kind"} body, never a 500.
func TestBadRequests(t *testing.T) {
	h := server.New(testStore(t), server.Config{MaxBodyBytes: 4096, MaxCells: 20000})
	big := `{"indices": [` + strings.Repeat("1,", 3000) + `1], "queries": []}`
	for _, test := range []struct {
		name, path, body string
		code             int
		kind, msg        string
	}{
		{"truncated JSON", "/v1/nb201/query", `{"index": 0, "dataset"`, 400, "usage", "bad JSON"},
		{"not an object", "/v1/nb201/query", `[1, 2]`, 400, "usage", "bad JSON"},
		{"empty body", "/v1/nb201/query", ``, 400, "usage", "empty request body"},
		{"trailing data", "/v1/nb201/query", `{"index": 0} {}`, 400, "usage", "data after"},
		{"unknown field", "/v1/nb201/query", `{"index": 0, "hpp": 200}`, 400, "usage", "unknown field"},
		{"wrong type", "/v1/nb201/query", `{"index": "zero"}`, 400, "usage", "bad JSON"},
		{"no hp", "/v1/nb201/query", `{"index": 0, "dataset": "cifar10"}`, 400, "usage", "hp is required"},
		{"bad hp", "/v1/nb201/query", `{"index": 0, "dataset": "cifar10", "hp": "x"}`, 400, "usage", "hp"},
		{"index and arch", "/v1/nb201/query", `{"index": 0, "arch": "x", "dataset": "cifar10", "hp": 200}`, 400, "usage", "exactly one"},
		{"bad seed", "/v1/nb201/query", `{"index": 0, "dataset": "cifar10-valid", "hp": 200, "seed": "often"}`, 400, "usage", "seed policy"},
		{"epoch past hp", "/v1/nb201/query", `{"index": 0, "dataset": "cifar10-valid", "hp": 200, "epoch": 200}`, 400, "usage", "epoch"},
		{"index out of range", "/v1/nb201/query", `{"index": 15625, "dataset": "cifar10-valid", "hp": 200}`, 404, "not_found", "outside"},
		{"negative index", "/v1/nb201/query", `{"index": -1, "dataset": "cifar10-valid", "hp": 200}`, 404, "not_found", "outside"},
		{"unknown dataset", "/v1/nb201/query", `{"index": 0, "dataset": "mnist", "hp": 200}`, 400, "usage", "unknown dataset"},
		{"unrecorded hp", "/v1/nb201/query", `{"index": 0, "dataset": "cifar100", "hp": 200}`, 404, "unavailable", ""},
		{"seed of a mean table", "/v1/nb201/query", `{"index": 0, "dataset": "cifar10-valid", "hp": 200, "seed": "random"}`, 404, "unavailable", "only means"},
		{"bad arch", "/v1/nb201/index", `{"arch": "|conv~0|"}`, 400, "usage", "malformed nb201 architecture"},
		{"unknown bench", "/v1/nb999/top", `{"dataset": "cifar10", "hp": 200}`, 400, "usage", "unknown benchmark"},
		{"unknown endpoint", "/v2/anything", `{}`, 404, "not_found", "no endpoint"},
		{"oversized body", "/v1/nb201/batch", big, 413, "too_large", "request body too large"},
		{"too many cells", "/v1/nb201/batch", `{"queries": [{"dataset": "cifar10-valid", "hp": 200}, {"dataset": "cifar10-valid", "hp": 200, "name": "b"}]}`, 413, "too_large", "cells"},
		{"no queries", "/v1/nb201/batch", `{"indices": [1]}`, 400, "usage", "queries is empty"},
		{"duplicate names", "/v1/nb201/batch", `{"indices": [1], "queries": [{"name": "a", "dataset": "cifar10-valid", "hp": 200}, {"name": "a", "dataset": "cifar10-valid", "hp": 200}]}`, 400, "usage", "distinct"},
		{"batch bad index", "/v1/nb201/batch", `{"indices": [99999], "queries": [{"dataset": "cifar10-valid", "hp": 200}]}`, 404, "not_found", "indices[0]"},
		{"huge k", "/v1/nb201/top", `{"dataset": "cifar10-valid", "hp": 200, "k": 100000000}`, 400, "usage", "k 100000000"},
		{"bad simulate dataset", "/v1/nb201/simulate", `{"index": 0, "dataset": "cifar10-valid", "hp": 200}`, 400, "usage", "invalid dataset"},
		{"nb101 bad hash", "/v1/nb101/query", `{"hash": "zz"}`, 400, "usage", "hash"},
		{"nb101 out of domain", "/v1/nb101/query", `{"matrix": [[0, 1], [0, 0]], "ops": ["input", "conv5x5"]}`, 400, "out_of_domain", ""},
		{"nb101 absent cell", "/v1/nb101/query", `{"hash": "28cfc7874f6d200472e1a9dcd8650aa0"}`, 404, "not_found", "not in the table"},
		{"nb101 bad budget", "/v1/nb101/query", `{"hash": "ff9707907f5c17ef8f80cc68fff30f74", "epochs": 7}`, 400, "out_of_domain", "epochs"},
		{"nb101 bad repeat", "/v1/nb101/query", `{"hash": "ff9707907f5c17ef8f80cc68fff30f74", "repeat": "x"}`, 400, "usage", "repeat"},
		{"nb101 unknown metric", "/v1/nb101/stats", `{"metric": "final_joy"}`, 400, "usage", "unknown NB101 metric"},
	} {
		t.Run(test.name, func(t *testing.T) {
			code, m := post(t, h, test.path, test.body)
			if code != test.code || m["kind"] != test.kind {
				t.Errorf("got %d %v, want %d %s", code, m, test.code, test.kind)
			}
			if msg, _ := m["error"].(string); !strings.Contains(msg, test.msg) {
				t.Errorf("error %q lacks %q", msg, test.msg)
			}
		})
	}
}

// TestSlowAndShutdown serves on a loopback port: a client that sends its
// body too slowly gets a 408 and the server keeps serving; cancelling the
// context shuts down gracefully, finishing the request in flight.
func TestSlowAndShutdown(t *testing.T) {
	cfg := server.Config{ReadTimeout: 300 * time.Millisecond}
	h := server.New(testStore(t), cfg)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Serve(ctx, "127.0.0.1:0", h, h.Config(), 5*time.Second, func(a net.Addr) { addrc <- a.String() })
	}()
	addr := <-addrc

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/nb201/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"index\": ")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 408")) || !bytes.Contains(resp, []byte(`"kind":"timeout"`)) {
		t.Errorf("slow body answer: %q", resp)
	}
	res, err := http.Get("http://" + addr + "/v1/health")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("health after a slow client: %v %v", res, err)
	}
	res.Body.Close()

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after shutdown: %v", err)
	}
	if _, err := http.Get("http://" + addr + "/v1/health"); err == nil {
		t.Error("still serving after shutdown")
	}
}

// TestConcurrentReaders: many clients at once get the same answers.
func TestConcurrentReaders(t *testing.T) {
	h := server.New(testStore(t), server.Config{})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				idx := (g*50 + i) % 15625
				code, m := post(t, h, "/v1/nb201/query", fmt.Sprintf(`{"index": %d, "dataset": "cifar10-valid", "hp": 200}`, idx))
				if code != 200 || m["index"] != float64(idx) {
					errs <- fmt.Sprintf("index %d: %d %v", idx, code, m)
					return
				}
				code, m = post(t, h, "/v1/nb101/query", `{"hash": "ff9707907f5c17ef8f80cc68fff30f74", "repeat": "mean"}`)
				if code != 200 || m["test_accuracy"] != 0.929687519868215 {
					errs <- fmt.Sprintf("nb101: %d %v", code, m)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// FuzzRequest: no body, path or method yields a 5xx or a non-JSON answer.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"index": 0, "dataset": "cifar10-valid", "hp": 200}`, `{"arch": "|none~0|"}`, `{"queries": [{"dataset": "cifar10-valid", "hp": "200"}]}`,
		`{"hash": "ff9707907f5c17ef8f80cc68fff30f74"}`, `{"matrix": [[0]], "ops": ["input"]}`, `{"k": -1}`, `null`, `{"epoch": -5, "hp": 1}`,
	} {
		for _, p := range []string{"query", "top", "stats", "batch", "index", "simulate", "cost"} {
			f.Add(uint8(0), p, s)
		}
	}
	h := server.New(testStore(f), server.Config{MaxCells: 1 << 16})
	f.Fuzz(func(t *testing.T, bench uint8, path, body string) {
		b := []string{"nb201", "nb101", "nats-sss"}[int(bench)%3]
		req := httptest.NewRequest(http.MethodPost, "/v1/"+b+"/"+url.PathEscape(path), strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", req.URL.Path, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %q: Content-Type %q", req.URL.Path, body, ct)
		}
	})
}
