package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/index"
)

func init() { extraCommands = append(extraCommands, newStoreCommand) }

func newStoreCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Check and clean the store (verify, gc)",
	}
	cmd.AddCommand(storeSubcommand(opts, "verify",
		"Check every store file against the size and SHA-256 recorded in the manifest",
		`Check every file the manifest references against the size and SHA-256 recorded
when it was written. Prints one line per damaged file and exits 1 ("store
damaged: FILE") if there is any; prints "store ok" otherwise.`,
		func(st *index.Store) error {
			probs, err := st.Verify()
			if err != nil {
				return err
			}
			if opts.json {
				b, _ := json.Marshal(map[string]any{"ok": len(probs) == 0, "problems": probs})
				fmt.Fprintf(opts.stdout, "%s\n", b)
			} else {
				for _, p := range probs {
					fmt.Fprintf(opts.stdout, "%s: %s\n", p.File, p.What)
				}
			}
			if len(probs) > 0 {
				return fmt.Errorf("%w: %s: %s (%d damaged files)", index.ErrDamaged, probs[0].File, probs[0].What, len(probs))
			}
			if !opts.json {
				fmt.Fprintln(opts.stdout, "store ok")
			}
			return nil
		}))
	cmd.AddCommand(storeSubcommand(opts, "gc",
		"Remove temp files of crashed writers and unreferenced or superseded tables",
		`Remove, under the store's writer lock, the temp files that killed ingests left
behind and every segment, arch-list or NB101 file the manifest no longer
references. Every write does the same first; this command does it alone.
Superseded files are kept while another process has the store open (it may
still map them); a gc after it exits removes them.`,
		func(st *index.Store) error {
			res, err := st.GC()
			if err != nil {
				return err
			}
			for _, r := range res.Removed {
				fmt.Fprintf(opts.stdout, "removed %s\n", r)
			}
			fmt.Fprintf(opts.stdout, "%d files removed\n", len(res.Removed))
			if len(res.Kept) > 0 {
				opts.note("kept %d superseded files (%s, ...) while other processes have the store open; a later gc removes them", len(res.Kept), res.Kept[0])
			}
			return nil
		}))
	return cmd
}

// storeSubcommand is a `store` subcommand without arguments that runs on
// the opened store.
func storeSubcommand(opts *globalOptions, use, short, long string, run func(st *index.Store) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Long: long,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := index.Open(opts.storeDir())
			if err != nil {
				return err
			}
			defer st.Close()
			return run(st)
		},
	}
}
