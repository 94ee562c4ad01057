package index

import (
	"time"
)

// Live results: architectures trained by nbquery itself (package train)
// where no table has them. Package catalog stores each finished run as one
// catalogue entry (catalog.PutLive, catalog.Live), holding the metrics under
// the tabular benchmarks' keys (train-accuracy, valid-accuracy,
// test-accuracy, losses, times, params, flops).

// LiveResult is one finished training run.
type LiveResult struct {
	Bench   string             `json:"bench"`
	Arch    string             `json:"arch"`
	Dataset string             `json:"dataset"`
	Epochs  int                `json:"epochs"`
	Seed    uint64             `json:"seed"`
	Metrics map[string]float64 `json:"metrics"`
	Config  string             `json:"config,omitempty"` // hash of the training configuration
	Time    time.Time          `json:"time"`
}

// MeanLive averages the metrics of runs (ascending seed order, summed left
// to right) into one result with Seed 0; keys missing from any run are
// dropped.
func MeanLive(runs []LiveResult) LiveResult {
	if len(runs) == 0 {
		return LiveResult{}
	}
	m := LiveResult{Bench: runs[0].Bench, Arch: runs[0].Arch, Dataset: runs[0].Dataset, Epochs: runs[0].Epochs, Metrics: map[string]float64{}}
	for k := range runs[0].Metrics {
		sum, ok := 0.0, true
		for _, r := range runs {
			v, has := r.Metrics[k]
			if !has {
				ok = false
				break
			}
			sum += v
		}
		if ok {
			m.Metrics[k] = sum / float64(len(runs))
		}
	}
	return m
}
