//go:build !nbquery_light

package main

import "github.com/spf13/cobra"

func init() { extraCommands = append(extraCommands, newSearchCommand) }

// searchSpaces are the subcommands of search, one per space, registered by
// their own files (cmd_search_darts.go, ...).
var searchSpaces []func(opts *globalOptions) *cobra.Command

func newSearchCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "search SPACE",
		Short: "Search a space live by supernet training (darts, single-path)",
		Long: `Search a space live: train a weight-sharing supernet on the CPU and
select an architecture from it. Each space is a subcommand.`,
	}
	for _, f := range searchSpaces {
		cmd.AddCommand(f(opts))
	}
	return cmd
}
