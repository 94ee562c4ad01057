//go:build !nbquery_light

package main

import (
	"context"

	"github.com/nbquery/nbquery/catalog"
	"github.com/nbquery/nbquery/index"
)

// liveRuns returns the live-training runs the catalogue holds for an
// architecture (query's answer where no table has it).
func liveRuns(st *index.Store, bench, arch, dataset string, epochs int) ([]index.LiveResult, error) {
	return catalog.For(st).Live(bench, arch, dataset, epochs)
}

// liveElsewhere: the full build reads the live results itself.
func liveElsewhere(context.Context, *index.Store, *globalOptions) (bool, error) { return false, nil }
