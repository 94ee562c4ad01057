package server_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/server"
)

// A server over a store answers with JSON; bad requests get a 4xx with the
// error and its kind.
func ExampleNew() {
	st, _ := index.Open(exampleDir())
	defer st.Close()
	h := server.New(st, server.Config{})
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/health", ""},
		{"POST", "/v1/nb201/query", `{"index": 0`},
		{"GET", "/v1/nb201/top?dataset=cifar10&k=x", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(r.method, r.path, strings.NewReader(r.body)))
		b, _ := io.ReadAll(rec.Body)
		fmt.Print(rec.Code, " ", string(b))
	}
	// Output:
	// 200 {"status":"ok"}
	// 400 {"error":"bad JSON body: unexpected EOF","kind":"usage"}
	// 400 {"error":"parameter k=\"x\": want a number, true/false or a JSON value","kind":"usage"}
}
