package main

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeCommand runs `nbquery serve --addr 127.0.0.1:0` in process,
// queries it, then sends SIGTERM: the command returns 0 after a graceful
// shutdown and the port is closed.
func TestServeCommand(t *testing.T) {
	store := nb201StoreDir(t)
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		code <- run([]string{"--store", store, "serve", "--addr", "127.0.0.1:0", "--grace", "5s"}, pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v (exit %d, %s)", err, <-code, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	res, err := http.Post(url+"/v1/nb201/query", "application/json", strings.NewReader(`{"index": 6111, "dataset": "cifar10-valid", "hp": 200}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"valid-accuracy":91.60666665`) {
		t.Errorf("query: %d %s", res.StatusCode, body)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("serve exit %d after SIGTERM: %s", c, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20 s of SIGTERM")
	}
	if _, err := http.Get(url + "/v1/health"); err == nil {
		t.Error("still serving after SIGTERM")
	}
	// An empty store is refused at once (exit 3), not served.
	if _, stderr, c := nbq(t, "--store", t.TempDir(), "serve", "--addr", "127.0.0.1:0"); c != exitNotFound || !strings.Contains(stderr, "holds no benchmark") {
		t.Errorf("empty store: exit %d %s", c, stderr)
	}
}
