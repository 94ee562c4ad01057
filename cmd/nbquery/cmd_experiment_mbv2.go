//go:build !nbquery_light

package main

import (
	"math"

	"github.com/spf13/pflag"

	"github.com/nbquery/nbquery/experiment"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/train"
)

// liveMBV2 holds experiment --live's flags for --bench mbv2 (the
// Single-Path NAS MobileNetV2 space) and the latency model they set up.
type liveMBV2 struct {
	pool, capacity int
	net            spnasFlags
	latFile        string
	latWeight      float64 // objective: acc − latWeight·log(latency)
	latMax         float64 // constraint: latency <= latMax (0 = none)
	wrap           func(search.Evaluator) search.Evaluator
}

func addLiveMBV2Flags(f *pflag.FlagSet, m *liveMBV2) {
	f.IntVar(&m.pool, "mbv2-pool", 1000, "live mbv2: random networks random draws choose from (seeded by --seed)")
	f.IntVar(&m.capacity, "mbv2-capacity", 20000, "live mbv2: networks the space can hold (the pool plus those mutations reach)")
	f.Float64Var(&m.net.width, "train-width", 0.25, "live mbv2: width multiplier of the MobileNetV2 layout")
	f.IntVar(&m.net.divisor, "train-divisor", 8, "live mbv2: channels are rounded to multiples of this")
	f.IntVar(&m.net.stemStride, "train-stem-stride", 2, "live mbv2: stride of the stem convolution")
	f.StringVar(&m.latFile, "latency-table", "", "live mbv2: latency table (nbquery latency measure) for --latency-weight / --latency-max")
	f.Float64Var(&m.latWeight, "latency-weight", 0, "live mbv2: search acc - W*log(predicted latency) (the report stays the accuracy)")
	f.Float64Var(&m.latMax, "latency-max", 0, "live mbv2: networks predicted slower than this (table unit) are answered untrained with target -1e9, report 0 and cost 0, so no search keeps them")
}

// space sets up --bench mbv2: the slot space over the MobileNetV2 space,
// trained with lt's settings (Space mbv2) and recorded under bench mbv2, and
// the latency objective or constraint from the table.
func (m *liveMBV2) space(c *experiment.Config, lt *train.Config, changed func(string) bool) (func(int) (string, string), error) {
	if m.pool < 1 || m.capacity < m.pool {
		return nil, usagef("--mbv2-pool %d, --mbv2-capacity %d: want 1 <= pool <= capacity", m.pool, m.capacity)
	}
	macro := m.net.macro()
	if err := macro.Validate(); err != nil {
		return nil, usageError{err}
	}
	sp := search.NewMBV2(m.pool, m.capacity, c.Seed)
	c.LiveSpace = sp
	lt.Space, lt.MBV2 = "mbv2", &macro
	if changed == nil || !changed("bananas-encoding") {
		c.Bananas.Encoding = "onehot" // no path encoding
	}
	if (m.latWeight != 0 || m.latMax != 0) && m.latFile == "" {
		return nil, usagef("--latency-weight and --latency-max need --latency-table")
	}
	if m.latFile != "" {
		tab, err := train.ReadLatencyTable(m.latFile)
		if err != nil {
			return nil, usageError{err}
		}
		if err := tab.CheckMacro(macro); err != nil {
			return nil, usageError{err}
		}
		w, limit := m.latWeight, m.latMax
		m.wrap = func(eval search.Evaluator) search.Evaluator {
			return func(i int) (float64, float64, float64, error) {
				lat := tab.Predict(sp.Arch(i))
				if limit > 0 && lat > limit {
					return -1e9, 0, 0, nil
				}
				t, r, cost, err := eval(i)
				return t - w*math.Log(lat), r, cost, err
			}
		}
	}
	return func(i int) (string, string) { return "mbv2", sp.Arch(i).String() }, nil
}
