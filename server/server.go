package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nbquery/nbquery/index"
)

// DefaultAddr is the listen address of Serve: loopback only.
const DefaultAddr = "127.0.0.1:8201"

// Config holds the server's limits. Zero fields take the defaults.
type Config struct {
	MaxBodyBytes  int64         // request body limit (default 1 MiB)
	MaxCells      int           // architectures x queries of one batch or query (default 1<<20)
	MaxTopK       int           // largest k of top (default 100000)
	Timeout       time.Duration // per-request work limit (default 10 s)
	ReadTimeout   time.Duration // whole-request read limit, against slow clients (default 10 s)
	MaxConcurrent int           // requests computed at once; more wait up to Timeout (default 4 x GOMAXPROCS)
	RandSeed      uint64        // seed of the "random" seed policy when a request gives none
	Log           *log.Logger   // request errors of kind internal; nil: none
}

func (c Config) withDefaults() Config {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxCells <= 0 {
		c.MaxCells = 1 << 20
	}
	if c.MaxTopK <= 0 {
		c.MaxTopK = 100000
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 10 * time.Second
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 4 * runtime.GOMAXPROCS(0)
	}
	return c
}

// Server answers queries over one open store. It only reads: it never
// commits, locks the store or opens its catalogue, so ingests and other
// readers go on beside it (it keeps answering from the manifest it opened).
type Server struct {
	st  *index.Store
	cfg Config
	sem chan struct{}
	seq atomic.Uint64 // request counter, the stream of the per-request random source
	nb1 sync.Mutex    // NB101 queries add to the table's budget counters
	mux *http.ServeMux
}

// New returns a server over st; the caller keeps st open while it serves
// and closes it afterwards.
func New(st *index.Store, cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{st: st, cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent), mux: http.NewServeMux()}
	s.routes()
	return s
}

// Config returns the limits in effect.
func (s *Server) Config() Config { return s.cfg }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /v1/health", s.handle(func(c *call) error {
		return c.json(map[string]string{"status": "ok"})
	}))
	m.HandleFunc("GET /v1/info", s.handle(s.info))
	for _, route := range []struct {
		path string
		fn   func(*call) error
	}{
		{"/v1/nb101/query", s.nb101Query},
		{"/v1/nb101/metrics", s.nb101Metrics},
		{"/v1/nb101/top", s.nb101Top},
		{"/v1/nb101/stats", s.nb101Stats},
		{"/v1/nb101/batch", s.nb101Batch},
		{"/v1/{bench}/query", s.query},
		{"/v1/{bench}/cost", s.cost},
		{"/v1/{bench}/index", s.archIndex},
		{"/v1/{bench}/simulate", s.simulate},
		{"/v1/{bench}/top", s.top},
		{"/v1/{bench}/stats", s.stats},
		{"/v1/{bench}/batch", s.batch},
	} {
		h := s.handle(route.fn)
		m.HandleFunc("GET "+route.path, h)
		m.HandleFunc("POST "+route.path, h)
	}
	m.HandleFunc("/", s.handle(func(c *call) error {
		return &Error{Status: http.StatusNotFound, Kind: KindNotFound, Msg: fmt.Sprintf("no endpoint %s %s (see GET /v1/info)", c.r.Method, c.r.URL.Path)}
	}))
}

// call is one request being answered.
type call struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	ctx context.Context
}

// rng returns the random source of the request: seeded by its rand_seed if
// it gave one, else by the server's seed and the request number.
func (c *call) rng(seed *uint64) *rand.Rand {
	if seed != nil {
		return rand.New(rand.NewPCG(*seed, 0))
	}
	return rand.New(rand.NewPCG(c.s.cfg.RandSeed, c.s.seq.Add(1)))
}

// handle wraps an endpoint: concurrency limit, work deadline, panic
// recovery and the error model.
func (s *Server) handle(fn func(*call) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
		defer cancel()
		c := &call{s: s, w: w, r: r.WithContext(ctx), ctx: ctx}
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			c.fail(&Error{Status: http.StatusServiceUnavailable, Kind: KindBusy, Msg: "server busy: no slot within the request timeout"})
			return
		}
		defer func() { <-s.sem }()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				c.fail(fmt.Errorf("server: panic: %v", p))
			}
		}()
		if err := fn(c); err != nil {
			c.fail(err)
		}
	}
}

// Serve listens on addr (DefaultAddr if empty) and serves h until ctx is
// cancelled, then shuts down gracefully: it stops accepting, lets requests
// in flight finish (up to grace) and returns. ready, if not nil, is called
// with the bound address once listening (useful with port 0).
func Serve(ctx context.Context, addr string, h http.Handler, cfg Config, grace time.Duration, ready func(net.Addr)) error {
	cfg = cfg.withDefaults()
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(cfg.ReadTimeout, 5*time.Second),
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.ReadTimeout + cfg.Timeout + 5*time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          cfg.Log,
	}
	if ready != nil {
		ready(ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}
