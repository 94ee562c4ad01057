package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/index"
)

// Exit codes.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitNotFound  = 3
	exitCancelled = 130
)

// globalOptions are the flags shared by every command.
type globalOptions struct {
	store    string
	json     bool
	jsonl    bool
	quiet    bool
	randSeed uint64
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer

	stopSignals func() // undoes catchSignals; nil before it
}

// noSignals is the annotation of a command that catches no signals itself
// (catchSignals): a one-row query ends in milliseconds, and the handler's
// goroutines started two threads in every cold run (~0.1 ms). SIGINT still
// ends it, by the default action.
const noSignals = "nbquery/no-signals"

// catchSignals makes SIGINT and SIGTERM cancel cmd's context, so that a
// long command stops cleanly with exit status 130.
func (o *globalOptions) catchSignals(cmd *cobra.Command) {
	if o.stopSignals != nil {
		return
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	cmd.SetContext(ctx)
	o.stopSignals = stop
}

func newRootCommand(opts *globalOptions) *cobra.Command { return newRootCommandFor(opts, nil) }

// newRootCommandFor is the command tree for args: the root and the query
// command alone when args run a query (commandName), every command
// otherwise. Building every command and its flags cost each cold query
// ~0.1 ms; a query's own flags, help, errors and hooks are the same in
// either tree (the root-level help, suggestions and completion, which list
// the other commands, come from the whole tree).
func newRootCommandFor(opts *globalOptions, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "nbquery",
		Short: "Query NAS benchmarks, run predictor and search experiments, train cells",
		Long: `nbquery ingests NAS-Bench-101, NAS-Bench-201, NATS-Bench, CSV exports and
hardware-latency tables once into a local store (Arrow columns, a Badger catalogue) and
answers queries with the official APIs' semantics.

Store location: --store DIR, else $NBQUERY_STORE, else ~/.local/share/nbquery.

Exit codes: 0 success, 1 error, 2 usage, 3 not found or not recorded, 130 cancelled.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.json && opts.jsonl {
				return usagef("give one of --json (one document) or --jsonl (a stream of lines)")
			}
			if cmd.Annotations[noSignals] == "" {
				opts.catchSignals(cmd)
			}
			return nil
		},
	}
	root.Version = versionString()
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(opts.stdout)
	root.SetErr(opts.stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&opts.store, "store", "", "store directory (default $NBQUERY_STORE or ~/.local/share/nbquery)")
	pf.BoolVar(&opts.json, "json", false, "print one JSON document: an object, or an array of objects for many rows")
	pf.BoolVar(&opts.jsonl, "jsonl", false, "print JSON Lines: one object per row, streamed")
	pf.BoolVarP(&opts.quiet, "quiet", "q", false, "no progress bars")
	pf.Uint64Var(&opts.randSeed, "rand-seed", 1, "seed of the random source (for --seed random and sampling)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	if args != nil && commandName(args) == "query" {
		root.AddCommand(newQueryCommand(opts))
		return root
	}
	root.AddCommand(newVersionCommand(opts))
	root.AddCommand(
		newQueryCommand(opts),
		newTopCommand(opts),
		newStatsCommand(opts),
	)
	addExtraCommands(root, opts)
	return root
}

// commandName returns the command that args name, when only the root's
// persistent flags (in the forms listed here) stand before it; else "".
func commandName(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--store" || a == "--rand-seed":
			i++ // and its value
		case a == "--json" || a == "--jsonl" || a == "--quiet" || a == "-q" ||
			strings.HasPrefix(a, "--store=") || strings.HasPrefix(a, "--rand-seed="):
		case strings.HasPrefix(a, "-"):
			return ""
		default:
			return a
		}
	}
	return ""
}

// extraCommands are registered by other files of this package.
var extraCommands []func(*globalOptions) *cobra.Command

func addExtraCommands(root *cobra.Command, opts *globalOptions) {
	for _, f := range extraCommands {
		root.AddCommand(f(opts))
	}
}

func (o *globalOptions) storeDir() string {
	if o.store != "" {
		return o.store
	}
	return index.DefaultDir()
}

// progress is where progress bars go: stderr when it is a terminal and -q
// is not given, else nowhere.
func (o *globalOptions) progress() io.Writer {
	if o.quiet || !isTerminal(o.stderr) {
		return nil
	}
	return o.stderr
}

func run(args []string, stdout, stderr io.Writer) int {
	return runWithInput(args, os.Stdin, stdout, stderr)
}

// runWithInput is run with standard input (batch requests) given.
func runWithInput(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runTree(args, stdin, stdout, stderr, newRootCommandFor)
}

// runTree is runWithInput with the command tree built by tree.
func runTree(args []string, stdin io.Reader, stdout, stderr io.Writer, tree func(*globalOptions, []string) *cobra.Command) int {
	opts := &globalOptions{stdin: stdin, stdout: stdout, stderr: stderr}
	defer func() {
		if opts.stopSignals != nil {
			opts.stopSignals()
		}
	}()
	root := tree(opts, args)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil && !errors.Is(err, errSilent) {
		fmt.Fprintf(stderr, "nbquery: %s\n", userMessage(err))
	}
	return exitCode(err)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
