package index

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Benchmark names.
const (
	NB201   = "nb201"    // NAS-Bench-201 and NATS-Bench topology space (shared index)
	NATSSSS = "nats-sss" // NATS-Bench size space, 32,768 channel configurations
	NB101   = "nb101"    // NAS-Bench-101
)

// SeedMean is the Seed of a column that holds only the mean over seeds (for
// sources, such as flattened CSV exports, that never had per-seed values).
const SeedMean = -1

// Key names one stored metric column of a tabular benchmark.
type Key struct {
	Dataset string // "cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"; "" for arch-only columns
	HP      string // training schedule: "12", "200" (tss), "01", "12", "90" (sss); "" for none
	Set     string // "train", "x-valid", "x-test", "ori-test"; "cost" for compute costs; "hw" for device latency
	Metric  string // see the Metric* constants, or a device name under Set "hw"
	Seed    int    // trial seed, or SeedMean
}

// Metric names.
const (
	MetricAccuracy = "accuracy" // top-1, percent for NB201/NATS, fraction for NB101
	MetricLoss     = "loss"
	MetricTime     = "time"     // time of that epoch alone (train_times / eval_times), seconds
	MetricAllTime  = "all-time" // sum of the epoch times 0..e, in Python's summation order
	MetricPerTime  = "per-time" // only stored when a source gives it; else all-time/(e+1)
	MetricParams   = "params"   // MB (millions of parameters)
	MetricFLOPs    = "flops"    // MFLOPs
	MetricLatency  = "latency"  // seconds per batch (NATS), or ms under Set "hw"
)

// Set names.
const (
	SetTrain   = "train"
	SetXValid  = "x-valid"
	SetXTest   = "x-test"
	SetOriTest = "ori-test"
	SetCost    = "cost"
	SetHW      = "hw"
)

func (k Key) String() string {
	seed := fmt.Sprint(k.Seed)
	if k.Seed == SeedMean {
		seed = "mean"
	}
	return k.Dataset + "/" + k.HP + "/" + k.Set + "/" + k.Metric + "/" + seed
}

// Column is one metric for a run of rows. Epochs lists the stored epochs
// (0-based, ascending); it is empty for epoch-free columns (costs, latency).
// Values holds Rows × max(1, len(Epochs)) numbers, row-major; NaN means "not
// recorded" and is never returned as a value.
type Column struct {
	Key    Key
	Epochs []int
	Values []float64
}

// Width is the number of values per row.
func (c *Column) Width() int { return max(1, len(c.Epochs)) }

// Frame is a batch of columns for rows Rows of a benchmark (row = the
// benchmark's architecture index). Rows must be ascending within a segment.
type Frame struct {
	Rows    []int
	Columns []Column
}

// Source describes one ingested input (a file or a directory).
type Source struct {
	Path   string // as given by the user
	Kind   string // "nats-dir", "nats-file", "nb201-pth", "csv", "help-latency", "nb101-tfrecord", ...
	SHA256 string // hex digest of the content (for directories: of the sorted names and file digests)
	Size   int64
}

// NaN is the "not recorded" marker.
var NaN = math.NaN()

// Epochs is a list of epochs that marshals compactly as ranges ("0-199",
// "11", "0-5,9"), which keeps the manifest small and fast to parse.
type Epochs []int

// MarshalJSON writes the ranges as one string.
func (e Epochs) MarshalJSON() ([]byte, error) {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(e); {
		j := i
		for j+1 < len(e) && e[j+1] == e[j]+1 {
			j++
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Itoa(e[i]))
		if j > i {
			sb.WriteByte('-')
			sb.WriteString(strconv.Itoa(e[j]))
		}
		i = j + 1
	}
	sb.WriteByte('"')
	return []byte(sb.String()), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Epochs) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("index: epochs %s: %w", b, err)
	}
	*e, err = parseEpochs(s)
	return err
}

// parseEpochs reads "0-199", "11" or "0-5,9" into a list sized exactly.
func parseEpochs(s string) (Epochs, error) {
	if s == "" {
		return nil, nil
	}
	type span struct{ a, z int }
	var spans [8]span
	sp := spans[:0]
	n := 0
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("index: epochs %q: %w", s, err)
		}
		z := a
		if isRange {
			if z, err = strconv.Atoi(hi); err != nil || z < a {
				return nil, fmt.Errorf("index: epochs %q: bad range %q", s, part)
			}
		}
		sp = append(sp, span{a, z})
		n += z - a + 1
	}
	out := make(Epochs, 0, n)
	for _, x := range sp {
		for v := x.a; v <= x.z; v++ {
			out = append(out, v)
		}
	}
	return out, nil
}
