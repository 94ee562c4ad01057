package experiment

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

func ff(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 10, 64)
}

// PrintSummary writes the summary table: samples-to-optimum (strict and
// looser, found runs only), the fraction found within the budget, best-so-far
// values at the checkpoints and the relative improvement.
func PrintSummary(w io.Writer, s *Summary) error {
	cfg := s.Config
	fmt.Fprintf(w, "%s %s: search %s, report %s, hp %s; %d runs x %d queries, seed %d; %d of %d cells valid\n",
		cfg.Bench, cfg.Dataset, cfg.Target, cfg.Report, cfg.HP, cfg.Runs, cfg.Budget, cfg.Seed, s.ValidCells, s.SpaceSize)
	if len(s.Optimum) == 0 {
		fmt.Fprintln(w, "optimum unknown: labels come from live training, not a table (samples-to-optimum not counted)")
	} else {
		fmt.Fprintf(w, "optimum %v: target %.4f, report %.4f; average architecture report %.4f\n",
			s.Optimum, s.OptimumValue, s.OptimumReport, s.ReportMean)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "algo\tfound\tmean\tmedian\tstd\t95% CI\tloose found\tloose mean\tloose median\tfinal report\tRI %\ttime s\t\n")
	ci := func(st Stat) string {
		if math.IsNaN(st.CILo) {
			return "-"
		}
		return fmt.Sprintf("[%.0f, %.0f]", st.CILo, st.CIHi)
	}
	num := func(v float64) string {
		if math.IsNaN(v) {
			return "-"
		}
		return fmt.Sprintf("%.1f", v)
	}
	for _, a := range s.Algos {
		fmt.Fprintf(tw, "%s\t%.0f%%\t%s\t%s\t%s\t%s\t%.0f%%\t%s\t%s\t%.3f\t%.3f\t%.1f\t\n", a.Algo,
			100*a.Strict.Frac, num(a.Strict.Mean), num(a.Strict.Median), num(a.Strict.Std), ci(a.Strict),
			100*a.Loose.Frac, num(a.Loose.Mean), num(a.Loose.Median), a.FinalReport, a.RI, a.Elapsed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Checkpoints) == 0 {
		return nil
	}
	fmt.Fprintln(w, "best-so-far target / test-oracle report / val-selected report (mean over runs):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "algo\t")
	for _, c := range s.Checkpoints {
		fmt.Fprintf(tw, "@%d\t", c)
	}
	fmt.Fprint(tw, "\n")
	for _, a := range s.Algos {
		fmt.Fprintf(tw, "%s\t", a.Algo)
		for k := range s.Checkpoints {
			fmt.Fprintf(tw, "%.2f/%.2f/%.2f\t", a.BestTarget[k], a.BestOracle[k], a.BestSelected[k])
		}
		fmt.Fprint(tw, "\n")
	}
	return tw.Flush()
}

// Write writes into dir: summary.{json,csv}, runs.{json,csv}, curves.csv,
// curve_target.{png,svg}, curve_report.{png,svg}, s2o.{png,svg}, and with a
// latency metric pareto.csv and pareto.{png,svg}.
func Write(dir string, s *Summary) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("experiment: output: %w", err)
	}
	var runs []RunResult
	for _, a := range s.Algos {
		runs = append(runs, a.Results...)
	}
	steps := []func() error{
		func() error { return writeJSON(filepath.Join(dir, "summary.json"), s) },
		func() error { return writeJSON(filepath.Join(dir, "runs.json"), jsonSafe(runs)) },
		func() error { return writeCSV(filepath.Join(dir, "summary.csv"), summaryRows(s)) },
		func() error { return writeCSV(filepath.Join(dir, "runs.csv"), runRows(s, runs)) },
		func() error { return writeCSV(filepath.Join(dir, "curves.csv"), curveRows(s)) },
		func() error { return plotCurves(dir, "curve_target", "best-so-far target", s, 0) },
		func() error { return plotCurves(dir, "curve_report", "val-selected report", s, 2) },
		func() error { return plotS2O(dir, s) },
	}
	if s.TrueFront != nil {
		steps = append(steps,
			func() error { return writeCSV(filepath.Join(dir, "pareto.csv"), paretoRows(s)) },
			func() error { return plotPareto(dir, s) })
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return fmt.Errorf("experiment: output: %w", err)
		}
	}
	return nil
}

// jsonSafe replaces NaN (which encoding/json rejects) by -1 in run results.
func jsonSafe(rs []RunResult) []RunResult {
	out := make([]RunResult, len(rs))
	for i, r := range rs {
		if math.IsNaN(r.TimeToOpt) {
			r.TimeToOpt = -1
		}
		out[i] = r
	}
	return out
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		// NaN statistics (no run found the optimum): encode them as null.
		b, err = json.MarshalIndent(nanToNull(v), "", " ")
		if err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// nanToNull round-trips v through a map form, with NaN and Inf as nil.
func nanToNull(v any) any {
	s, ok := v.(*Summary)
	if !ok {
		return v
	}
	c := *s
	c.Algos = append([]AlgoSummary(nil), s.Algos...)
	fix := func(x *float64) {
		if math.IsNaN(*x) || math.IsInf(*x, 0) {
			*x = -1
		}
	}
	fixStat := func(st *Stat) { fix(&st.Mean); fix(&st.Median); fix(&st.Std); fix(&st.CILo); fix(&st.CIHi) }
	for i := range c.Algos {
		fixStat(&c.Algos[i].Strict)
		fixStat(&c.Algos[i].Loose)
		fix(&c.Algos[i].FinalReport)
		fix(&c.Algos[i].FinalStd)
		fix(&c.Algos[i].RI)
	}
	fix(&c.ReportMean)
	return &c
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func summaryRows(s *Summary) [][]string {
	head := []string{"algo", "runs", "strict_found", "strict_frac", "strict_mean", "strict_median", "strict_std", "strict_ci_lo", "strict_ci_hi",
		"loose_found", "loose_frac", "loose_mean", "loose_median", "loose_std", "loose_ci_lo", "loose_ci_hi",
		"final_report_mean", "final_report_std", "report_mean_space", "ri_percent", "sim_time_mean_s", "elapsed_s"}
	for _, c := range s.Checkpoints {
		head = append(head, fmt.Sprintf("target@%d", c), fmt.Sprintf("oracle@%d", c), fmt.Sprintf("selected@%d", c))
	}
	rows := [][]string{head}
	for _, a := range s.Algos {
		r := []string{a.Algo, strconv.Itoa(a.Runs)}
		for _, st := range []Stat{a.Strict, a.Loose} {
			r = append(r, strconv.Itoa(st.Found), ff(st.Frac), ff(st.Mean), ff(st.Median), ff(st.Std), ff(st.CILo), ff(st.CIHi))
		}
		r = append(r, ff(a.FinalReport), ff(a.FinalStd), ff(s.ReportMean), ff(a.RI), ff(a.SimTime), ff(a.Elapsed))
		for k := range s.Checkpoints {
			r = append(r, ff(a.BestTarget[k]), ff(a.BestOracle[k]), ff(a.BestSelected[k]))
		}
		rows = append(rows, r)
	}
	return rows
}

func runRows(s *Summary, runs []RunResult) [][]string {
	head := []string{"algo", "run", "strict", "loose", "queries", "final_index", "final_target", "final_report", "sim_time_s", "time_to_opt_s"}
	for _, c := range s.Checkpoints {
		head = append(head, fmt.Sprintf("target@%d", c), fmt.Sprintf("oracle@%d", c), fmt.Sprintf("selected@%d", c))
	}
	rows := [][]string{head}
	for _, r := range runs {
		row := []string{r.Algo, strconv.Itoa(r.Run), strconv.Itoa(r.StrictAt), strconv.Itoa(r.LooseAt), strconv.Itoa(r.Queries),
			strconv.Itoa(r.FinalIndex), ff(r.FinalTarget), ff(r.FinalReport), ff(r.SimTime), ff(r.TimeToOpt)}
		for k := range r.AtTarget {
			row = append(row, ff(r.AtTarget[k]), ff(r.AtOracle[k]), ff(r.AtSelected[k]))
		}
		rows = append(rows, row)
	}
	return rows
}

func curveRows(s *Summary) [][]string {
	rows := [][]string{{"algo", "queries", "target_mean", "target_std", "oracle_mean", "oracle_std", "selected_mean", "selected_std"}}
	for _, a := range s.Algos {
		for g, x := range s.CurveX {
			rows = append(rows, []string{a.Algo, strconv.Itoa(x),
				ff(a.CurveMean[0][g]), ff(a.CurveStd[0][g]), ff(a.CurveMean[1][g]), ff(a.CurveStd[1][g]),
				ff(a.CurveMean[2][g]), ff(a.CurveStd[2][g])})
		}
	}
	return rows
}

func paretoRows(s *Summary) [][]string {
	rows := [][]string{{"front", "index", "accuracy", "latency"}}
	add := func(name string, pts []Point) {
		for _, p := range pts {
			rows = append(rows, []string{name, strconv.Itoa(p.Index), ff(p.Accuracy), ff(p.Latency)})
		}
	}
	add("true", s.TrueFront)
	for _, a := range s.Algos {
		add(a.Algo, a.Front)
	}
	return rows
}

func save(p *plot.Plot, dir, name string) error {
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, filepath.Join(dir, name+ext)); err != nil {
			return err
		}
	}
	return nil
}

// plotCurves draws curve c (mean ± std band) of every algorithm.
func plotCurves(dir, name, ylabel string, s *Summary, c int) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s %s (%d runs)", s.Config.Bench, s.Config.Dataset, s.Config.Runs)
	p.X.Label.Text = "queries"
	p.Y.Label.Text = ylabel
	// Fit the y range to the bands from 10 queries on: the first few
	// queries' spread (broken cells) would squash the rest.
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, a := range s.Algos {
		col := plotutil.Color(i)
		mean, sd := a.CurveMean[c], a.CurveStd[c]
		line := make(plotter.XYs, 0, len(s.CurveX))
		band := make(plotter.XYs, 0, 2*len(s.CurveX))
		for g, x := range s.CurveX {
			if math.IsInf(mean[g], 0) || math.IsNaN(mean[g]) {
				continue
			}
			line = append(line, plotter.XY{X: float64(x), Y: mean[g]})
			band = append(band, plotter.XY{X: float64(x), Y: mean[g] + sd[g]})
			if x >= 10 {
				lo = math.Min(lo, mean[g]-sd[g])
				hi = math.Max(hi, mean[g]+sd[g])
			}
		}
		for g := len(s.CurveX) - 1; g >= 0; g-- {
			if math.IsInf(mean[g], 0) || math.IsNaN(mean[g]) {
				continue
			}
			band = append(band, plotter.XY{X: float64(s.CurveX[g]), Y: mean[g] - sd[g]})
		}
		if len(line) == 0 {
			continue
		}
		poly, err := plotter.NewPolygon(band)
		if err != nil {
			return err
		}
		r, g, b, _ := col.RGBA()
		poly.Color = color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 50}
		poly.LineStyle.Width = 0
		l, err := plotter.NewLine(line)
		if err != nil {
			return err
		}
		l.Color = col
		l.Width = vg.Points(1.5)
		p.Add(poly, l)
		p.Legend.Add(a.Algo, l)
	}
	if !math.IsInf(lo, 0) && !math.IsInf(hi, 0) {
		p.Y.Min, p.Y.Max = lo, hi
	}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	return save(p, dir, name)
}

// plotS2O draws box plots of strict samples-to-optimum per algorithm.
func plotS2O(dir string, s *Summary) error {
	p := plot.New()
	p.Title.Text = "samples to the global optimum (runs that found it)"
	p.Y.Label.Text = "queries"
	var names []string
	for i, a := range s.Algos {
		var v plotter.Values
		for _, r := range a.Results {
			if r.StrictAt > 0 {
				v = append(v, float64(r.StrictAt))
			}
		}
		names = append(names, fmt.Sprintf("%s (%d%%)", a.Algo, int(math.Round(100*a.Strict.Frac))))
		if len(v) == 0 {
			continue
		}
		bp, err := plotter.NewBoxPlot(vg.Points(30), float64(i), v)
		if err != nil {
			return err
		}
		bp.FillColor = plotutil.Color(i)
		p.Add(bp)
	}
	p.NominalX(names...)
	return save(p, dir, "s2o")
}

func plotPareto(dir string, s *Summary) error {
	p := plot.New()
	p.Title.Text = "Pareto fronts: accuracy vs " + strings.TrimPrefix(s.Device, "hw:")
	p.X.Label.Text = s.Device
	p.Y.Label.Text = s.Config.Target + " accuracy"
	xy := func(pts []Point) plotter.XYs {
		out := make(plotter.XYs, len(pts))
		for i, q := range pts {
			out[i] = plotter.XY{X: q.Latency, Y: q.Accuracy}
		}
		return out
	}
	if len(s.TrueFront) > 0 {
		l, err := plotter.NewLine(xy(s.TrueFront))
		if err != nil {
			return err
		}
		l.Color = color.Black
		l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		p.Add(l)
		p.Legend.Add("true front", l)
	}
	for i, a := range s.Algos {
		if len(a.Front) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xy(a.Front))
		if err != nil {
			return err
		}
		sc.Color = plotutil.Color(i)
		sc.Shape = plotutil.Shape(i)
		p.Add(sc)
		p.Legend.Add(a.Algo+" (run 0)", sc)
	}
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	return save(p, dir, "pareto")
}
