package index

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/nbquery/nbquery/space/nb101"
)

// NB101Result is the answer of a query, with api.py query()'s keys:
// module_adjacency and module_operations (Spec, the stored variant),
// trainable_parameters, training_time, train_accuracy, validation_accuracy,
// test_accuracy. Repeat is the repeat used, or -1 for a mean.
type NB101Result struct {
	Hash               nb101.Hash
	Spec               nb101.Spec
	Params             int64
	TrainingTime       float64
	TrainAccuracy      float64
	ValidationAccuracy float64
	TestAccuracy       float64
	Repeat             int
}

// NB101MeanRepeats selects the mean over the recorded repeats.
const NB101MeanRepeats = -1

// IsValid reports whether matrix and ops form a cell of the space
// (api.is_valid). It does not consult the table.
func (t *NB101Table) IsValid(matrix [][]int, ops []string) bool { return nb101.IsValid(matrix, ops) }

// Query answers api.py's query(spec, epochs, stop_halfway): the metrics of
// one repeat drawn uniformly with r among the repeats recorded at that
// budget (api.py draws random.randint(0, num_repeats-1); with the official
// files every budget has all 3). It adds the training time and epochs
// (epochs/2 when stopHalfway) to the budget counters.
//
// Errors: nb101.ErrOutOfDomain for a budget other than 4, 12, 36, 108;
// ErrNotFound for a cell the table lacks; ErrUnavailable for a budget the
// source lacks. When a partial table lacks some returned metrics, the result
// carries NaN for them together with an error wrapping ErrUnavailable that
// names them.
func (t *NB101Table) Query(spec nb101.Spec, epochs int, stopHalfway bool, r *rand.Rand) (NB101Result, error) {
	return t.QueryHash(spec.Hash(), epochs, stopHalfway, r)
}

// QueryHash is Query for a cell given by its hash.
func (t *NB101Table) QueryHash(h nb101.Hash, epochs int, stopHalfway bool, r *rand.Rand) (NB101Result, error) {
	if r == nil {
		panic("index: NB101Table.Query: nil *rand.Rand")
	}
	row, bi, n, err := t.locate(h, epochs)
	if err != nil {
		return NB101Result{}, err
	}
	return t.answer(row, bi, r.IntN(n), stopHalfway)
}

// QueryRepeat is Query with a fixed repeat (0-based, in file order). Like
// every query it adds to the budget counters.
func (t *NB101Table) QueryRepeat(spec nb101.Spec, epochs int, stopHalfway bool, repeat int) (NB101Result, error) {
	row, bi, n, err := t.locate(spec.Hash(), epochs)
	if err != nil {
		return NB101Result{}, err
	}
	if repeat < 0 || repeat >= n {
		return NB101Result{}, fmt.Errorf("%w: cell %s has %d repeats at %d epochs, not repeat %d", ErrUnavailable, t.Hash(row), n, epochs, repeat)
	}
	return t.answer(row, bi, repeat, stopHalfway)
}

// QueryMean is Query with every metric averaged over the recorded repeats
// (numpy order: ((r0 + r1) + r2) / 3), the usual "mean" benchmark value. It
// adds the mean training time and the epochs of one run to the budget counters.
func (t *NB101Table) QueryMean(spec nb101.Spec, epochs int, stopHalfway bool) (NB101Result, error) {
	row, bi, _, err := t.locate(spec.Hash(), epochs)
	if err != nil {
		return NB101Result{}, err
	}
	return t.answer(row, bi, NB101MeanRepeats, stopHalfway)
}

func (t *NB101Table) locate(h nb101.Hash, epochs int) (row, bi, n int, err error) {
	bi = NB101BudgetIndex(epochs)
	if bi < 0 {
		return 0, 0, 0, fmt.Errorf("%w: invalid number of epochs %d, must be one of 4, 12, 36, 108", nb101.ErrOutOfDomain, epochs)
	}
	row, ok := t.Row(h)
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: NB101 cell %s is not in the table (%s)", ErrNotFound, h, t.src.Path)
	}
	n = int(t.nrep[4*row+bi])
	if n == 0 {
		return 0, 0, 0, fmt.Errorf("%w: NB101 cell %s has no run at %d epochs in %s", ErrUnavailable, h, epochs, t.src.Path)
	}
	return row, bi, n, nil
}

// value returns metric m of a row at budget index bi for a repeat or the
// mean of the recorded repeats.
func (t *NB101Table) value(row, bi int, m NB101Metric, repeat int) float64 {
	off := row*nb101Width + bi*nb101BudgetWidth + int(m)
	if repeat >= 0 {
		return t.runs[off+repeat*nb101RunWidth]
	}
	n := int(t.nrep[4*row+bi])
	if n == 0 {
		return math.NaN()
	}
	s := t.runs[off]
	for r := 1; r < n; r++ {
		s += t.runs[off+r*nb101RunWidth]
	}
	return s / float64(n)
}

func (t *NB101Table) answer(row, bi, repeat int, halfway bool) (NB101Result, error) {
	base := FinalTrainingTime
	if halfway {
		base = HalfwayTrainingTime
	}
	res := NB101Result{Hash: t.Hash(row), Spec: t.Spec(row), Params: t.params[row], Repeat: repeat}
	if repeat >= 0 {
		// The four values share one cache line of the runs column.
		off := row*nb101Width + bi*nb101BudgetWidth + repeat*nb101RunWidth + int(base)
		v := t.runs[off : off+4 : off+4]
		res.TrainingTime, res.TrainAccuracy, res.ValidationAccuracy, res.TestAccuracy = v[0], v[1], v[2], v[3]
	} else {
		res.TrainingTime = t.value(row, bi, base, repeat)
		res.TrainAccuracy = t.value(row, bi, base+1, repeat)
		res.ValidationAccuracy = t.value(row, bi, base+2, repeat)
		res.TestAccuracy = t.value(row, bi, base+3, repeat)
	}
	if res.TrainingTime == res.TrainingTime { // not NaN
		t.trainingTime += res.TrainingTime
	}
	if halfway {
		t.epochs += NB101Epochs[bi] / 2
	} else {
		t.epochs += NB101Epochs[bi]
	}
	vals := [4]float64{res.TrainingTime, res.TrainAccuracy, res.ValidationAccuracy, res.TestAccuracy}
	var missing []string
	for i, v := range vals {
		if math.IsNaN(v) {
			missing = append(missing, (base + NB101Metric(i)).String())
		}
	}
	if missing == nil {
		return res, nil
	}
	return res, &NB101Missing{Hash: res.Hash, Epochs: NB101Epochs[bi], Metrics: missing, Sources: t.CellSources(row)}
}

// NB101Missing reports the metrics a table lacks for a cell it holds; it
// wraps ErrUnavailable. A query that returns it also returns the metrics the
// table has (the missing ones NaN).
type NB101Missing struct {
	Hash    nb101.Hash
	Epochs  int
	Metrics []string // api.py keys, e.g. "final_test_accuracy"
	Sources []string // the sources that hold the cell
}

func (e *NB101Missing) Error() string {
	return fmt.Sprintf("%s lacks %s at %d epochs for cell %s", strings.Join(e.Sources, ", "), strings.Join(e.Metrics, ", "), e.Epochs, e.Hash)
}

// Unwrap returns ErrUnavailable.
func (e *NB101Missing) Unwrap() error { return ErrUnavailable }

// BudgetCounters returns the training time (seconds) and epochs spent by
// queries since the last reset (api.py get_budget_counters).
func (t *NB101Table) BudgetCounters() (trainingTime float64, epochs int) {
	return t.trainingTime, t.epochs
}

// ResetBudgetCounters zeroes the budget counters.
func (t *NB101Table) ResetBudgetCounters() { t.trainingTime, t.epochs = 0, 0 }

// NB101Stats is api.py's get_metrics_from_hash: the fixed statistics (Spec,
// Params) and every computed run, Runs[budget index][repeat] for the first
// Repeats[budget index] repeats.
type NB101Stats struct {
	Hash    nb101.Hash
	Spec    nb101.Spec
	Params  int64
	Repeats [len(NB101Epochs)]int
	Runs    [len(NB101Epochs)][NB101Repeats]NB101Run
}

// Computed returns the runs recorded at a budget (computed_statistics[epochs]);
// the slice aliases s.
func (s *NB101Stats) Computed(epochs int) []NB101Run {
	bi := NB101BudgetIndex(epochs)
	if bi < 0 {
		return nil
	}
	return s.Runs[bi][:s.Repeats[bi]]
}

// GetMetricsFromHash returns every statistic of a cell. It does not touch
// the budget counters.
func (t *NB101Table) GetMetricsFromHash(h nb101.Hash) (NB101Stats, error) {
	row, ok := t.Row(h)
	if !ok {
		return NB101Stats{}, fmt.Errorf("%w: NB101 cell %s is not in the table (%s)", ErrNotFound, h, t.src.Path)
	}
	s := NB101Stats{Hash: h, Spec: t.Spec(row), Params: t.params[row]}
	for bi := range NB101Epochs {
		s.Repeats[bi] = int(t.nrep[4*row+bi])
		off := row*nb101Width + bi*nb101BudgetWidth
		for r := range NB101Repeats {
			copy(s.Runs[bi][r][:], t.runs[off+r*nb101RunWidth:])
		}
	}
	return s, nil
}

// GetMetricsFromSpec is GetMetricsFromHash(spec.Hash()).
func (t *NB101Table) GetMetricsFromSpec(spec nb101.Spec) (NB101Stats, error) {
	return t.GetMetricsFromHash(spec.Hash())
}

// HashIterator yields every hash of the table in ascending order (the order
// of the official files).
func (t *NB101Table) HashIterator() iter.Seq[nb101.Hash] {
	return func(yield func(nb101.Hash) bool) {
		for i := 0; i < t.n; i++ {
			if !yield(t.Hash(i)) {
				return
			}
		}
	}
}

// NB101Select names one number per cell: a metric at a budget, for one
// repeat or the mean over the recorded repeats (Repeat = NB101MeanRepeats).
type NB101Select struct {
	Metric NB101Metric
	Epochs int
	Repeat int
}

func (s NB101Select) String() string {
	r := "mean"
	if s.Repeat >= 0 {
		r = fmt.Sprintf("repeat %d", s.Repeat)
	}
	return fmt.Sprintf("%s@%d (%s)", s.Metric, s.Epochs, r)
}

func (t *NB101Table) checkSelect(sel NB101Select) (int, error) {
	bi := NB101BudgetIndex(sel.Epochs)
	if bi < 0 {
		return 0, fmt.Errorf("%w: invalid number of epochs %d, must be one of 4, 12, 36, 108", nb101.ErrOutOfDomain, sel.Epochs)
	}
	if sel.Metric >= NumNB101Metrics {
		panic(fmt.Sprintf("index: NB101Select: metric %d out of range", sel.Metric))
	}
	if sel.Repeat >= NB101Repeats || sel.Repeat < NB101MeanRepeats {
		return 0, fmt.Errorf("%w: repeat %d (the benchmark has %d)", ErrUnavailable, sel.Repeat, NB101Repeats)
	}
	if !t.present[sel.Metric][bi] {
		return 0, fmt.Errorf("%w: %s lacks %s at %d epochs", ErrUnavailable, t.src.Path, sel.Metric, sel.Epochs)
	}
	return bi, nil
}

// Value returns the selected number of a row, or an error wrapping
// ErrUnavailable if the table does not record it.
func (t *NB101Table) Value(row int, sel NB101Select) (float64, error) {
	bi, err := t.checkSelect(sel)
	if err != nil {
		return 0, err
	}
	if sel.Repeat >= int(t.nrep[4*row+bi]) {
		return 0, fmt.Errorf("%w: cell %s has %d repeats at %d epochs", ErrUnavailable, t.Hash(row), t.nrep[4*row+bi], sel.Epochs)
	}
	v := t.value(row, bi, sel.Metric, sel.Repeat)
	if math.IsNaN(v) {
		return 0, fmt.Errorf("%w: cell %s: %s", ErrUnavailable, t.Hash(row), sel)
	}
	return v, nil
}

// Vector writes the selected number of every row into dst (grown to Len),
// NaN where a cell lacks it, and returns dst.
func (t *NB101Table) Vector(dst []float64, sel NB101Select) ([]float64, error) {
	bi, err := t.checkSelect(sel)
	if err != nil {
		return dst, err
	}
	dst = slices.Grow(dst[:0], t.n)[:t.n]
	for row := range dst {
		if sel.Repeat >= int(t.nrep[4*row+bi]) {
			dst[row] = math.NaN()
			continue
		}
		dst[row] = t.value(row, bi, sel.Metric, sel.Repeat)
	}
	return dst, nil
}

// NB101Ranked is one entry of a top-k list.
type NB101Ranked struct {
	Row   int
	Hash  nb101.Hash
	Value float64
}

// TopK returns the k cells with the highest (lowest if lowest) selected
// value, best first; ties go to the smaller hash. Cells lacking the value
// are skipped.
func (t *NB101Table) TopK(sel NB101Select, k int, lowest bool) ([]NB101Ranked, error) {
	vals, err := t.Vector(nil, sel)
	if err != nil {
		return nil, err
	}
	better := func(a, b NB101Ranked) int { // negative if a ranks before b
		c := cmp.Compare(b.Value, a.Value)
		if lowest {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(a.Row, b.Row)
		}
		return c
	}
	// A bounded sorted buffer: k is small in practice.
	var top []NB101Ranked
	for row, v := range vals {
		if math.IsNaN(v) || k <= 0 {
			continue
		}
		e := NB101Ranked{Row: row, Value: v}
		if len(top) == k && better(e, top[k-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, e, better)
		if len(top) < k {
			top = append(top, NB101Ranked{})
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = e
	}
	for i := range top {
		top[i].Hash = t.Hash(top[i].Row)
	}
	return top, nil
}

// NB101Summary describes the distribution of a selected value over the cells
// that record it. Std is the population standard deviation (numpy's
// default ddof=0).
type NB101Summary struct {
	N                   int
	Mean, Std, Min, Max float64
	ArgMin, ArgMax      nb101.Hash
}

// Summary computes N, mean, std, min and max of a selected value.
func (t *NB101Table) Summary(sel NB101Select) (NB101Summary, error) {
	vals, err := t.Vector(nil, sel)
	if err != nil {
		return NB101Summary{}, err
	}
	s := NB101Summary{Min: math.Inf(1), Max: math.Inf(-1)}
	var sum float64
	amin, amax := -1, -1
	for row, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		s.N++
		sum += v
		if v < s.Min {
			s.Min, amin = v, row
		}
		if v > s.Max {
			s.Max, amax = v, row
		}
	}
	if s.N == 0 {
		return NB101Summary{}, fmt.Errorf("%w: no cell records %s", ErrUnavailable, sel)
	}
	s.Mean = sum / float64(s.N)
	var ss float64
	for _, v := range vals {
		if !math.IsNaN(v) {
			d := v - s.Mean
			ss += d * d
		}
	}
	s.Std = math.Sqrt(ss / float64(s.N))
	s.ArgMin, s.ArgMax = t.Hash(amin), t.Hash(amax)
	return s, nil
}
