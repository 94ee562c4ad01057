// Command floor links what the light build's query path is built on
// (cobra for the command line, index for the store) and does
// nothing else: one flag, one line out. TestColdStart times it beside
// hello world and nbquery to show the part of the cold start that comes
// from linking and initialising these libraries alone.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nbquery/nbquery/index"
)

func main() {
	var store string
	c := &cobra.Command{Use: "floor", Run: func(*cobra.Command, []string) { fmt.Println(store, index.NB201) }}
	c.Flags().StringVar(&store, "store", "", "store directory")
	c.SetArgs(os.Args[1:])
	if c.Execute() != nil {
		os.Exit(2)
	}
}
