package index

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Query names one number per architecture: a metric of a split of a dataset
// under a training schedule, at an epoch, with a seed policy. Metric is one
// of accuracy (the default), loss, per-time, all-time, params, flops,
// latency, or "hw:<device>" for a measured device latency (ms).
type Query struct {
	Dataset string
	HP      string
	Split   string // train, valid, test, valtest, x-valid, x-test, ori-test
	Metric  string
	Epoch   int // -1 = the last epoch of HP
	Seed    SeedPolicy
}

func (q Query) String() string {
	m := q.Metric
	if m == "" {
		m = MetricAccuracy
	}
	if strings.HasPrefix(m, "hw:") {
		return m
	}
	e := "last"
	if q.Epoch >= 0 {
		e = fmt.Sprint(q.Epoch)
	}
	return fmt.Sprintf("%s/%s/%s hp=%s epoch=%s seed=%s", q.Dataset, q.Split, m, q.HP, e, q.Seed)
}

// Value answers q for one architecture. Params and FLOPs of an nb201 cell
// that no table carries are computed from the architecture (ComputedCosts).
func (b *Bench) Value(row int, q Query) (float64, error) {
	v, _, err := b.valueSrc(row, q)
	return v, err
}

// valueSrc is Value, also saying whether the value was computed.
func (b *Bench) valueSrc(row int, q Query) (float64, bool, error) {
	m := q.Metric
	if m == "" {
		m = MetricAccuracy
	}
	if dev, ok := strings.CutPrefix(m, "hw:"); ok {
		v, err := b.DeviceLatency(row, dev)
		return v, false, err
	}
	switch m {
	case MetricParams, MetricFLOPs, MetricLatency:
		return b.costValue(row, q, m)
	}
	v, err := b.tableValue(row, q, m)
	return v, false, err
}

func (b *Bench) tableValue(row int, q Query, m string) (float64, error) {
	dataset, set, err := ResolveSplit(q.Dataset, q.Split)
	if err != nil {
		return 0, err
	}
	s, err := b.GetMetrics(row, dataset, q.HP, set, q.Epoch, q.Seed)
	if err != nil {
		return 0, err
	}
	var v float64
	switch m {
	case MetricAccuracy:
		v = s.Accuracy
	case MetricLoss:
		v = s.Loss
	case MetricAllTime:
		v = s.AllTime
	case MetricPerTime:
		v = s.PerTime
	default:
		return 0, &InvalidValue{Name: "metric", Value: m, Valid: Metrics}
	}
	if math.IsNaN(v) {
		return 0, fmt.Errorf("%w: %s %s of index %d on %s hp %s", ErrUnavailable, set, m, row, dataset, q.HP)
	}
	return v, nil
}

// Vector answers q for every architecture into dst (len(dst) must be Len();
// nil allocates). Architectures without a recorded value get NaN. It
// returns an error only if no architecture at all has a value, with the
// reason of the first failure.
func (b *Bench) Vector(dst []float64, q Query) ([]float64, error) {
	dst, _, err := b.VectorCoverage(dst, q)
	return dst, err
}

// VectorCoverage is Vector, also saying how many architectures have a
// value, how many of those were computed, and how many have none.
func (b *Bench) VectorCoverage(dst []float64, q Query) ([]float64, Coverage, error) {
	var cov Coverage
	if err := q.check(); err != nil {
		return dst, cov, err
	}
	if dst == nil {
		dst = make([]float64, b.n)
	}
	if len(dst) != b.n {
		panic(fmt.Sprintf("index: Vector: dst has %d entries for %d architectures", len(dst), b.n))
	}
	var firstErr error
	for row := range dst {
		v, computed, err := b.valueSrc(row, q)
		if err != nil {
			if errors.Is(err, ErrInvalid) {
				return dst, cov, err
			}
			if firstErr == nil {
				firstErr = err
			}
			dst[row] = math.NaN()
			cov.Missing++
			continue
		}
		dst[row] = v
		cov.Count++
		if computed {
			cov.Computed++
		}
	}
	if cov.Count == 0 {
		return dst, cov, firstErr
	}
	return dst, cov, nil
}

// check rejects a query outside the documented values before any row is
// read (ErrInvalid).
func (q Query) check() error {
	m := q.Metric
	if m == "" {
		m = MetricAccuracy
	}
	if strings.HasPrefix(m, "hw:") {
		return nil
	}
	if err := checkDataset(q.Dataset); err != nil {
		return err
	}
	switch m {
	case MetricAccuracy, MetricLoss, MetricAllTime, MetricPerTime:
		if _, _, err := ResolveSplit(q.Dataset, q.Split); err != nil && errors.Is(err, ErrInvalid) {
			return err
		}
	case MetricParams, MetricFLOPs, MetricLatency:
	default:
		return &InvalidValue{Name: "metric", Value: m, Valid: Metrics}
	}
	if _, err := LastEpoch(q.HP); err != nil {
		return err
	}
	if q.Epoch < -1 {
		return Invalidf("epoch %d: epochs are 0-based (-1: the last)", q.Epoch)
	}
	return nil
}

// Ranked is one architecture of a top-k list.
type Ranked struct {
	Index int
	Value float64
}

// TopK returns the k best architectures by q (highest first, or lowest
// first when lowest is set, as for losses and latencies); ties are broken by
// the lower index. Architectures without a value are left out (see Rank).
func (b *Bench) TopK(q Query, k int, lowest bool) ([]Ranked, error) {
	r, _, err := b.Rank(q, k, lowest)
	return r, err
}

// Rank is TopK, also saying how many architectures were ranked, computed
// and left out for lack of a value.
func (b *Bench) Rank(q Query, k int, lowest bool) ([]Ranked, Coverage, error) {
	v, cov, err := b.VectorCoverage(nil, q)
	if err != nil {
		return nil, cov, err
	}
	idx := make([]int, 0, len(v))
	for i, x := range v {
		if !math.IsNaN(x) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(i, j int) bool {
		a, c := v[idx[i]], v[idx[j]]
		if lowest {
			return a < c
		}
		return a > c
	})
	k = min(k, len(idx))
	out := make([]Ranked, k)
	for i := 0; i < k; i++ {
		out[i] = Ranked{idx[i], v[idx[i]]}
	}
	return out, cov, nil
}

// Stats summarises a metric over the space: the "average architecture"
// baseline and its spread.
type Stats struct {
	Count                      int // architectures with a value
	Missing                    int
	Mean, Std                  float64 // population std (ddof 0, as np.std)
	Min, Q25, Median, Q75, Max float64 // quantiles by linear interpolation (np.quantile default)
	ArgMin, ArgMax             int
	Computed                   int // values computed from the architecture (Coverage)
}

// Stats computes Stats for q.
func (b *Bench) Stats(q Query) (Stats, error) {
	v, cov, err := b.VectorCoverage(nil, q)
	if err != nil {
		return Stats{}, err
	}
	s := Summarize(v)
	s.Computed = cov.Computed
	return s, nil
}

// Summarize computes Stats over the non-NaN values of v.
func Summarize(v []float64) Stats {
	var st Stats
	xs := make([]float64, 0, len(v))
	st.ArgMin, st.ArgMax = -1, -1
	for i, x := range v {
		if math.IsNaN(x) {
			st.Missing++
			continue
		}
		if st.ArgMax < 0 || x > v[st.ArgMax] {
			st.ArgMax = i
		}
		if st.ArgMin < 0 || x < v[st.ArgMin] {
			st.ArgMin = i
		}
		xs = append(xs, x)
	}
	st.Count = len(xs)
	if st.Count == 0 {
		nan := math.NaN()
		st.Mean, st.Std, st.Min, st.Q25, st.Median, st.Q75, st.Max = nan, nan, nan, nan, nan, nan, nan
		return st
	}
	// Four accumulators: the sum is latency-bound with one.
	var s [4]float64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		s[0] += xs[i]
		s[1] += xs[i+1]
		s[2] += xs[i+2]
		s[3] += xs[i+3]
	}
	for ; i < len(xs); i++ {
		s[0] += xs[i]
	}
	st.Mean = (s[0] + s[1] + s[2] + s[3]) / float64(len(xs))
	var ss float64
	for _, x := range xs {
		d := x - st.Mean
		ss += d * d
	}
	st.Std = math.Sqrt(ss / float64(len(xs)))
	sort.Float64s(xs)
	q := func(p float64) float64 {
		h := p * float64(len(xs)-1)
		lo := math.Floor(h)
		hi := math.Min(lo+1, float64(len(xs)-1))
		return xs[int(lo)] + (h-lo)*(xs[int(hi)]-xs[int(lo)])
	}
	st.Min, st.Q25, st.Median, st.Q75, st.Max = xs[0], q(0.25), q(0.5), q(0.75), xs[len(xs)-1]
	return st
}

// Simulator is simulate_train_eval with its accumulated time: each call
// adds the simulated cost of training and evaluating one architecture.
type Simulator struct {
	B        *Bench
	HP       string
	Seed     SeedPolicy // the official API uses a random seed
	UsedTime float64
}

// TrainEval returns (valid accuracy, latency, time cost, total used time)
// of row on dataset (cifar10, cifar100 or ImageNet16-120; cifar10 is
// answered from cifar10-valid as the official API does) at epoch (-1 last).
func (s *Simulator) TrainEval(row int, dataset string, epoch int) (validAcc, latency, cost, used float64, err error) {
	switch dataset {
	case "cifar10", "cifar100", "ImageNet16-120":
	default:
		return 0, 0, 0, s.UsedTime, fmt.Errorf("index: simulate_train_eval: invalid dataset name %q (want cifar10, cifar100 or ImageNet16-120)", dataset)
	}
	d := dataset
	if d == "cifar10" {
		d = "cifar10-valid"
	}
	p := s.Seed
	if p.Mode == SeedRandom {
		seeds, err := s.B.chooseSeed(row, d, s.HP, p)
		if err != nil {
			return 0, 0, 0, s.UsedTime, err
		}
		p = FixedSeed(seeds[0])
	}
	train, err := s.B.GetMetrics(row, d, s.HP, SetTrain, epoch, p)
	if err != nil {
		return 0, 0, 0, s.UsedTime, err
	}
	valid, err := s.B.GetMetrics(row, d, s.HP, SetXValid, epoch, p)
	if err != nil {
		return 0, 0, 0, s.UsedTime, err
	}
	if math.IsNaN(train.AllTime) || math.IsNaN(valid.PerTime) {
		return 0, 0, 0, s.UsedTime, fmt.Errorf("%w: training times of index %d on %s hp %s", ErrUnavailable, row, d, s.HP)
	}
	c, err := s.B.ComputeCosts(row, dataset, s.HP, MeanSeeds())
	if err != nil {
		return 0, 0, 0, s.UsedTime, err
	}
	cost = train.AllTime + valid.PerTime
	s.UsedTime += cost
	return valid.Accuracy, c.Latency, cost, s.UsedTime, nil
}
