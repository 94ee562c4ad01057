//go:build !nbquery_light

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest"
)

type ingestOptions struct {
	mapping      string
	verifyHashes bool
	force        bool
	limits       ingest.Limits
}

func init() { extraCommands = append(extraCommands, newIngestCommand) }

func newIngestCommand(opts *globalOptions) *cobra.Command {
	var iopt ingestOptions
	cmd := &cobra.Command{
		Use:   "ingest BENCH PATH...",
		Short: "Ingest benchmark files into the store (nb201, nats-sss, nb101)",
		Long: `Ingest benchmark files into the store. BENCH is nb201 (NAS-Bench-201 and the
NATS-Bench topology space, one shared index), nats-sss (the NATS-Bench size
space) or nb101 (NAS-Bench-101).

nb201 and nats-sss accept NATS-Bench -simple directories and .pickle.pbz2
files, NAS-Bench-201 .pth files (v1_0, v1_1), CSV exports (layout recognised
from the header, or --mapping FILE for any other table) and HELP latency files.
nb101 accepts nasbench_full.tfrecord / nasbench_only108.tfrecord and partial
tables keyed by hash (CSV/JSON).

Each path is one source. Ingesting the same source twice changes nothing; a
failed ingest leaves the store as it was. NB101 sources merge: every cell of
every source is answerable, newer values first for each column.

CSV column mapping (--mapping FILE, nb201 and nats-sss). A JSON object:

  "index"    CSV column with the architecture index   } at least one
  "arch"     CSV column with the architecture string  } (without "index",
             rows are placed by the arch list already in the store)
  "hp"       training schedule of the columns: 12 or 200 (nb201);
             01, 12 or 90 (nats-sss)
  "columns"  {"<CSV column>": {...}}, each with
      "dataset"  cifar10-valid, cifar10, cifar100 or ImageNet16-120
      "set"      train, valid, test, valtest (as nbquery query maps them),
                 x-valid, x-test, ori-test (stored set names), cost, hw
      "metric"   accuracy (percent), loss, time, all-time, per-time (seconds);
                 with set cost: params (M), flops (M), latency (s);
                 with set hw: the device name (latency in ms)
      "epoch"    0-based epoch (default: the last of hp; none for cost, hw)
      "seed"     the trial seed (default: the mean over seeds)
      "hp"       this column's schedule, if not the mapping's
Columns not named are ignored; an unknown key is an error.

Worked example: a table my_accs.csv with the header
  idx,arch,c100_val,c100_test
mapped by my_mapping.json:
  {"index": "idx", "arch": "arch", "hp": "200",
   "columns": {"c100_val":  {"dataset": "cifar100", "set": "valid", "metric": "accuracy"},
               "c100_test": {"dataset": "cifar100", "set": "test",  "metric": "accuracy"}}}
  nbquery ingest nb201 --mapping my_mapping.json my_accs.csv
  nbquery query nb201 --index 0 --dataset cifar100 --hp 200   # valid-/test-accuracy from the table`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngest(cmd.Context(), opts, iopt, args[0], args[1:], opts.stdout)
		},
	}
	cmd.Flags().StringVar(&iopt.mapping, "mapping", "", "JSON column mapping for a CSV table (nb201, nats-sss)")
	cmd.Flags().BoolVar(&iopt.verifyHashes, "verify-hashes", false, "nb101: re-hash every cell's stored spec and check it against its key (about 7 CPU-s more for the full file; the official API does not)")
	cmd.Flags().BoolVar(&iopt.force, "force", false, "nb101: ingest a file named like an official tfrecord whose SHA-256 is not the official one")
	d := ingest.DefaultLimits
	f := cmd.Flags()
	f.IntVar(&iopt.limits.PickleDepth, "max-pickle-depth", d.PickleDepth, "deepest container nesting a pickle may build")
	f.Int64Var(&iopt.limits.PickleLive, "max-pickle-live", d.PickleLive, "bytes of objects the streaming pickle reader may hold at once")
	f.Int64Var(&iopt.limits.Decoded, "max-decoded", d.Decoded, "decompressed bytes of one streamed pickle (.pickle.pbz2, .pth)")
	f.Int64Var(&iopt.limits.ArchFile, "max-arch-file", d.ArchFile, "decompressed bytes of one NATS per-architecture or meta file")
	f.Int64Var(&iopt.limits.Memory, "max-memory", d.Memory, "memory budget for per-architecture files decoded in parallel")
	f.IntVar(&iopt.limits.CSVLine, "max-csv-line", d.CSVLine, "bytes of one CSV line")
	return cmd
}

func runIngest(ctx context.Context, opts *globalOptions, iopt ingestOptions, bench string, paths []string, w io.Writer) error {
	st, err := index.Open(opts.storeDir())
	if err != nil {
		return err
	}
	defer st.Close()
	st.SetLockWait(func() { opts.note("waiting for another writer of %s to finish", st.Dir()) })
	catalog.Attach(st) // every commit records its source
	var o ingest.Options
	o.Progress = opts.progress()
	o.Limits = iopt.limits
	if iopt.mapping != "" {
		m, err := ingest.LoadMapping(iopt.mapping)
		if err != nil {
			return err
		}
		o.Mapping = m
	}
	for _, p := range paths {
		var res ingest.Result
		switch bench {
		case index.NB201:
			res, err = ingest.NB201(ctx, st, p, o)
		case index.NATSSSS:
			res, err = ingest.NATSSSS(ctx, st, p, o)
		case index.NB101:
			res, err = ingestNB101(ctx, st, p, o, iopt.verifyHashes, iopt.force)
		default:
			return usagef("unknown benchmark %q (want nb201, nats-sss or nb101)", bench)
		}
		if err != nil {
			return err
		}
		if err := reportIngest(opts, w, bench, res); err != nil {
			return err
		}
	}
	return nil
}

func reportIngest(opts *globalOptions, w io.Writer, bench string, res ingest.Result) error {
	if opts.structured() {
		b, _ := json.Marshal(map[string]any{
			"bench": bench, "path": res.Source.Path, "kind": res.Source.Kind, "sha256": res.Source.SHA256,
			"size": res.Source.Size, "rows": res.Rows, "columns": res.Columns, "unchanged": res.Unchanged,
			"seconds": res.Elapsed.Seconds(),
		})
		_, err := fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if res.Unchanged {
		_, err := fmt.Fprintf(w, "%s: %s already ingested (sha256 %.12s); store unchanged\n", bench, res.Source.Path, res.Source.SHA256)
		return err
	}
	_, err := fmt.Fprintf(w, "%s: ingested %s (%s, %d bytes): %d architectures, %d columns in %.2fs\n",
		bench, res.Source.Path, res.Source.Kind, res.Source.Size, res.Rows, res.Columns, res.Elapsed.Seconds())
	return err
}
