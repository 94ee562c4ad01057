package index

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Live results: architectures trained by nbquery itself (package train)
// where no table has them. Each finished run is one catalogue entry keyed
// live/<bench>/<arch>/<dataset>/<epochs>/<seed>, holding the metrics under
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

func liveKey(bench, arch, dataset string, epochs int, seed uint64) string {
	return liveFidelityPrefix(bench, arch, dataset, epochs) + strconv.FormatUint(seed, 10)
}

func liveFidelityPrefix(bench, arch, dataset string, epochs int) string {
	return "live/" + bench + "/" + arch + "/" + dataset + "/" + strconv.Itoa(epochs) + "/"
}

// PutLive records a finished run, replacing an earlier run of the same
// architecture, dataset, fidelity and seed.
func (s *Store) PutLive(r LiveResult) error {
	if r.Bench == "" || r.Arch == "" || r.Dataset == "" || r.Epochs <= 0 {
		return fmt.Errorf("index: live result needs bench, arch, dataset and epochs: %+v", r)
	}
	if strings.Contains(r.Arch+r.Dataset+r.Bench, "\x00") {
		return fmt.Errorf("index: live result: NUL in a name")
	}
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("index: live result: %w", err)
	}
	return s.PutCatalog([]byte(liveKey(r.Bench, r.Arch, r.Dataset, r.Epochs, r.Seed)), b)
}

// Live returns the live runs of an architecture on a dataset at a fidelity,
// ascending by seed; epochs <= 0 matches every fidelity. It returns an error
// wrapping ErrNotFound if there are none.
func (s *Store) Live(bench, arch, dataset string, epochs int) ([]LiveResult, error) {
	prefix := "live/" + bench + "/" + arch + "/" + dataset + "/"
	if epochs > 0 {
		prefix = liveFidelityPrefix(bench, arch, dataset, epochs)
	}
	var out []LiveResult
	err := s.ViewCatalog([]byte(prefix), func(key, val []byte) error {
		var r LiveResult
		if err := json.Unmarshal(val, &r); err != nil {
			return fmt.Errorf("index: live result %s: %w: %v", key, ErrCorrupt, err)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no live result for %s %s on %s", ErrNotFound, bench, arch, dataset)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Epochs != out[j].Epochs {
			return out[i].Epochs < out[j].Epochs
		}
		return out[i].Seed < out[j].Seed
	})
	return out, nil
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
