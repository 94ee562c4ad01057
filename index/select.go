package index

import (
	"strconv"
	"strings"
)

// LowerIsBetter reports whether smaller values of a metric rank first (losses,
// times, costs, device latencies): the default order of top lists.
func LowerIsBetter(metric string) bool {
	return metric == MetricLoss || strings.Contains(metric, "time") || metric == MetricLatency ||
		metric == MetricParams || metric == MetricFLOPs || strings.HasPrefix(metric, "hw:")
}

// ParseNB101Select maps the user-facing names of one number per NB101 cell
// onto a selection: split train|valid|test with metric accuracy (the
// default) or time, or metric as an api.py key (final_test_accuracy,
// halfway_training_time, ...); budget in epochs (default 108); repeat
// "mean" (the default) or a repeat number. Errors match ErrInvalid.
func ParseNB101Select(split, budget, repeat, metric string) (NB101Select, error) {
	sel := NB101Select{Epochs: 108, Repeat: NB101MeanRepeats}
	if budget != "" {
		e, err := strconv.Atoi(budget)
		if err != nil {
			return sel, Invalidf("hp %q: the NB101 budget in epochs (4, 12, 36, 108)", budget)
		}
		sel.Epochs = e
	}
	if repeat != "" && repeat != "mean" {
		r, err := strconv.Atoi(repeat)
		if err != nil {
			return sel, Invalidf("seed %q: mean or a repeat number for nb101", repeat)
		}
		sel.Repeat = r
	}
	name := metric
	if name == "" || name == MetricAccuracy || name == MetricTime {
		s := map[string]string{"": "validation", "train": "train", "valid": "validation", "validation": "validation", "test": "test"}[split]
		if s == "" {
			return sel, Invalidf("split %q: want train, valid or test for nb101", split)
		}
		name = "final_" + s + "_accuracy"
		if metric == MetricTime {
			name = "final_training_time"
		}
	}
	m, err := ParseNB101Metric(name)
	if err != nil {
		return sel, err
	}
	sel.Metric = m
	return sel, nil
}

// CostsOrComputed is ComputeCosts with the fallback of the query command:
// where the table records no params, the costs computed from the cell
// (ComputedCosts) stand in, keeping a recorded latency. src is "table" or
// "computed".
func (b *Bench) CostsOrComputed(row int, dataset, hp string, p SeedPolicy) (c Costs, src string, err error) {
	c, err = b.ComputeCosts(row, dataset, hp, p)
	src = "table"
	if err != nil || c.Params != c.Params {
		if cc, ok := b.ComputedCosts(row, dataset); ok {
			if err == nil {
				cc.Latency = c.Latency
			}
			c, err, src = cc, nil, "computed"
		}
	}
	return c, src, err
}
