package experiment

import (
	"encoding/json"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Survival statistics for samples-to-optimum. A run that did not reach the
// optimum within its budget is right-censored at the number of queries it
// made: it says "more than q", which the Kaplan–Meier estimator uses and a
// mean over the found runs throws away. gonum has no survival analysis, so
// the estimator, Greenwood's variance, the Brookmeyer–Crowley quantile
// intervals and the restricted mean are written here (they follow R's
// survival package: survfit with conf.type "log-log", quantile.survfit and
// print.survfit's rmean).

// z95 is the standard normal 0.975 quantile.
var z95 = distuv.UnitNormal.Quantile(0.975)

// Float is a float64 that encodes NaN and ±Inf (a statistic that does not
// exist, a quantile not reached) as JSON null and decodes null as NaN, so
// that summaries always encode and round-trip.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Wilson returns the Wilson score 95% interval of a proportion of k
// successes in n trials (NaN, NaN for n = 0). Unlike the normal
// approximation it stays inside [0, 1] and is not empty at k = 0 or k = n.
func Wilson(k, n int) (lo, hi float64) {
	if n <= 0 {
		return math.NaN(), math.NaN()
	}
	p, nf, z2 := float64(k)/float64(n), float64(n), z95*z95
	c := (p + z2/(2*nf)) / (1 + z2/nf)
	h := z95 / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return math.Max(0, c-h), math.Min(1, c+h)
}

// KM is a Kaplan–Meier estimate of the survival function S(q) = P(T > q)
// of samples-to-optimum T: the probability that a run has not found the
// optimum after q queries. 1 − S(q) is the fraction of runs that have.
type KM struct {
	Times  []int     // distinct event times (queries at which some run found the optimum), ascending
	AtRisk []int     // runs still searching just before Times[j] (n_j)
	Events []int     // runs that found the optimum at Times[j] (d_j)
	Surv   []float64 // S(Times[j])
	Lo, Hi []float64 // pointwise 95% interval of S(Times[j]) (log-log transform, Greenwood variance)
	N      int       // runs
	greenw []float64 // cumulative Greenwood sum Σ d/(n(n−d)) up to Times[j]
}

// KaplanMeier estimates the survival function from one time per run:
// at[i] > 0 is the query at which run i found the optimum (an event); a run
// with at[i] <= 0 did not, and is censored at censor[i] queries (the
// queries it made). Ties of an event and a censoring at the same count are
// ordered event first, as usual.
func KaplanMeier(at, censor []int) *KM {
	if len(at) != len(censor) {
		panic("experiment: KaplanMeier: slice length mismatch")
	}
	type obs struct {
		t     int
		event bool
	}
	o := make([]obs, len(at))
	for i := range at {
		if at[i] > 0 {
			o[i] = obs{at[i], true}
		} else {
			o[i] = obs{censor[i], false}
		}
	}
	sort.Slice(o, func(a, b int) bool {
		if o[a].t != o[b].t {
			return o[a].t < o[b].t
		}
		return o[a].event && !o[b].event
	})
	km := &KM{N: len(at)}
	s, g := 1.0, 0.0
	n := len(o)
	for j := 0; j < len(o); {
		t, d, c := o[j].t, 0, 0
		for ; j < len(o) && o[j].t == t; j++ {
			if o[j].event {
				d++
			} else {
				c++
			}
		}
		if d > 0 {
			s *= 1 - float64(d)/float64(n)
			if n > d {
				g += float64(d) / (float64(n) * float64(n-d))
			} else {
				g = math.Inf(1)
			}
			lo, hi := logLogCI(s, g)
			km.Times = append(km.Times, t)
			km.AtRisk = append(km.AtRisk, n)
			km.Events = append(km.Events, d)
			km.Surv = append(km.Surv, s)
			km.Lo = append(km.Lo, lo)
			km.Hi = append(km.Hi, hi)
			km.greenw = append(km.greenw, g)
		}
		n -= d + c
	}
	return km
}

// logLogCI is the 95% interval of S from the Greenwood sum g on the
// log(−log S) scale, which keeps it inside [0, 1].
func logLogCI(s, g float64) (lo, hi float64) {
	switch {
	case s <= 0:
		return 0, 0
	case s >= 1:
		return 1, 1
	}
	se := math.Sqrt(g) / math.Abs(math.Log(s))
	return math.Pow(s, math.Exp(z95*se)), math.Pow(s, math.Exp(-z95*se))
}

// S returns the estimate of S(q) = P(T > q) with its pointwise 95%
// interval.
func (km *KM) S(q int) (s, lo, hi float64) {
	j := sort.SearchInts(km.Times, q+1) - 1 // last event time <= q
	if j < 0 {
		return 1, 1, 1
	}
	return km.Surv[j], km.Lo[j], km.Hi[j]
}

// Quantile returns the p-quantile of T (p = 0.5: the median): the first
// event time at which S ≤ 1 − p, with the Brookmeyer–Crowley 95% interval
// (the times at which the lower and the upper pointwise limits of S first
// reach 1 − p). A value is NaN where the curve never gets there within the
// observed queries ("not reached").
func (km *KM) Quantile(p float64) (q, lo, hi float64) {
	first := func(v []float64) float64 {
		for j, x := range v {
			if x <= 1-p+1e-12 {
				return float64(km.Times[j])
			}
		}
		return math.NaN()
	}
	return first(km.Surv), first(km.Lo), first(km.Hi)
}

// RMean returns the restricted mean E[min(T, tau)] = Σ_{q=0}^{tau−1} S(q)
// (the area under the step curve up to tau) and its 95% normal interval.
// Its variance is Σ_j A_j² d_j / (n_j (n_j − d_j)) over event times up to
// tau, with A_j the area under S from Times[j] to tau; a term with
// n_j = d_j is 0, as in R. With no censoring before tau and tau at least
// the largest time, it is the plain mean of the times.
func (km *KM) RMean(tau int) (m, lo, hi float64) {
	// Areas: S is 1 on [0, t_0), Surv[j] on [t_j, t_{j+1}).
	var k int
	for k < len(km.Times) && km.Times[k] <= tau {
		k++
	}
	area := make([]float64, k+1) // area[j]: from t_j (t_{-1} = 0) to tau
	for j := k - 1; j >= 0; j-- {
		next := tau
		if j+1 < k {
			next = km.Times[j+1]
		}
		area[j] = area[j+1] + km.Surv[j]*float64(next-km.Times[j])
	}
	first := tau
	if k > 0 {
		first = km.Times[0]
	}
	m = float64(first)
	if k > 0 {
		m += area[0]
	}
	var v float64
	for j := 0; j < k; j++ {
		n, d := km.AtRisk[j], km.Events[j]
		if n > d {
			v += area[j] * area[j] * float64(d) / (float64(n) * float64(n-d))
		}
	}
	h := z95 * math.Sqrt(v)
	return m, m - h, m + h
}
