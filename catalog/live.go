package catalog

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nbquery/nbquery/index"
)

// Live results (index.LiveResult): each finished training run is one
// catalogue entry keyed live/<bench>/<arch>/<dataset>/<epochs>/<seed>.

func liveKey(bench, arch, dataset string, epochs int, seed uint64) string {
	return liveFidelityPrefix(bench, arch, dataset, epochs) + strconv.FormatUint(seed, 10)
}

func liveFidelityPrefix(bench, arch, dataset string, epochs int) string {
	return "live/" + bench + "/" + arch + "/" + dataset + "/" + strconv.Itoa(epochs) + "/"
}

// PutLive records a finished run, replacing an earlier run of the same
// architecture, dataset, fidelity and seed.
func (c *Catalog) PutLive(r index.LiveResult) error {
	if r.Bench == "" || r.Arch == "" || r.Dataset == "" || r.Epochs <= 0 {
		return fmt.Errorf("catalog: live result needs bench, arch, dataset and epochs: %+v", r)
	}
	if strings.Contains(r.Arch+r.Dataset+r.Bench, "\x00") {
		return fmt.Errorf("catalog: live result: NUL in a name")
	}
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("catalog: live result: %w", err)
	}
	return c.Put([]byte(liveKey(r.Bench, r.Arch, r.Dataset, r.Epochs, r.Seed)), b)
}

// Live returns the live runs of an architecture on a dataset at a fidelity,
// ascending by seed; epochs <= 0 matches every fidelity. It returns an error
// wrapping index.ErrNotFound if there are none.
func (c *Catalog) Live(bench, arch, dataset string, epochs int) ([]index.LiveResult, error) {
	prefix := "live/" + bench + "/" + arch + "/" + dataset + "/"
	if epochs > 0 {
		prefix = liveFidelityPrefix(bench, arch, dataset, epochs)
	}
	var out []index.LiveResult
	err := c.View([]byte(prefix), func(key, val []byte) error {
		var r index.LiveResult
		if err := json.Unmarshal(val, &r); err != nil {
			return fmt.Errorf("catalog: live result %s: %w: %v", key, index.ErrCorrupt, err)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no live result for %s %s on %s", index.ErrNotFound, bench, arch, dataset)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Epochs != out[j].Epochs {
			return out[i].Epochs < out[j].Epochs
		}
		return out[i].Seed < out[j].Seed
	})
	return out, nil
}
