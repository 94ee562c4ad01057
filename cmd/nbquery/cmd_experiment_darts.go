//go:build !nbquery_light

package main

import (
	"github.com/spf13/pflag"

	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/train"
)

// liveDARTS holds experiment --live's flags for --bench darts.
type liveDARTS struct {
	pool, capacity int
}

func addLiveDARTSFlags(f *pflag.FlagSet, d *liveDARTS, lt *train.Config) {
	f.IntVar(&lt.Layers, "train-layers", 0, "live darts: cells of each trained genotype's network (0 = 5)")
	f.IntVar(&lt.Resize, "train-size", 0, "live: input side after zero-padding and box-averaging (0 = native)")
	f.IntVar(&lt.MaxTest, "train-max-test", 0, "live: evaluate on at most this many test images (0 = all)")
	f.IntVar(&d.pool, "darts-pool", 1000, "live darts: random genotypes random draws choose from (seeded by --seed)")
	f.IntVar(&d.capacity, "darts-capacity", 20000, "live darts: genotypes the space can hold (the pool plus those mutations reach)")
}

// liveSpace sets up the searched space of a live experiment: nil for NB201
// (the default), the DARTS space for --bench darts, whose genotypes are
// trained with lt's settings (Space darts) and recorded under bench darts.
func (e *experimentOptions) liveSpace(c *experiment.Config, lt *train.Config) (func(int) (string, string), error) {
	if c.Bench == "mbv2" {
		return e.liveMBV2.space(c, lt, e.changed)
	}
	if c.Bench != "darts" {
		return nil, nil
	}
	d := e.liveDARTS
	if d.pool < 1 || d.capacity < d.pool {
		return nil, usagef("--darts-pool %d, --darts-capacity %d: want 1 <= pool <= capacity", d.pool, d.capacity)
	}
	sp := search.NewDARTS(d.pool, d.capacity, c.Seed)
	c.LiveSpace = sp
	lt.Space = "darts"
	if lt.Layers == 0 {
		lt.Layers = 5
	}
	if e.changed == nil || !e.changed("bananas-encoding") {
		c.Bananas.Encoding = "onehot" // the DARTS space has no path encoding
	}
	return func(i int) (string, string) { return "darts", sp.Genotype(i).String() }, nil
}
