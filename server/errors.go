package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb101"
	"github.com/nbquery/nbquery/space/nb201"
	"github.com/nbquery/nbquery/space/sss"
)

// Error kinds of the JSON error body.
const (
	KindUsage       = "usage"         // 400: a malformed request or a value outside the documented ones (the CLI's exit 2)
	KindNotFound    = "not_found"     // 404: a well-formed request the store cannot answer (exit 3)
	KindUnavailable = "unavailable"   // 404: the benchmark did not record the value (exit 3)
	KindOutOfDomain = "out_of_domain" // 400: an NB101 spec outside the space (nasbench's OutOfDomainError)
	KindTooLarge    = "too_large"     // 413: body or batch over the limits
	KindSlow        = "timeout"       // 408: the request body did not arrive in time
	KindBusy        = "busy"          // 503: no capacity, or the work deadline passed
	KindInternal    = "internal"      // 500: a store or server fault, never bad input
)

// Error is an answer with a status; every handler error becomes one.
type Error struct {
	Status int
	Kind   string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func usage(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Kind: KindUsage, Msg: msg}
}

// classify maps an error onto the HTTP error model, with the classes of
// the CLI's exit codes (cmd/nbquery errors.go): usage (exit 2) -> 400,
// not found / not recorded (exit 3) -> 404, in the CLI's order.
func classify(err error) *Error {
	var e *Error
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Kind: KindTooLarge, Msg: err.Error()}
	case errors.As(err, &ne) && ne.Timeout():
		return &Error{Status: http.StatusRequestTimeout, Kind: KindSlow, Msg: "request body not received in time: " + err.Error()}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &Error{Status: http.StatusServiceUnavailable, Kind: KindBusy, Msg: "request timed out: " + err.Error()}
	case errors.Is(err, index.ErrUnavailable):
		return &Error{Status: http.StatusNotFound, Kind: KindUnavailable, Msg: err.Error()}
	case errors.Is(err, index.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Kind: KindNotFound, Msg: err.Error()}
	case errors.Is(err, nb101.ErrOutOfDomain):
		return &Error{Status: http.StatusBadRequest, Kind: KindOutOfDomain, Msg: err.Error()}
	case errors.Is(err, index.ErrInvalid), errors.Is(err, nb101.ErrHashSyntax), errors.Is(err, nb201.ErrSyntax), errors.Is(err, sss.ErrSyntax):
		return usage(err.Error())
	}
	return &Error{Status: http.StatusInternalServerError, Kind: KindInternal, Msg: err.Error()}
}

// fail writes err as a JSON error answer.
func (c *call) fail(err error) {
	e := classify(err)
	if e.Kind == KindInternal && c.s.cfg.Log != nil {
		c.s.cfg.Log.Printf("%s %s: %v", c.r.Method, c.r.URL.Path, err)
	}
	b, _ := json.Marshal(map[string]string{"error": e.Msg, "kind": e.Kind})
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(e.Status)
	c.w.Write(append(b, '\n'))
}
