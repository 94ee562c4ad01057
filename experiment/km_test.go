package experiment_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/nbquery/nbquery/experiment"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

// TestKaplanMeier checks the estimator against hand computations, with tied
// events and a censoring tied with an event.
func TestKaplanMeier(t *testing.T) {
	nan := math.NaN()
	// Six runs: found at 2, 2, 3, 4; censored at 3 and 5 (budget 5).
	//   q=2: n=6, d=2: S = 4/6;  q=3: n=4, d=1 (the censoring at 3 is still
	//   at risk): S = 1/2;  q=4: n=2, d=1: S = 1/4.
	// Greenwood sums: 2/(6·4) = 1/12, + 1/(4·3) = 1/6, + 1/(2·1) = 2/3.
	// log-log limits S^exp(±1.96·sqrt(g)/|ln S|), computed independently:
	//   (0.194617, 0.904434), (0.110948, 0.803709), (0.012310, 0.645949).
	at := []int{2, 0, 3, 2, 0, 4}
	cens := []int{5, 3, 5, 5, 5, 5}
	km := experiment.KaplanMeier(at, cens)
	want := []struct {
		t, n, d   int
		s, lo, hi float64
	}{
		{2, 6, 2, 4.0 / 6, 0.194617, 0.904434},
		{3, 4, 1, 0.5, 0.110948, 0.803709},
		{4, 2, 1, 0.25, 0.012310, 0.645949},
	}
	if len(km.Times) != len(want) {
		t.Fatalf("times %v", km.Times)
	}
	for j, w := range want {
		if km.Times[j] != w.t || km.AtRisk[j] != w.n || km.Events[j] != w.d || !near(km.Surv[j], w.s, 1e-12) ||
			!near(km.Lo[j], w.lo, 1e-5) || !near(km.Hi[j], w.hi, 1e-5) {
			t.Errorf("step %d: t %d n %d d %d S %v [%v, %v], want %+v", j, km.Times[j], km.AtRisk[j], km.Events[j],
				km.Surv[j], km.Lo[j], km.Hi[j], w)
		}
	}
	for _, test := range []struct {
		q         int
		s, lo, hi float64
	}{{0, 1, 1, 1}, {1, 1, 1, 1}, {2, 4.0 / 6, 0.194617, 0.904434}, {3, 0.5, 0.110948, 0.803709}, {9, 0.25, 0.012310, 0.645949}} {
		s, lo, hi := km.S(test.q)
		if !near(s, test.s, 1e-12) || !near(lo, test.lo, 1e-5) || !near(hi, test.hi, 1e-5) {
			t.Errorf("S(%d) = %v [%v, %v], want %v [%v, %v]", test.q, s, lo, hi, test.s, test.lo, test.hi)
		}
	}
	// Quantiles: the first time S <= 1-p; the interval from the lower and
	// upper limits of S. The upper band never reaches 0.5: not reached.
	for _, test := range []struct {
		p, q, lo, hi float64
	}{
		{0.25, 2, 2, 4},   // S <= .75 at 2; Lo <= .75 at 2; Hi <= .75 at 4
		{0.5, 3, 2, nan},  // Lo <= .5 at 2; Hi never <= .5
		{0.75, 4, 2, nan}, // Lo <= .25 already at 2 (0.195)
		{0.9, nan, 4, nan},
	} {
		q, lo, hi := km.Quantile(test.p)
		if !near(q, test.q, 0) || !near(lo, test.lo, 0) || !near(hi, test.hi, 0) {
			t.Errorf("quantile %v = %v [%v, %v], want %v [%v, %v]", test.p, q, lo, hi, test.q, test.lo, test.hi)
		}
	}
	// Restricted mean to 5: 2·1 + 1·(4/6) + 1·(1/2) + 1·(1/4) = 41/12.
	// Variance Σ A_j² d_j/(n_j(n_j-d_j)) with areas from t_j to 5:
	// A = 17/12, 3/4, 1/4: (17/12)²·2/24 + (3/4)²/12 + (1/4)²/2 = 0.245370.
	m, lo, hi := km.RMean(5)
	h := 1.959963984540054 * math.Sqrt(0.24537037037037)
	if !near(m, 41.0/12, 1e-12) || !near(lo, 41.0/12-h, 1e-9) || !near(hi, 41.0/12+h, 1e-9) {
		t.Errorf("rmean(5) = %v [%v, %v], want %v ± %v", m, lo, hi, 41.0/12, h)
	}
	// Restricted to 3: 2 + 1·(4/6); only the event at 2 counts, A = 2/3.
	m, lo, _ = km.RMean(3)
	h = 1.959963984540054 * math.Sqrt(4.0/9*2/24)
	if !near(m, 8.0/3, 1e-12) || !near(lo, 8.0/3-h, 1e-9) {
		t.Errorf("rmean(3) = %v [%v], want %v - %v", m, lo, 8.0/3, h)
	}
}

// TestKaplanMeierUncensored: without censoring S is the empirical survival
// function, the restricted mean to the largest time is the plain mean, and
// its variance is the plug-in Σ(x-mean)²/n².
func TestKaplanMeierUncensored(t *testing.T) {
	at := []int{1, 3, 3, 7}
	km := experiment.KaplanMeier(at, make([]int, 4))
	if s, _, _ := km.S(3); s != 0.25 {
		t.Errorf("S(3) = %v", s)
	}
	if s, lo, hi := km.S(7); s != 0 || lo != 0 || hi != 0 {
		t.Errorf("S(7) = %v [%v, %v]", s, lo, hi)
	}
	m, lo, hi := km.RMean(7)
	// mean 3.5; Σ(x-mean)² = 6.25+0.25+0.25+12.25 = 19; var 19/16.
	h := 1.959963984540054 * math.Sqrt(19.0/16)
	if !near(m, 3.5, 1e-12) || !near(lo, 3.5-h, 1e-9) || !near(hi, 3.5+h, 1e-9) {
		t.Errorf("rmean = %v [%v, %v], want 3.5 ± %v", m, lo, hi, h)
	}
	if q, _, _ := km.Quantile(0.5); q != 3 {
		t.Errorf("median %v", q)
	}
	// No event at all: S = 1 throughout, restricted mean = tau.
	none := experiment.KaplanMeier([]int{0, 0}, []int{10, 10})
	if m, lo, hi := none.RMean(10); m != 10 || lo != 10 || hi != 10 {
		t.Errorf("no events: rmean %v [%v, %v]", m, lo, hi)
	}
	if q, lo, hi := none.Quantile(0.5); !math.IsNaN(q) || !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("no events: median %v [%v, %v], want not reached", q, lo, hi)
	}
}

// TestWilson checks the Wilson interval against hand-computed values.
func TestWilson(t *testing.T) {
	for _, test := range []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 10, 0, 0.277532},  // z²/(n+z²) = 3.8415/13.8415
		{10, 10, 0.722468, 1}, // symmetric
		{9, 100, 0.048073, 0.162262},
		{50, 100, 0.403832, 0.596168},
	} {
		lo, hi := experiment.Wilson(test.k, test.n)
		if !near(lo, test.lo, 1e-6) || !near(hi, test.hi, 1e-6) {
			t.Errorf("Wilson(%d, %d) = [%v, %v], want [%v, %v]", test.k, test.n, lo, hi, test.lo, test.hi)
		}
	}
	if lo, hi := experiment.Wilson(0, 0); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("Wilson(0, 0) = [%v, %v]", lo, hi)
	}
}

// TestFloatJSON: NaN and Inf encode as null and decode as NaN.
func TestFloatJSON(t *testing.T) {
	v := []experiment.Float{1.5, experiment.Float(math.NaN()), experiment.Float(math.Inf(-1))}
	b, err := json.Marshal(v)
	if err != nil || string(b) != "[1.5,null,null]" {
		t.Fatalf("%s %v", b, err)
	}
	var back []experiment.Float
	if err := json.Unmarshal(b, &back); err != nil || back[0] != 1.5 || !math.IsNaN(float64(back[1])) {
		t.Fatalf("%v %v", back, err)
	}
}
