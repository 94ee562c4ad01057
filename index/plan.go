package index

import (
	"math"
	"sort"
	"sync"
)

// A plan pre-resolves the columns one (dataset, hp, set, epoch) query reads,
// so that answering it for a row is a few slice loads with no map lookups
// and no allocation. Plans are built on first use and cached per Bench.

// slotRef is one stored column at one epoch slot.
type slotRef struct {
	seg   *segment
	field int
	width int
	slot  int
}

// metricPlan lists the columns holding one metric, newest segment first.
type metricPlan []slotRef

func (m metricPlan) get(row int) (float64, bool) {
	for i := range m {
		r := &m[i]
		vals, p := r.seg.lookup(row, r.field)
		if vals == nil {
			continue
		}
		if v := vals[p*r.width+r.slot]; !math.IsNaN(v) {
			return v, true
		}
	}
	return 0, false
}

type seedPlan struct {
	seed                        int
	present                     []metricPlan // any recorded value here means the row has this trial
	acc, loss, allTime, perTime metricPlan
}

func (sp *seedPlan) has(row int) bool {
	for _, m := range sp.present {
		if _, ok := m.get(row); ok {
			return true
		}
	}
	return false
}

type setPlan struct {
	dataset, hp, set string
	epoch            int
	seeds            []seedPlan // ascending seed
	mean             *seedPlan  // SeedMean columns, if any
	accKnown         bool       // some segment stores this set's accuracy at all
}

type planKey struct {
	dataset, hp, set string
	epoch            int
}

// resolve returns the columns of k at epoch (-1 for epoch-free columns).
func (b *Bench) resolve(k Key, epoch int) metricPlan {
	var out metricPlan
	for _, r := range b.cols[k] {
		slot, ok := r.slot(epoch)
		if !ok {
			continue
		}
		out = append(out, slotRef{seg: r.seg, field: r.field, width: r.width, slot: slot})
	}
	return out
}

// seedIndex groups the stored seeds by (dataset, hp); built once.
func (b *Bench) seedsOf(dataset, hp string) []int {
	b.seedOnce.Do(func() {
		m := map[[2]string]map[int]bool{}
		for k := range b.cols {
			if k.Seed == SeedMean || k.Dataset == "" {
				continue
			}
			dk := [2]string{k.Dataset, k.HP}
			if m[dk] == nil {
				m[dk] = map[int]bool{}
			}
			m[dk][k.Seed] = true
		}
		b.seedIdx = map[[2]string][]int{}
		for dk, set := range m {
			s := make([]int, 0, len(set))
			for x := range set {
				s = append(s, x)
			}
			sort.Ints(s)
			b.seedIdx[dk] = s
		}
	})
	return b.seedIdx[[2]string{dataset, hp}]
}

func (b *Bench) plan(dataset, hp, set string, epoch, last int) *setPlan {
	pk := planKey{dataset, hp, set, epoch}
	if p, ok := b.plans.Load(pk); ok {
		return p.(*setPlan)
	}
	sp := &setPlan{dataset: dataset, hp: hp, set: set, epoch: epoch}
	mk := func(seed int) seedPlan {
		p := seedPlan{
			seed:    seed,
			acc:     b.resolve(Key{dataset, hp, set, MetricAccuracy, seed}, epoch),
			loss:    b.resolve(Key{dataset, hp, set, MetricLoss, seed}, epoch),
			allTime: b.resolve(Key{dataset, hp, set, MetricAllTime, seed}, epoch),
			perTime: b.resolve(Key{dataset, hp, set, MetricPerTime, seed}, epoch),
		}
		for _, s := range []string{SetTrain, SetXValid, SetOriTest, SetXTest} {
			if m := b.resolve(Key{dataset, hp, s, MetricAccuracy, seed}, last); len(m) > 0 {
				p.present = append(p.present, m)
			}
		}
		return p
	}
	for _, s := range b.seedsOf(dataset, hp) {
		sp.seeds = append(sp.seeds, mk(s))
	}
	if b.Has(Key{dataset, hp, set, MetricAccuracy, SeedMean}) {
		m := mk(SeedMean)
		sp.mean = &m
	}
	for _, s := range sp.seeds {
		if b.Has(Key{dataset, hp, set, MetricAccuracy, s.seed}) {
			sp.accKnown = true
		}
	}
	if sp.mean != nil {
		sp.accKnown = true
	}
	p, _ := b.plans.LoadOrStore(pk, sp)
	return p.(*setPlan)
}

// planCache is embedded in Bench.
type planCache struct {
	plans    sync.Map // planKey -> *setPlan
	seedOnce sync.Once
	seedIdx  map[[2]string][]int
}
