package ingest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nbquery/nbquery/index"
	"github.com/nlpodyssey/gopickle/types"
)

// series is one stored metric of one architecture: Values[e] for epoch e
// (NaN = not recorded), or a single value for an epoch-free key.
type series struct {
	Key       index.Key
	EpochFree bool
	Values    []float64
}

// archRecord is one architecture's data converted out of the pickle graph.
type archRecord struct {
	Index  int
	Arch   string
	Series []series
}

// hpNames maps NAS-Bench-201 .pth schedule names to NATS hp strings.
var hpNames = map[string]string{"less": "12", "full": "200"}

// convertArch converts the per-architecture dict {hp: ArchResults-state}
// (NATS OrderedDict, or NB201 {'less': .., 'full': ..}) into an archRecord.
// index is the expected arch index (-1: take it from the record).
func convertArch(obj any, index int) (*archRecord, error) {
	rec := &archRecord{Index: index}
	err := eachItem(obj, func(k, v any) error {
		hp, ok := k.(string)
		if !ok {
			return fmt.Errorf("%w: hp key %T, want str", ErrSchema, k)
		}
		if h, ok := hpNames[hp]; ok {
			hp = h
		}
		return convertArchResults(rec, hp, v)
	})
	if err != nil {
		return nil, err
	}
	if rec.Arch == "" {
		return nil, fmt.Errorf("%w: no ArchResults in record", ErrSchema)
	}
	slices.SortFunc(rec.Series, func(a, b series) int { return keyCmp(a.Key, b.Key) })
	return rec, nil
}

func keyCmp(a, b index.Key) int {
	return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(a.HP, b.HP), cmp.Compare(a.Set, b.Set),
		cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.Seed, b.Seed))
}

func convertArchResults(rec *archRecord, hp string, v any) error {
	if len(hp) > 16 {
		return fmt.Errorf("%w: hp key %s is not a schedule", ErrSchema, Quote(hp))
	}
	st, err := strMap(v)
	if err != nil {
		return fmt.Errorf("%w: hp %s: ArchResults: %v", ErrSchema, hp, err)
	}
	idx, ok := asInt(st["arch_index"])
	if !ok {
		return fmt.Errorf("%w: hp %s: arch_index %T", ErrSchema, hp, st["arch_index"])
	}
	arch, ok := st["arch_str"].(string)
	if !ok {
		return fmt.Errorf("%w: hp %s: arch_str %T", ErrSchema, hp, st["arch_str"])
	}
	if rec.Index < 0 {
		rec.Index = idx
	}
	if idx != rec.Index {
		return fmt.Errorf("%w: hp %s: arch_index %d, want %d", ErrSchema, hp, idx, rec.Index)
	}
	if rec.Arch != "" && rec.Arch != arch {
		return fmt.Errorf("%w: hp %s: arch_str %s differs from %s", ErrSchema, hp, Quote(arch), Quote(rec.Arch))
	}
	rec.Arch = arch

	// dataset_seed: dataset -> ascending seed list (the query side averages
	// seeds in this order, as the official API's mean over dataset_seed does).
	seeds := make(map[string][]int)
	var datasets []string
	err = eachItem(st["dataset_seed"], func(k, v any) error {
		ds, ok := k.(string)
		if !ok {
			return fmt.Errorf("%w: dataset_seed key %T", errType, k)
		}
		items, ok := sequence(v)
		if !ok {
			return fmt.Errorf("%w: dataset_seed[%s] %T", errType, ds, v)
		}
		list := make([]int, len(items))
		for i, it := range items {
			if list[i], ok = asInt(it); !ok {
				return fmt.Errorf("%w: dataset_seed[%s][%d] %T", errType, ds, i, it)
			}
		}
		if !slices.IsSorted(list) {
			return fmt.Errorf("dataset_seed[%s] = %v is not in ascending order", ds, list)
		}
		if _, dup := seeds[ds]; !dup {
			datasets = append(datasets, ds)
		}
		seeds[ds] = list
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: hp %s: %v", ErrSchema, hp, err)
	}

	results := make(map[[2]any]any)
	err = eachItem(st["all_results"], func(k, v any) error {
		t, ok := k.(*types.Tuple)
		if !ok || t.Len() != 2 {
			return fmt.Errorf("%w: all_results key %s", errType, describe(k))
		}
		ds, ok1 := t.Get(0).(string)
		seed, ok2 := asInt(t.Get(1))
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: all_results key %s", errType, describe(k))
		}
		results[[2]any{ds, seed}] = v
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: hp %s: %v", ErrSchema, hp, err)
	}
	for _, ds := range datasets {
		for _, seed := range seeds[ds] {
			rc, ok := results[[2]any{ds, seed}]
			if !ok {
				return fmt.Errorf("%w: hp %s: dataset_seed lists %s/%d but all_results lacks it", ErrSchema, hp, ds, seed)
			}
			if err := convertResultsCount(rec, hp, ds, seed, rc); err != nil {
				return fmt.Errorf("%w: hp %s: all_results[(%s, %d)]: %v", ErrSchema, hp, ds, seed, err)
			}
		}
	}
	return nil
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// epochDict reads {epoch: float} into a NaN-filled slice of length n.
func epochDict(v any, n int, field string) ([]float64, error) {
	out := nanSlice(n)
	if v == nil {
		return out, nil
	}
	err := eachItem(v, func(k, val any) error {
		e, ok := asInt(k)
		if !ok || e < 0 || e >= n {
			return fmt.Errorf("%s: epoch key %s outside 0..%d", field, describe(k), n-1)
		}
		f, ok := asFloat(val)
		if !ok {
			return fmt.Errorf("%s[%d]: %T, want float", field, e, val)
		}
		out[e] = f
		return nil
	})
	return out, err
}

// cumsum returns the running sums of ts as Python's sum() over epochs 0..e
// computes them (left to right from 0); NaN from the first missing epoch on.
func cumsum(ts []float64) []float64 {
	out := nanSlice(len(ts))
	acc := 0.0
	for e, t := range ts {
		if math.IsNaN(t) {
			break
		}
		acc += t
		out[e] = acc
	}
	return out
}

const maxEpochs = 100000

func convertResultsCount(rec *archRecord, hp, ds string, seed int, v any) error {
	rc, err := strMap(v)
	if err != nil {
		return err
	}
	E, ok := asInt(rc["epochs"])
	if !ok || E <= 0 || E > maxEpochs {
		return fmt.Errorf("epochs %s", describe(rc["epochs"]))
	}
	key := func(set, metric string) index.Key {
		return index.Key{Dataset: ds, HP: hp, Set: set, Metric: metric, Seed: seed}
	}
	add := func(k index.Key, vals []float64) {
		rec.Series = append(rec.Series, series{Key: k, Values: vals})
	}
	acc, err := epochDict(rc["train_acc1es"], E, "train_acc1es")
	if err != nil {
		return err
	}
	loss, err := epochDict(rc["train_losses"], E, "train_losses")
	if err != nil {
		return err
	}
	times, err := epochDict(rc["train_times"], E, "train_times") // None in some NB201 records
	if err != nil {
		return err
	}
	add(key(index.SetTrain, index.MetricAccuracy), acc)
	add(key(index.SetTrain, index.MetricLoss), loss)
	add(key(index.SetTrain, index.MetricTime), times)
	add(key(index.SetTrain, index.MetricAllTime), cumsum(times))

	type evalSet struct{ acc, loss, time []float64 }
	sets := make(map[string]*evalSet)
	var names []string
	get := func(name string) *evalSet {
		s := sets[name]
		if s == nil {
			s = &evalSet{nanSlice(E), nanSlice(E), nanSlice(E)}
			sets[name] = s
			names = append(names, name)
		}
		return s
	}
	if items, ok := sequence(rc["eval_names"]); ok {
		for _, it := range items {
			if s, ok := it.(string); ok {
				get(s)
			}
		}
	}
	for _, f := range []struct {
		field string
		dst   func(*evalSet) []float64
	}{
		{"eval_acc1es", func(s *evalSet) []float64 { return s.acc }},
		{"eval_losses", func(s *evalSet) []float64 { return s.loss }},
		{"eval_times", func(s *evalSet) []float64 { return s.time }},
	} {
		if rc[f.field] == nil {
			continue
		}
		err := eachItem(rc[f.field], func(k, val any) error {
			ks, ok := k.(string)
			if !ok {
				return fmt.Errorf("%s: key %T, want str", f.field, k)
			}
			name, ep, ok := strings.Cut(ks, "@")
			e, err := strconv.Atoi(ep)
			if !ok || err != nil || e < 0 || e >= E || name == "" {
				return fmt.Errorf("%s: key %s is not <set>@<epoch in 0..%d>", f.field, Quote(ks), E-1)
			}
			x, ok := asFloat(val)
			if !ok {
				return fmt.Errorf("%s[%s]: %T, want float", f.field, Quote(ks), val)
			}
			f.dst(get(name))[e] = x
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, name := range names {
		s := sets[name]
		add(key(name, index.MetricAccuracy), s.acc)
		add(key(name, index.MetricLoss), s.loss)
		add(key(name, index.MetricTime), s.time)
		add(key(name, index.MetricAllTime), cumsum(s.time))
	}

	cost := func(metric string, x float64) {
		rec.Series = append(rec.Series, series{Key: key(index.SetCost, metric), EpochFree: true, Values: []float64{x}})
	}
	params, ok := asFloat(rc["params"])
	if !ok {
		return fmt.Errorf("params: %T, want float", rc["params"])
	}
	flop, ok := asFloat(rc["flop"])
	if !ok {
		return fmt.Errorf("flop: %T, want float", rc["flop"])
	}
	lat, err := latency(rc["latency"])
	if err != nil {
		return err
	}
	cost(index.MetricParams, params)
	cost(index.MetricFLOPs, flop)
	cost(index.MetricLatency, lat)
	return nil
}

// latency is ResultsCount.get_latency: -1 for None, else sum(list)/len(list)
// summed left to right from 0 as Python's sum() does.
func latency(v any) (float64, error) {
	if v == nil {
		return -1, nil
	}
	if f, ok := asFloat(v); ok {
		return f, nil
	}
	items, ok := sequence(v)
	if !ok {
		return 0, fmt.Errorf("latency: %T, want list", v)
	}
	if len(items) == 0 {
		return math.NaN(), nil
	}
	sum := 0.0
	for i, it := range items {
		f, ok := asFloat(it)
		if !ok {
			return 0, fmt.Errorf("latency[%d]: %T, want float", i, it)
		}
		sum += f
	}
	return sum / float64(len(items)), nil
}
