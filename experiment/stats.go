package experiment

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// s2o summarises samples-to-optimum counts (0 = not found) over runs.
func s2o(at []int) Stat {
	var xs []float64
	for _, a := range at {
		if a > 0 {
			xs = append(xs, float64(a))
		}
	}
	st := Stat{Found: len(xs), Mean: nan, Median: nan, Std: nan, CILo: nan, CIHi: nan}
	if len(at) > 0 {
		st.Frac = float64(len(xs)) / float64(len(at))
	}
	if len(xs) == 0 {
		return st
	}
	sort.Float64s(xs)
	st.Mean = stat.Mean(xs, nil)
	st.Median = stat.Quantile(0.5, stat.LinInterp, xs, nil)
	if len(xs) > 1 {
		st.Std = stat.StdDev(xs, nil)
		t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(0.975)
		h := t * st.Std / math.Sqrt(float64(len(xs)))
		st.CILo, st.CIHi = st.Mean-h, st.Mean+h
	}
	return st
}

func aggregate(algo string, rs []RunResult, sum *Summary) AlgoSummary {
	as := AlgoSummary{Algo: algo, Runs: len(rs), Results: rs}
	strict := make([]int, len(rs))
	loose := make([]int, len(rs))
	final := make([]float64, len(rs))
	for i, r := range rs {
		strict[i], loose[i], final[i] = r.StrictAt, r.LooseAt, r.FinalReport
		as.SimTime += r.SimTime / float64(len(rs))
	}
	as.Strict, as.Loose = s2o(strict), s2o(loose)
	as.FinalReport, as.FinalStd = stat.PopMeanStdDev(final, nil)
	as.RI = 100 * (as.FinalReport - sum.ReportMean) / sum.ReportMean
	mean := func(get func(r RunResult) []float64, k int) float64 {
		var s float64
		for _, r := range rs {
			s += get(r)[k]
		}
		return s / float64(len(rs))
	}
	for k := range sum.Checkpoints {
		as.BestTarget = append(as.BestTarget, mean(func(r RunResult) []float64 { return r.AtTarget }, k))
		as.BestOracle = append(as.BestOracle, mean(func(r RunResult) []float64 { return r.AtOracle }, k))
		as.BestSelected = append(as.BestSelected, mean(func(r RunResult) []float64 { return r.AtSelected }, k))
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
