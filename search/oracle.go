package search

import (
	"fmt"
	"math"
)

// Oracle holds the whole-space labels of one experiment. Build it with
// NewOracle; it is read-only afterwards and shared by all runs.
type Oracle struct {
	Target []float64 // maximised by the search; NaN = not recorded
	Report []float64 // reported beside the target (e.g. ori-test accuracy)
	Cost   []float64 // simulated training seconds per query; nil = none

	valid   []bool  // allowed and recorded
	pool    []int32 // the valid indices, ascending
	optimum []int32 // the tie set of argmax Target over valid cells
	optVal  float64
	mean    float64 // mean and population std of Target over valid cells
	std     float64
	repMean float64 // mean of Report over valid cells with a report

	live *liveState // non-nil for an oracle that trains on demand
}

// NewOracle checks the vectors and precomputes the optimum. allowed (nil =
// all) excludes cells violating a constraint; cells whose target is NaN are
// excluded too. report and cost may be nil.
func NewOracle(target, report, cost []float64, allowed []bool) (*Oracle, error) {
	n := len(target)
	if n == 0 {
		return nil, fmt.Errorf("search: oracle: empty target vector: %w", ErrBadInput)
	}
	if report == nil {
		report = target
	}
	if len(report) != n || (cost != nil && len(cost) != n) || (allowed != nil && len(allowed) != n) {
		panic(fmt.Sprintf("search: NewOracle: vector lengths %d, %d, %d, %d differ", n, len(report), len(cost), len(allowed)))
	}
	o := &Oracle{Target: target, Report: report, Cost: cost, valid: make([]bool, n), optVal: math.Inf(-1)}
	var sum, rsum float64
	rn := 0
	for i, v := range target {
		if math.IsNaN(v) || (allowed != nil && !allowed[i]) {
			continue
		}
		o.valid[i] = true
		o.pool = append(o.pool, int32(i))
		sum += v
		if r := report[i]; !math.IsNaN(r) {
			rsum += r
			rn++
		}
		switch {
		case v > o.optVal:
			o.optVal = v
			o.optimum = append(o.optimum[:0], int32(i))
		case v == o.optVal:
			o.optimum = append(o.optimum, int32(i))
		}
	}
	if len(o.pool) == 0 {
		return nil, fmt.Errorf("search: oracle: no architecture satisfies the constraint and has a target value: %w", ErrBadInput)
	}
	o.mean = sum / float64(len(o.pool))
	var ss float64
	for _, i := range o.pool {
		d := target[i] - o.mean
		ss += d * d
	}
	o.std = math.Sqrt(ss / float64(len(o.pool)))
	o.repMean = math.NaN()
	if rn > 0 {
		o.repMean = rsum / float64(rn)
	}
	return o, nil
}

// Len is the size of the space.
func (o *Oracle) Len() int { return len(o.Target) }

// Valid reports whether i may be sampled (allowed, with a target value).
func (o *Oracle) Valid(i int) bool { return o.valid[i] }

// Pool returns the valid indices in ascending order.
func (o *Oracle) Pool() []int32 { return o.pool }

// Optimum returns the tie set of the best target value and that value.
func (o *Oracle) Optimum() ([]int32, float64) { return o.optimum, o.optVal }

// TargetStats returns the mean and population standard deviation (ddof 0,
// as np.std) of the target over the valid cells, for z-scoring labels.
func (o *Oracle) TargetStats() (mean, std float64) { return o.mean, o.std }

// ReportMean is the mean report value over the valid cells: the "average
// architecture" baseline of the relative improvement.
func (o *Oracle) ReportMean() float64 { return o.repMean }
