package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// commit is set by the Makefile (-ldflags "-X main.commit=...") for builds
// where Go does not stamp VCS information (-buildvcs=false).
var commit string

// versionString is the module version and the VCS commit the binary was
// built from (runtime/debug.ReadBuildInfo), e.g.
// "nbquery (devel) commit 5f8b1f0c2a1e (modified) go1.26.0".
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "nbquery (unknown version: built without module information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	s := "nbquery " + v
	var rev, modified string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.modified":
			if kv.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if rev == "" && commit != "" {
		rev = commit
	}
	if rev != "" {
		s += " commit " + rev[:min(12, len(rev))] + modified
	} else {
		s += " commit unknown"
	}
	return s + " " + bi.GoVersion
}

func newVersionCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the module version and commit (same as --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(opts.stdout, versionString())
			return err
		},
	}
}
