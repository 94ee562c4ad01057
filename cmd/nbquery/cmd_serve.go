//go:build !nbquery_light

package main

import (
	"fmt"
	"log"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/server"
)

func init() { extraCommands = append(extraCommands, newServeCommand) }

type serveOptions struct {
	addr     string
	cfg      server.Config
	grace    time.Duration
	maxBody  int64
	timeout  time.Duration
	readTime time.Duration
}

func newServeCommand(opts *globalOptions) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8201]",
		Short: "Answer queries over HTTP (JSON, Arrow streams) for the Python client and other tools",
		Long: `Serve the store read-only over HTTP: JSON endpoints for query, top, stats,
get_cost_info, query_index_by_arch, simulate_train_eval, the NB101 query and
get_metrics_from_hash, and batches of whole-space vectors (as JSON, or as an
Arrow IPC stream with Accept: application/vnd.apache.arrow.stream). The
Python client in python/nbquery_api.py speaks to it.

It listens on loopback (127.0.0.1:8201) unless --addr says otherwise, prints
"listening on ADDR" once ready, and shuts down gracefully on SIGINT/SIGTERM.
Bad requests get 4xx answers with a JSON {"error", "kind"} body.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := index.Open(opts.storeDir())
			if err != nil {
				return err
			}
			defer st.Close()
			if len(st.Benches()) == 0 {
				return fmt.Errorf("%w: the store %s holds no benchmark (run nbquery ingest)", index.ErrNotFound, st.Dir())
			}
			o.cfg.RandSeed = opts.randSeed
			o.cfg.MaxBodyBytes, o.cfg.Timeout, o.cfg.ReadTimeout = o.maxBody, o.timeout, o.readTime
			o.cfg.Log = log.New(opts.stderr, "nbquery serve: ", log.LstdFlags)
			srv := server.New(st, o.cfg)
			return server.Serve(cmd.Context(), o.addr, srv, srv.Config(), o.grace, func(a net.Addr) {
				fmt.Fprintf(opts.stdout, "listening on http://%s\n", a)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", server.DefaultAddr, "listen address (loopback by default; port 0 picks a free port)")
	f.Int64Var(&o.maxBody, "max-body", 1<<20, "largest request body in bytes")
	f.IntVar(&o.cfg.MaxCells, "max-cells", 1<<20, "largest batch, in architectures x queries")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "work limit of one request")
	f.DurationVar(&o.readTime, "read-timeout", 10*time.Second, "time a client has to send its request")
	f.IntVar(&o.cfg.MaxConcurrent, "max-concurrent", 0, "requests computed at once (default 4 x GOMAXPROCS)")
	f.DurationVar(&o.grace, "grace", 10*time.Second, "time requests in flight get to finish at shutdown")
	return cmd
}
