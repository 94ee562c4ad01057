package experiment

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// s2o summarises samples-to-optimum over runs: at[i] is the query at which
// run i found the optimum (0: not within its queries[i] queries, censored).
func s2o(at, queries []int) Stat {
	st := Stat{Runs: len(at)}
	var xs []float64
	for _, a := range at {
		if a > 0 {
			xs = append(xs, float64(a))
		}
	}
	st.Found = len(xs)
	st.Frac, st.FracLo, st.FracHi = Float(nan), Float(nan), Float(nan)
	if len(at) > 0 {
		st.Frac = Float(float64(len(xs)) / float64(len(at)))
		lo, hi := Wilson(len(xs), len(at))
		st.FracLo, st.FracHi = Float(lo), Float(hi)
	}
	tau := 0
	for _, q := range queries {
		tau = max(tau, q)
	}
	st.Tau = tau
	km := KaplanMeier(at, queries)
	quant := func(p float64) Quantile {
		q, lo, hi := km.Quantile(p)
		return Quantile{Float(q), Float(lo), Float(hi)}
	}
	st.Q25, st.Median, st.Q75 = quant(0.25), quant(0.5), quant(0.75)
	st.RMean, st.RMeanLo, st.RMeanHi = Float(nan), Float(nan), Float(nan)
	if len(at) > 0 {
		m, lo, hi := km.RMean(tau)
		// The normal interval may leave the range of min(T, tau).
		st.RMean, st.RMeanLo, st.RMeanHi = Float(m), Float(math.Max(lo, 1)), Float(math.Min(hi, float64(tau)))
	}
	st.FoundMean, st.FoundMedian, st.FoundStd = Float(nan), Float(nan), Float(nan)
	if len(xs) > 0 {
		sort.Float64s(xs)
		st.FoundMean = Float(stat.Mean(xs, nil))
		st.FoundMedian = Float(stat.Quantile(0.5, stat.LinInterp, xs, nil))
	}
	if len(xs) > 1 {
		st.FoundStd = Float(stat.StdDev(xs, nil))
	}
	st.km = km
	return st
}

func aggregate(algo string, rs []RunResult, sum *Summary) AlgoSummary {
	as := AlgoSummary{Algo: algo, Runs: len(rs), Results: rs}
	strict := make([]int, len(rs))
	loose := make([]int, len(rs))
	queries := make([]int, len(rs))
	final := make([]float64, len(rs))
	var simTime float64
	for i, r := range rs {
		strict[i], loose[i], queries[i], final[i] = r.StrictAt, r.LooseAt, r.Queries, float64(r.FinalReport)
		simTime += r.SimTime / float64(len(rs))
	}
	as.Strict, as.Loose = s2o(strict, queries), s2o(loose, queries)
	fr, fs := stat.PopMeanStdDev(final, nil)
	as.FinalReport, as.FinalStd, as.SimTime = Float(fr), Float(fs), Float(simTime)
	as.RI = Float(100 * (fr - float64(sum.ReportMean)) / float64(sum.ReportMean))
	var regret float64
	for _, r := range rs {
		regret += (float64(sum.OptimumValue) - float64(r.FinalTarget)) / float64(len(rs))
	}
	as.FinalRegret = Float(regret)
	mean := func(get func(r RunResult) []Float, k int) Float {
		var s Float
		for _, r := range rs {
			s += get(r)[k]
		}
		return s / Float(len(rs))
	}
	for k := range sum.Checkpoints {
		as.BestTarget = append(as.BestTarget, mean(func(r RunResult) []Float { return r.AtTarget }, k))
		as.BestOracle = append(as.BestOracle, mean(func(r RunResult) []Float { return r.AtOracle }, k))
		as.BestSelected = append(as.BestSelected, mean(func(r RunResult) []Float { return r.AtSelected }, k))
	}
	col := make([]float64, len(rs))
	for c := range as.CurveMean {
		as.CurveMean[c] = make([]float64, len(sum.CurveX))
		as.CurveStd[c] = make([]float64, len(sum.CurveX))
		for g := range sum.CurveX {
			for i, r := range rs {
				col[i] = r.curve[c][g]
			}
			as.CurveMean[c][g], as.CurveStd[c][g] = stat.PopMeanStdDev(col, nil)
		}
	}
	return as
}

// paretoFront returns the non-dominated cells of idx (higher accuracy,
// lower latency), by ascending latency; cells with a NaN are skipped.
func paretoFront(idx []int, acc, lat []float64) []Point {
	var pts []Point
	for _, i := range idx {
		if !math.IsNaN(acc[i]) && !math.IsNaN(lat[i]) {
			pts = append(pts, Point{i, acc[i], lat[i]})
		}
	}
	sort.Slice(pts, func(a, b int) bool {
		if pts[a].Latency != pts[b].Latency {
			return pts[a].Latency < pts[b].Latency
		}
		if pts[a].Accuracy != pts[b].Accuracy {
			return pts[a].Accuracy > pts[b].Accuracy
		}
		return pts[a].Index < pts[b].Index
	})
	var out []Point
	best := math.Inf(-1)
	for _, p := range pts {
		if p.Accuracy > best {
			out = append(out, p)
			best = p.Accuracy
		}
	}
	return out
}
