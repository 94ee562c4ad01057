package index

import (
	"fmt"
	"math"

	"github.com/nbquery/nbquery/space/nb201"
)

// Computed costs. NAS-Bench-201's parameter and FLOP counts are a function
// of the architecture and the dataset's network alone (nb201.Network.Costs
// reproduces the benchmark's records), so where no ingested table carries
// them (a CSV of accuracies, a 12-epoch table) they are computed, and every
// answer that uses one says so (Coverage.Computed, query's cost-source).

// ComputedCosts returns the params (MB) and FLOPs (M) of row computed from
// its architecture for dataset's network, with Latency NaN; ok is false for
// a benchmark other than nb201 or a row without an architecture.
func (b *Bench) ComputedCosts(row int, dataset string) (c Costs, ok bool) {
	if b.name != NB201 {
		return Costs{}, false
	}
	net, err := nb201.BenchNetwork(dataset)
	if err != nil {
		return Costs{}, false
	}
	code, err := b.Code(row)
	if err != nil || code < 0 || code >= nb201.NumCells {
		return Costs{}, false
	}
	p, f := net.Costs(nb201.FromCode(code))
	return Costs{Params: p, FLOPs: f, Latency: math.NaN()}, true
}

// Coverage says how the values of a Vector came about: Count architectures
// have a value (Computed of them computed from the architecture rather than
// read from a table), Missing have none.
type Coverage struct {
	Count, Missing, Computed int
}

// costValue answers params, flops or latency for one row: the table's
// value, else (params and flops of nb201) the computed one.
func (b *Bench) costValue(row int, q Query, m string) (v float64, computed bool, err error) {
	c, err := b.ComputeCosts(row, q.Dataset, q.HP, q.Seed)
	if err == nil {
		v = map[string]float64{MetricParams: c.Params, MetricFLOPs: c.FLOPs, MetricLatency: c.Latency}[m]
		if !math.IsNaN(v) {
			return v, false, nil
		}
	}
	if m != MetricLatency {
		if err := checkDataset(q.Dataset); err != nil {
			return 0, false, err
		}
		if cc, ok := b.ComputedCosts(row, q.Dataset); ok {
			if m == MetricParams {
				return cc.Params, true, nil
			}
			return cc.FLOPs, true, nil
		}
	}
	if err == nil {
		err = fmt.Errorf("%w: %s of index %d on %s", ErrUnavailable, m, row, q.Dataset)
	}
	return 0, false, err
}
