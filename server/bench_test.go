package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/server"
)

// BenchmarkBatch measures one whole-space batch (15,625 x 1) in process,
// as JSON and as an Arrow stream, and one single query.
func BenchmarkBatch(b *testing.B) {
	h := server.New(testStore(b), server.Config{})
	body := `{"queries": [{"name": "v", "dataset": "cifar10-valid", "split": "valid", "hp": "200"}]}`
	for _, bm := range []struct{ name, path, body, accept string }{
		{"single", "/v1/nb201/query", `{"index": 6111, "dataset": "cifar10-valid", "hp": "200"}`, ""},
		{"json", "/v1/nb201/batch", body, ""},
		{"arrow", "/v1/nb201/batch", body, server.ArrowStream},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, bm.path, strings.NewReader(bm.body))
				if bm.accept != "" {
					req.Header.Set("Accept", bm.accept)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code, rec.Body)
				}
			}
		})
	}
}
