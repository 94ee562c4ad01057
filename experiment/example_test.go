package experiment_test

import (
	"context"
	"fmt"
	"os"

	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/index"
)

// Run 100 WeakNAS and random-search runs on an ingested NB201 store and
// print the summary table (compiled, not run: it needs a store).
func ExampleRun() {
	st, err := index.Open(index.DefaultDir())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	s, err := experiment.Run(context.Background(), st, experiment.Config{
		Dataset: "cifar10-valid", Target: "x-valid", Report: "ori-test", HP: "200",
		Algos: []string{"weaknas", "random"}, Runs: 100, Budget: 1000, Seed: 1,
		OutDir: "weaknas-c10",
	}, os.Stderr)
	if err != nil {
		fmt.Println(err)
		return
	}
	experiment.PrintSummary(os.Stdout, s)
}
