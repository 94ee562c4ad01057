package main

import (
	"io"

	"context"
	"fmt"
	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest"
)

// ingestNB101 is replaced when the NB101 ingest lands.
func ingestNB101(ctx context.Context, st *index.Store, path string, o ingest.Options) (ingest.Result, error) {
	return ingest.Result{}, fmt.Errorf("nb101 ingest: not built yet")
}

func addNB101QueryFlags(cmd *cobra.Command) {}

func runQueryNB101(ctx context.Context, opts *globalOptions, cmd *cobra.Command, w io.Writer) error {
	return fmt.Errorf("nb101 query: not built yet")
}

func runTopNB101(ctx context.Context, opts *globalOptions, t topOptions, w io.Writer) error {
	return fmt.Errorf("nb101 top: not built yet")
}

func statsNB101(ctx context.Context, opts *globalOptions, m metricQuery) (index.Stats, error) {
	return index.Stats{}, fmt.Errorf("nb101 stats: not built yet")
}

func nb101TableData(opts *globalOptions, m metricQuery) (*mat.Dense, []float64, error) {
	return nil, nil, fmt.Errorf("nb101 predictors: not built yet")
}
