package index

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Datasets of the NAS-Bench-201 family, in the official order.
var Datasets = []string{"cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"}

// SeedMode selects how per-seed results are combined (the official is_random).
type SeedMode int

const (
	// SeedAverage averages over the architecture's seeds (is_random=False).
	SeedAverage SeedMode = iota
	// SeedRandom picks one of the architecture's seeds (is_random=True).
	SeedRandom
	// SeedFixed uses one given seed (is_random=<int>).
	SeedFixed
)

// SeedPolicy is a SeedMode with its seed or random source. The zero value
// averages.
type SeedPolicy struct {
	Mode SeedMode
	Seed int        // for SeedFixed
	Rand *rand.Rand // for SeedRandom; required
}

// MeanSeeds, RandomSeed and FixedSeed build the three policies.
func MeanSeeds() SeedPolicy              { return SeedPolicy{} }
func RandomSeed(r *rand.Rand) SeedPolicy { return SeedPolicy{Mode: SeedRandom, Rand: r} }
func FixedSeed(seed int) SeedPolicy      { return SeedPolicy{Mode: SeedFixed, Seed: seed} }
func (p SeedPolicy) String() string {
	switch p.Mode {
	case SeedRandom:
		return "random"
	case SeedFixed:
		return strconv.Itoa(p.Seed)
	}
	return "mean"
}

// ParseSeedPolicy reads "mean", "random" or a seed number.
func ParseSeedPolicy(s string, r *rand.Rand) (SeedPolicy, error) {
	switch s {
	case "", "mean", "avg":
		return MeanSeeds(), nil
	case "random":
		if r == nil {
			panic("index: ParseSeedPolicy: random needs a *rand.Rand")
		}
		return RandomSeed(r), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return SeedPolicy{}, &InvalidValue{Name: "seed policy", Value: s, Valid: []string{"mean", "random", "<seed number>"}}
	}
	return FixedSeed(n), nil
}

// LastEpoch returns the final epoch (0-based) of a training schedule hp.
func LastEpoch(hp string) (int, error) {
	n, err := strconv.Atoi(hp)
	if err != nil || n <= 0 {
		return 0, &InvalidValue{Name: "hp", Value: hp, Note: "want the number of training epochs", Valid: []string{"12", "200", "01", "90"}}
	}
	return n - 1, nil
}

func checkDataset(d string) error {
	for _, x := range Datasets {
		if x == d {
			return nil
		}
	}
	return &InvalidValue{Name: "dataset", Value: d, Valid: Datasets}
}

// ResolveSplit maps a user-facing split to the dataset and stored set, with
// the official remapping: valid/test/valtest per get_more_info, and the raw
// set names train, x-valid, x-test, ori-test as they are.
func ResolveSplit(dataset, split string) (string, string, error) {
	if err := checkDataset(dataset); err != nil {
		return "", "", err
	}
	switch split {
	case SetTrain, SetXValid, SetXTest, SetOriTest:
		return dataset, split, nil
	case "valid":
		switch dataset {
		case "cifar10-valid", "cifar100", "ImageNet16-120":
			return dataset, SetXValid, nil
		case "cifar10":
			// remap_dataset_set_names: cifar10 has no validation split of its
			// own; its valid is cifar10-valid's x-valid.
			return "cifar10-valid", SetXValid, nil
		}
	case "test":
		switch dataset {
		case "cifar10-valid", "cifar10":
			return dataset, SetOriTest, nil
		default:
			return dataset, SetXTest, nil
		}
	case "valtest":
		switch dataset {
		case "cifar100", "ImageNet16-120":
			return dataset, SetOriTest, nil
		}
		return "", "", &InvalidValue{Name: "split", Value: split, Note: dataset + " has no valtest split",
			Valid: []string{"train", "valid", "test", SetXValid, SetOriTest}}
	}
	return "", "", &InvalidValue{Name: "split", Value: split, Valid: Splits}
}

// Seeds returns the seeds stored for (dataset, hp) over the whole benchmark,
// ascending; SeedMean is not included.
func (b *Bench) Seeds(dataset, hp string) []int {
	return append([]int(nil), b.seedsOf(dataset, hp)...)
}

// RowSeeds appends to dst[:0] the seeds the architecture at row was trained
// with for (dataset, hp) (the official dataset_seed): those with a recorded
// final accuracy on any set.
func (b *Bench) RowSeeds(dst []int, row int, dataset, hp string) []int {
	dst = dst[:0]
	last, err := LastEpoch(hp)
	if err != nil {
		return dst
	}
	sp := b.plan(dataset, hp, SetTrain, last, last)
	for i := range sp.seeds {
		if sp.seeds[i].has(row) {
			dst = append(dst, sp.seeds[i].seed)
		}
	}
	return dst
}

// SetInfo is get_metrics' answer for one set: NaN marks a value the
// benchmark did not record (Python's None).
type SetInfo struct {
	Epoch    int
	Loss     float64
	Accuracy float64
	PerTime  float64 // all-time / (epoch+1), or the source's own per-epoch figure
	AllTime  float64
}

// checkRow validates a row index.
func (b *Bench) checkRow(row int) error {
	if row < 0 || (b.n > 0 && row >= b.n) {
		return Invalidf("index %d outside [0, %d)", row, b.n)
	}
	return nil
}

// chooseSeed resolves a policy to the seeds to combine for one row.
func (b *Bench) chooseSeed(row int, dataset, hp string, p SeedPolicy) ([]int, error) {
	seeds := b.RowSeeds(make([]int, 0, 4), row, dataset, hp)
	switch p.Mode {
	case SeedAverage:
		return seeds, nil
	case SeedRandom:
		if len(seeds) == 0 {
			return nil, b.noTrial(row, dataset, hp)
		}
		return []int{seeds[p.Rand.IntN(len(seeds))]}, nil
	case SeedFixed:
		for _, s := range seeds {
			if s == p.Seed {
				return []int{s}, nil
			}
		}
		return nil, fmt.Errorf("%w: can not find random seed (%d) from %v for index %d on %s hp %s", ErrUnavailable, p.Seed, seeds, row, dataset, hp)
	}
	panic("index: bad seed mode")
}

func (b *Bench) noTrial(row int, dataset, hp string) error {
	if b.hasMeanOnly(dataset, hp) {
		return fmt.Errorf("%w: %s hp %s holds only means over seeds (from %s); use the mean seed policy", ErrUnavailable, dataset, hp, b.meanSource(dataset, hp))
	}
	return fmt.Errorf("%w: no trial of index %d on %s hp %s", ErrUnavailable, row, dataset, hp)
}

func (b *Bench) hasMeanOnly(dataset, hp string) bool {
	for k := range b.cols {
		if k.Dataset == dataset && k.HP == hp && k.Seed == SeedMean {
			return true
		}
	}
	return false
}

// setsOf lists the sets with a stored accuracy for (dataset, hp) and the
// sources that hold them, e.g. "x-valid (cifar10_avg.csv), ori-test (...)".
func (b *Bench) setsOf(dataset, hp string) string {
	srcs := map[string]map[string]bool{}
	for k, refs := range b.cols {
		if k.Dataset == dataset && k.HP == hp && k.Metric == MetricAccuracy {
			if srcs[k.Set] == nil {
				srcs[k.Set] = map[string]bool{}
			}
			for _, r := range refs {
				srcs[k.Set][filepath.Base(r.seg.sm.Source.Path)] = true
			}
		}
	}
	if len(srcs) == 0 {
		return "none"
	}
	var parts []string
	for set, m := range srcs {
		parts = append(parts, fmt.Sprintf("%s (%s)", set, strings.Join(slices.Sorted(maps.Keys(m)), ", ")))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func (b *Bench) meanSource(dataset, hp string) string {
	for k, refs := range b.cols {
		if k.Dataset == dataset && k.HP == hp && k.Seed == SeedMean && len(refs) > 0 {
			return refs[0].seg.sm.Source.Path
		}
	}
	return "?"
}

// GetMetrics returns the official ArchResults.get_metrics(dataset, set,
// iepoch, is_random) for one row: epoch -1 is the last epoch of hp. With
// several seeds the values are averaged in ascending seed order, summed left
// to right as np.mean does for so few values. It does not allocate.
func (b *Bench) GetMetrics(row int, dataset, hp, set string, epoch int, p SeedPolicy) (SetInfo, error) {
	if err := b.checkRow(row); err != nil {
		return SetInfo{}, err
	}
	last, err := LastEpoch(hp)
	if err != nil {
		return SetInfo{}, err
	}
	if epoch < -1 || epoch > last {
		return SetInfo{}, Invalidf("epoch %d outside [0, %d] for hp %s (epochs are 0-based; -1 is the last)", epoch, last, hp)
	}
	if epoch < 0 {
		epoch = last
	}
	sp := b.plan(dataset, hp, set, epoch, last)
	nan := math.NaN()
	info := SetInfo{Epoch: epoch, Loss: nan, Accuracy: nan, PerTime: nan, AllTime: nan}
	var accSum, lossSum, timeSum float64
	lossOK, timeOK := true, true
	n := 0
	var chosen *seedPlan
	if p.Mode == SeedRandom {
		// Draw among the row's trials, as random.choice(dataset_seed) does.
		cnt := 0
		for i := range sp.seeds {
			if sp.seeds[i].has(row) {
				cnt++
			}
		}
		if cnt > 0 {
			k := p.Rand.IntN(cnt)
			for i := range sp.seeds {
				if sp.seeds[i].has(row) {
					if k == 0 {
						chosen = &sp.seeds[i]
						break
					}
					k--
				}
			}
		}
	}
	for i := range sp.seeds {
		s := &sp.seeds[i]
		switch p.Mode {
		case SeedRandom:
			if s != chosen {
				continue
			}
		case SeedFixed:
			if s.seed != p.Seed {
				continue
			}
		}
		if !s.has(row) {
			if p.Mode == SeedFixed {
				break
			}
			continue
		}
		acc, ok := s.acc.get(row)
		if !ok {
			k := Key{dataset, hp, set, MetricAccuracy, s.seed}
			if p.Mode == SeedAverage {
				// The mean was asked: name it, not the seed that lacks the set.
				k.Seed = SeedMean
			}
			return SetInfo{}, b.unavailable(row, k, epoch)
		}
		accSum += acc
		n++
		if v, ok := s.loss.get(row); ok {
			lossSum += v
		} else {
			lossOK = false
		}
		if v, ok := s.allTime.get(row); ok {
			timeSum += v
		} else {
			timeOK = false
		}
	}
	if n == 0 {
		if p.Mode == SeedFixed {
			if err := checkDataset(dataset); err != nil {
				return SetInfo{}, err
			}
			return SetInfo{}, fmt.Errorf("%w: can not find random seed (%d) from %v for index %d on %s hp %s", ErrUnavailable, p.Seed, b.RowSeeds(nil, row, dataset, hp), row, dataset, hp)
		}
		if p.Mode == SeedRandom && sp.mean != nil {
			return SetInfo{}, b.noTrial(row, dataset, hp)
		}
		// Sources that only carry means over seeds.
		if sp.mean == nil {
			if err := checkDataset(dataset); err != nil {
				return SetInfo{}, err
			}
			if hps := b.hpsOf(dataset); !contains(hps, hp) {
				return SetInfo{}, fmt.Errorf("%w: nothing stored for %s with hp %s (stored hp: %s)", ErrUnavailable, dataset, hp, strings.Join(hps, ", "))
			}
			if !sp.accKnown {
				return SetInfo{}, b.unavailable(row, Key{dataset, hp, set, MetricAccuracy, SeedMean}, epoch)
			}
			return SetInfo{}, fmt.Errorf("%w: no trial of index %d on %s hp %s", ErrUnavailable, row, dataset, hp)
		}
		acc, ok := sp.mean.acc.get(row)
		if !ok {
			return SetInfo{}, b.unavailable(row, Key{dataset, hp, set, MetricAccuracy, SeedMean}, epoch)
		}
		info.Accuracy = acc
		info.Loss, _ = getOr(sp.mean.loss, row, nan)
		info.AllTime, _ = getOr(sp.mean.allTime, row, nan)
		var ok2 bool
		if info.PerTime, ok2 = getOr(sp.mean.perTime, row, nan); !ok2 && !math.IsNaN(info.AllTime) {
			info.PerTime = info.AllTime / float64(epoch+1)
		}
		return info, nil
	}
	fn := float64(n)
	info.Accuracy = accSum / fn
	if lossOK {
		info.Loss = lossSum / fn
	}
	if timeOK {
		info.AllTime = timeSum / fn
		info.PerTime = info.AllTime / float64(epoch+1)
	}
	return info, nil
}

func getOr(m metricPlan, row int, def float64) (float64, bool) {
	if v, ok := m.get(row); ok {
		return v, true
	}
	return def, false
}

func (b *Bench) unavailable(row int, k Key, epoch int) error {
	if !b.Has(k) {
		return fmt.Errorf("%w: %s of %s (%s, hp %s, seed %s) is not in the store; stored sets for %s hp %s: %s",
			ErrUnavailable, k.Metric, k.Set, k.Dataset, k.HP, seedName(k.Seed), k.Dataset, k.HP, b.setsOf(k.Dataset, k.HP))
	}
	return fmt.Errorf("%w: %s %s of index %d on %s hp %s seed %s at epoch %d (recorded epochs: %s)",
		ErrUnavailable, k.Set, k.Metric, row, k.Dataset, k.HP, seedName(k.Seed), epoch, epochsString(b.Epochs(k)))
}

func seedName(s int) string {
	if s == SeedMean {
		return "mean"
	}
	return strconv.Itoa(s)
}

// Info is an ordered set of get_more_info results. Values that the benchmark
// did not record are absent (for times: NaN, printed as null).
type Info struct {
	Keys   []string
	Values []float64
}

// Get returns the value of key and whether it is present.
func (in Info) Get(key string) (float64, bool) {
	for i, k := range in.Keys {
		if k == key {
			return in.Values[i], true
		}
	}
	return 0, false
}

func (in *Info) add(prefix string, s SetInfo) {
	in.Keys = append(in.Keys, prefix+"-loss", prefix+"-accuracy", prefix+"-per-time", prefix+"-all-time")
	in.Values = append(in.Values, s.Loss, s.Accuracy, s.PerTime, s.AllTime)
}

// MarshalJSON writes the keys in order; NaN becomes null.
func (in Info) MarshalJSON() ([]byte, error) {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, k := range in.Keys {
		if i > 0 {
			sb.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		sb.Write(kb)
		sb.WriteByte(':')
		sb.WriteString(FormatFloat(in.Values[i]))
	}
	sb.WriteByte('}')
	return []byte(sb.String()), nil
}

// FormatFloat prints v as Python's repr does (shortest round-trip digits),
// or null for NaN.
func FormatFloat(v float64) string {
	if math.IsNaN(v) {
		return "null"
	}
	if math.IsInf(v, 0) {
		if v > 0 {
			return "Infinity"
		}
		return "-Infinity"
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	// Python repr switches to exponent notation at 1e16 and below 1e-4.
	if a := math.Abs(v); a != 0 && (a >= 1e16 || a < 1e-4) {
		return strconv.FormatFloat(v, 'e', -1, 64)
	}
	if strings.ContainsAny(s, "e") {
		s = strconv.FormatFloat(v, 'f', -1, 64)
	}
	if !strings.ContainsAny(s, ".eIN") {
		s += ".0"
	}
	return s
}

// MoreInfo is the official get_more_info(index, dataset, iepoch, hp,
// is_random): train-*, valid-*, test-* and valtest-* keys with the
// per-dataset split mapping. A random policy picks one seed for all sets.
// Sets the benchmark did not record are left out, as the official API
// leaves them out; if no set at all is recorded the error says why.
func (b *Bench) MoreInfo(row int, dataset, hp string, epoch int, p SeedPolicy) (Info, error) {
	if p.Mode == SeedRandom {
		seeds, err := b.chooseSeed(row, dataset, hp, p)
		if err != nil {
			return Info{}, err
		}
		p = FixedSeed(seeds[0])
	}
	var in Info
	train, terr := b.GetMetrics(row, dataset, hp, SetTrain, epoch, p)
	if terr == nil {
		in.add("train", train)
	}
	type part struct{ prefix, set string }
	var parts []part
	switch dataset {
	case "cifar10-valid":
		parts = []part{{"valid", SetXValid}, {"test", SetOriTest}}
	case "cifar10":
		parts = []part{{"test", SetOriTest}}
	default:
		parts = []part{{"valid", SetXValid}, {"test", SetXTest}, {"valtest", SetOriTest}}
	}
	firstErr := terr
	for _, pt := range parts {
		s, err := b.GetMetrics(row, dataset, hp, pt.set, epoch, p)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		in.add(pt.prefix, s)
	}
	if len(in.Keys) == 0 {
		return Info{}, firstErr
	}
	// The official dict orders train, valid, test, valtest; keep that.
	return in, nil
}

// Costs are get_compute_costs' flops (M), params (MB) and latency (s).
type Costs struct {
	FLOPs, Params, Latency float64 // NaN = not recorded
}

// ComputeCosts reproduces ArchResults.get_compute_costs(dataset): means over
// the seeds, with the official legacy fix (if the per-seed values disagree at
// 5 decimals, the seed-888 value is taken) and latency averaged over the
// positive values only.
//
// With a fixed or random seed policy the costs of that one trial are
// returned instead (the official API has no per-seed variant).
func (b *Bench) ComputeCosts(row int, dataset, hp string, p SeedPolicy) (Costs, error) {
	if err := b.checkRow(row); err != nil {
		return Costs{}, err
	}
	seeds, err := b.chooseSeed(row, dataset, hp, p)
	if err != nil {
		return Costs{}, err
	}
	if len(seeds) == 0 {
		seeds = []int{SeedMean}
	}
	get := func(metric string) ([]float64, bool) {
		vals := make([]float64, 0, len(seeds))
		for _, s := range seeds {
			v, ok := b.value(row, Key{dataset, hp, SetCost, metric, s}, -1)
			if !ok {
				return nil, false
			}
			vals = append(vals, v)
		}
		return vals, len(vals) > 0
	}
	fix := func(vals []float64) []float64 {
		if len(vals) < 2 {
			return vals
		}
		first := fmt.Sprintf("%.5f", vals[0])
		for _, v := range vals[1:] {
			if fmt.Sprintf("%.5f", v) != first {
				for i, s := range seeds {
					if s == 888 {
						return vals[i : i+1]
					}
				}
			}
		}
		return vals
	}
	mean := func(v []float64) float64 {
		if len(v) == 0 {
			return math.NaN()
		}
		var s float64
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	c := Costs{FLOPs: math.NaN(), Params: math.NaN(), Latency: math.NaN()}
	found := false
	if v, ok := get(MetricFLOPs); ok {
		c.FLOPs, found = mean(fix(v)), true
	}
	if v, ok := get(MetricParams); ok {
		c.Params, found = mean(fix(v)), true
	}
	if v, ok := get(MetricLatency); ok {
		pos := v[:0:0]
		for _, x := range v {
			if x > 0 {
				pos = append(pos, x)
			}
		}
		c.Latency, found = mean(pos), true
	}
	if !found {
		return c, fmt.Errorf("%w: no compute costs of index %d on %s hp %s", ErrUnavailable, row, dataset, hp)
	}
	return c, nil
}

// Devices lists the hardware-latency columns (Set "hw").
func (b *Bench) Devices() []string {
	var out []string
	for k := range b.cols {
		if k.Set == SetHW {
			out = append(out, k.Metric)
		}
	}
	sort.Strings(out)
	return out
}

// DeviceLatency returns the measured latency (ms) of row on device.
func (b *Bench) DeviceLatency(row int, device string) (float64, error) {
	if err := b.checkRow(row); err != nil {
		return 0, err
	}
	k := Key{Set: SetHW, Metric: device, Seed: SeedMean}
	if !b.Has(k) {
		return 0, fmt.Errorf("%w: device %q (have: %s)", ErrNotFound, device, strings.Join(b.Devices(), ", "))
	}
	v, ok := b.value(row, k, -1)
	if !ok {
		return 0, fmt.Errorf("%w: latency of index %d on %s", ErrUnavailable, row, device)
	}
	return v, nil
}

// hpsOf lists the training schedules stored for dataset.
func (b *Bench) hpsOf(dataset string) []string {
	seen := map[string]bool{}
	for k := range b.cols {
		if k.Dataset == dataset {
			seen[k.HP] = true
		}
	}
	out := make([]string, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = append(out, "none")
	}
	return out
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
