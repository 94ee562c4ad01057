//go:build !nbquery_light

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
)

// info reads the catalogue (live runs), so the light build runs nbquery-full
// for it.
func init() { extraCommands = append(extraCommands, newInfoCommand) }

func newInfoCommand(opts *globalOptions) *cobra.Command {
	var keys bool
	cmd := &cobra.Command{
		Use:   "info",
		Short: "What the store holds: benchmarks, sources, columns",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInfo(cmd.Context(), opts, keys, opts.stdout)
		},
	}
	cmd.Flags().BoolVar(&keys, "keys", false, "list every stored column")
	return cmd
}

func runInfo(ctx context.Context, opts *globalOptions, keys bool, w io.Writer) error {
	if _, err := os.Stat(opts.storeDir()); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: no store at %s (create one with nbquery ingest, or pass --store)", index.ErrNotFound, opts.storeDir())
	}
	st, err := index.Open(opts.storeDir())
	if err != nil {
		return err
	}
	defer st.Close()
	if !opts.structured() {
		fmt.Fprintf(w, "store %s (schema version %d)\n", st.Dir(), index.SchemaVersion)
	}
	rw := newRowWriter(opts, w)
	for _, name := range st.Benches() {
		b, err := st.Bench(name)
		if err != nil {
			return err
		}
		srcs := st.Sources(name)
		if opts.structured() {
			var o jsonObject
			o.add("bench", name)
			n, ks := b.Len(), benchKeys(b)
			if name == index.NB101 {
				if t, err := st.NB101Table(); err == nil {
					n, ks = t.Len(), t.Columns() // the merged table's cells and statistics
				}
			}
			o.add("architectures", n)
			o.add("columns", len(ks))
			o.add("sources", srcs)
			if keys {
				o.add("keys", ks)
			}
			if err := rw.object(&o); err != nil {
				return err
			}
			continue
		}
		head := fmt.Sprintf("%d architectures, %d columns", b.Len(), len(b.Keys()))
		var nbCols []string // the NB101 table's statistics (metric@epochs)
		if name == index.NB101 {
			var parts []string
			for _, role := range st.NB101Roles() {
				if t, err := st.NB101TableRole(role); err == nil {
					parts = append(parts, fmt.Sprintf("%d cells in %s", t.Len(), role))
				}
			}
			head = strings.Join(parts, ", ")
			if t, err := st.NB101Table(); err == nil {
				if len(parts) > 1 {
					head += fmt.Sprintf(" (%d distinct cells, merged)", t.Len())
				}
				nbCols = t.Columns()
				head += fmt.Sprintf(", %d columns", len(nbCols))
			}
		}
		fmt.Fprintf(w, "%s: %s, %d sources\n", name, head, len(srcs))
		for _, s := range srcs {
			fmt.Fprintf(w, "  %-14s %12d B  sha256 %.12s  %s\n", s.Kind, s.Size, s.SHA256, s.Path)
		}
		if devs := b.Devices(); len(devs) > 0 {
			fmt.Fprintf(w, "  devices: %v\n", devs)
		}
		if keys {
			for _, k := range b.Keys() {
				fmt.Fprintf(w, "  %s  epochs %v\n", k, compactEpochs(b.Epochs(k)))
			}
			for _, c := range nbCols {
				fmt.Fprintf(w, "  %s\n", c)
			}
		}
	}
	live := map[string]int{}
	if err := catalog.For(st).View([]byte("live/"), func(k, v []byte) error {
		parts := strings.SplitN(string(k), "/", 3)
		if len(parts) > 1 {
			live[parts[1]]++
		}
		return nil
	}); err != nil {
		return err
	}
	for bench, n := range live {
		if opts.structured() {
			var o jsonObject
			o.add("bench", bench)
			o.add("live_runs", n)
			if err := rw.object(&o); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "%s: %d live training runs (nbquery train, experiment --live)\n", bench, n)
	}
	if opts.structured() {
		return rw.close()
	}
	return nil
}

// benchKeys lists a benchmark's stored column keys as strings.
func benchKeys(b *index.Bench) []string {
	ks := []string{}
	for _, k := range b.Keys() {
		ks = append(ks, k.String())
	}
	return ks
}

func compactEpochs(e []int) string {
	if len(e) == 0 {
		return "-"
	}
	if len(e) > 2 && e[len(e)-1]-e[0] == len(e)-1 {
		return fmt.Sprintf("%d-%d", e[0], e[len(e)-1])
	}
	return fmt.Sprint(e)
}
