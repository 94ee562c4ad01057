package experiment

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot size and PNG resolution.
const (
	plotW, plotH = 8 * vg.Inch, 4.5 * vg.Inch
	plotDPI      = 150
)

// writePlots writes into dir, each as PNG and SVG: regret (optimum minus
// best-so-far target against queries, log-log, where the optimum is known),
// found (the Kaplan–Meier fraction of runs that have found the optimum
// against queries), curve_report (the report of the best-target cell) and,
// with a latency metric, pareto (the fronts as step lines).
func writePlots(dir string, s *Summary) error {
	if len(s.Optimum) > 0 {
		if err := plotRegret(dir, s); err != nil {
			return err
		}
		if err := plotFound(dir, s); err != nil {
			return err
		}
	}
	if err := plotReport(dir, s); err != nil {
		return err
	}
	if s.TrueFront != nil {
		return plotPareto(dir, s)
	}
	return nil
}

// save writes p as name.png and name.svg into dir, with leg drawn to the
// right of the plot (outside the data).
func save(p *plot.Plot, leg plot.Legend, dir, name string) error {
	leg.Top, leg.Left = true, true
	leg.TextStyle.Font.Size = vg.Points(9)
	for _, ext := range []string{"png", "svg"} {
		var c vg.CanvasWriterTo
		if ext == "png" {
			c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(plotW, plotH), vgimg.UseDPI(plotDPI))}
		} else {
			c = vgsvg.New(plotW, plotH)
		}
		dc := draw.New(c)
		lw := leg.Rectangle(dc).Size().X + vg.Points(12)
		p.Draw(draw.Crop(dc, 0, -lw, 0, 0))
		top := p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
		leg.Draw(draw.Crop(dc, dc.Size().X-lw+vg.Points(6), 0, 0, -top))
		f, err := os.Create(filepath.Join(dir, name+"."+ext))
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	return p
}

// queriesLabel names the x axis with the counting rule.
func queriesLabel(s *Summary) string {
	return fmt.Sprintf("queries (--count %s)", s.Config.Count.String())
}

// accUnit is the unit of the target: NB201 accuracies are percentages,
// NB101's fractions; an objective has its own units.
func accUnit(s *Summary) string {
	switch {
	case s.Config.Objective != "":
		return "objective"
	case s.Config.Bench == "nb101":
		return "fraction"
	}
	return "% points"
}

// ci95 returns the half-width of the 95% interval of a mean over n runs
// whose population std (ddof 0) is sd.
func ci95(sd float64, n int) float64 {
	if n < 2 {
		return 0
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	return t * sd * math.Sqrt(float64(n)/float64(n-1)) / math.Sqrt(float64(n))
}

func fill(col color.Color) color.Color {
	r, g, b, _ := col.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 55}
}

// band adds a shaded band between lo and hi (same x) and a line at mid.
func band(p *plot.Plot, x, lo, mid, hi []float64, col color.Color, dashes []vg.Length) (*plotter.Line, error) {
	var poly, line plotter.XYs
	for i := range x {
		poly = append(poly, plotter.XY{X: x[i], Y: hi[i]})
		line = append(line, plotter.XY{X: x[i], Y: mid[i]})
	}
	for i := len(x) - 1; i >= 0; i-- {
		poly = append(poly, plotter.XY{X: x[i], Y: lo[i]})
	}
	if len(line) == 0 {
		return nil, nil
	}
	pg, err := plotter.NewPolygon(poly)
	if err != nil {
		return nil, err
	}
	pg.Color = fill(col)
	pg.LineStyle.Width = 0
	l, err := plotter.NewLine(line)
	if err != nil {
		return nil, err
	}
	l.Color = col
	l.Width = vg.Points(1.5)
	l.Dashes = dashes
	p.Add(pg, l)
	return l, nil
}

// vline adds a dashed vertical line at x over [y0, y1].
func vline(p *plot.Plot, x, y0, y1 float64, col color.Color) (*plotter.Line, error) {
	return refLine(p, plotter.XYs{{X: x, Y: y0}, {X: x, Y: y1}}, col, 4, 3)
}

// hline adds a dotted horizontal line at y over [x0, x1].
func hline(p *plot.Plot, y, x0, x1 float64, col color.Color) (*plotter.Line, error) {
	return refLine(p, plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}}, col, 2, 2)
}

// refLine adds a dashed reference line (on, off in points).
func refLine(p *plot.Plot, xys plotter.XYs, col color.Color, on, off float64) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = col
	l.Dashes = []vg.Length{vg.Points(on), vg.Points(off)}
	p.Add(l)
	return l, nil
}

var budgetColor = color.Gray{Y: 90}

// plotRegret draws the mean regret (optimum − best-so-far target) of every
// algorithm against queries, log-log, with the 95% interval of the mean;
// zero regret (every run has found the optimum) is drawn at a floor below
// the smallest positive value.
func plotRegret(dir string, s *Summary) error {
	p := newPlot(fmt.Sprintf("%s %s: regret = optimum - best %s so far, mean of %d runs", s.Config.Bench, s.Config.Dataset, s.Config.Target, s.Config.Runs),
		queriesLabel(s), fmt.Sprintf("regret (%s)", accUnit(s)))
	opt := float64(s.OptimumValue)
	floor := math.Inf(1)
	for _, a := range s.Algos {
		for g := range s.CurveX {
			if r := opt - a.CurveMean[0][g]; r > 0 {
				floor = math.Min(floor, r)
			}
		}
	}
	if math.IsInf(floor, 1) {
		floor = 1e-3
	}
	floor = math.Pow(10, math.Floor(math.Log10(floor))-0.5)
	leg := plot.NewLegend()
	hi := floor
	for i, a := range s.Algos {
		x, lo, mid, up := make([]float64, 0, len(s.CurveX)), []float64(nil), []float64(nil), []float64(nil)
		for g, q := range s.CurveX {
			m := opt - a.CurveMean[0][g]
			if math.IsNaN(m) || math.IsInf(m, 0) {
				continue
			}
			h := ci95(a.CurveStd[0][g], a.Runs)
			x = append(x, float64(q))
			mid = append(mid, math.Max(m, floor))
			lo = append(lo, math.Max(m-h, floor))
			up = append(up, math.Max(m+h, floor))
			hi = math.Max(hi, m+h)
		}
		l, err := band(p, x, lo, mid, up, plotutil.Color(i), plotutil.Dashes(i))
		if err != nil {
			return err
		}
		if l != nil {
			leg.Add(a.Algo, l)
		}
	}
	b, err := vline(p, float64(s.Config.Budget), floor, hi*1.5, budgetColor)
	if err != nil {
		return err
	}
	leg.Add(fmt.Sprintf("budget (%d)", s.Config.Budget), b)
	fl, err := hline(p, floor, 1, float64(s.Config.Budget)*1.25, color.Gray{Y: 160})
	if err != nil {
		return err
	}
	leg.Add("0 regret drawn here", fl)
	p.X.Min, p.X.Max = 1, float64(s.Config.Budget)*1.25
	p.Y.Min, p.Y.Max = floor/1.5, hi*1.5
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	leg.Add("band: 95% CI of the mean")
	return save(p, leg, dir, "regret")
}

// stepXY appends the points of a right-continuous step function that is
// y0 before xs[0] and ys[j] from xs[j] on, from x0 to x1.
func stepXY(x0, y0 float64, xs, ys []float64, x1 float64) plotter.XYs {
	out := plotter.XYs{{X: x0, Y: y0}}
	prev := y0
	for j := range xs {
		out = append(out, plotter.XY{X: xs[j], Y: prev}, plotter.XY{X: xs[j], Y: ys[j]})
		prev = ys[j]
	}
	return append(out, plotter.XY{X: x1, Y: prev})
}

// plotFound draws the Kaplan–Meier fraction of runs that have found the
// optimum, 1 − S(q), against queries, with its pointwise 95% band; a curve
// that ends below 1 at the budget shows the censored runs directly.
func plotFound(dir string, s *Summary) error {
	p := newPlot(fmt.Sprintf("%s %s: runs that have found the optimum (Kaplan-Meier)", s.Config.Bench, s.Config.Dataset),
		queriesLabel(s), "fraction of runs")
	leg := plot.NewLegend()
	B := float64(s.Config.Budget)
	for i, a := range s.Algos {
		km := a.Strict.KM()
		if km == nil {
			continue
		}
		tau := float64(max(a.Strict.Tau, 1))
		xs := make([]float64, len(km.Times))
		f, flo, fhi := make([]float64, len(xs)), make([]float64, len(xs)), make([]float64, len(xs))
		for j, t := range km.Times {
			xs[j], f[j], flo[j], fhi[j] = float64(t), 1-km.Surv[j], 1-km.Hi[j], 1-km.Lo[j]
		}
		col := plotutil.Color(i)
		lo, hi := stepXY(0, 0, xs, flo, tau), stepXY(0, 0, xs, fhi, tau)
		poly := append(plotter.XYs(nil), hi...)
		for j := len(lo) - 1; j >= 0; j-- {
			poly = append(poly, lo[j])
		}
		pg, err := plotter.NewPolygon(poly)
		if err != nil {
			return err
		}
		pg.Color, pg.LineStyle.Width = fill(col), 0
		l, err := plotter.NewLine(stepXY(0, 0, xs, f, tau))
		if err != nil {
			return err
		}
		l.Color, l.Width, l.Dashes = col, vg.Points(1.5), plotutil.Dashes(i)
		p.Add(pg, l)
		name := fmt.Sprintf("%s: %d/%d found", a.Algo, a.Strict.Found, a.Strict.Runs)
		if c := a.Strict.Runs - a.Strict.Found; c > 0 {
			// Mark where the censored runs leave the curve.
			end := 0.0
			if len(f) > 0 {
				end = f[len(f)-1]
			}
			sc, err := plotter.NewScatter(plotter.XYs{{X: tau, Y: end}})
			if err != nil {
				return err
			}
			sc.Shape, sc.Color, sc.Radius = draw.PlusGlyph{}, col, vg.Points(5)
			p.Add(sc)
			name += fmt.Sprintf(", %d censored (+)", c)
		}
		leg.Add(name, l)
	}
	b, err := vline(p, B, 0, 1, budgetColor)
	if err != nil {
		return err
	}
	leg.Add(fmt.Sprintf("budget (%d)", s.Config.Budget), b)
	leg.Add("band: pointwise 95% CI")
	p.X.Min, p.X.Max = 0, B*1.04
	p.Y.Min, p.Y.Max = 0, 1.02
	return save(p, leg, dir, "found")
}

// plotReport draws the report value of the best-target cell found so far
// (val-selected), mean with the 95% interval of the mean, and the report of
// the target's optimum.
func plotReport(dir string, s *Summary) error {
	p := newPlot(fmt.Sprintf("%s %s: %s accuracy of the best-%s cell so far, mean of %d runs", s.Config.Bench, s.Config.Dataset,
		s.Config.Report, s.Config.Target, s.Config.Runs), queriesLabel(s), fmt.Sprintf("%s (%s)", s.Config.Report, strings.Replace(accUnit(s), "objective", "% points", 1)))
	leg := plot.NewLegend()
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, a := range s.Algos {
		var x, l, m, u []float64
		for g, q := range s.CurveX {
			v := a.CurveMean[2][g]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			h := ci95(a.CurveStd[2][g], a.Runs)
			x, l, m, u = append(x, float64(q)), append(l, v-h), append(m, v), append(u, v+h)
			if q >= 10 || s.Config.Budget < 20 {
				// Fit the means; bands wider than that (the first
				// queries of local search) are clipped at the axes.
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		line, err := band(p, x, l, m, u, plotutil.Color(i), plotutil.Dashes(i))
		if err != nil {
			return err
		}
		if line != nil {
			leg.Add(a.Algo, line)
		}
	}
	if r := float64(s.OptimumReport); !math.IsNaN(r) {
		ol, err := hline(p, r, 1, float64(s.Config.Budget)*1.25, color.Black)
		if err != nil {
			return err
		}
		leg.Add(fmt.Sprintf("%s of the %s optimum", s.Config.Report, s.Config.Target), ol)
		lo, hi = math.Min(lo, r), math.Max(hi, r)
	}
	if !math.IsInf(lo, 0) && !math.IsInf(hi, 0) {
		pad := 0.05 * (hi - lo)
		p.Y.Min, p.Y.Max = lo-pad, hi+pad
	}
	b, err := vline(p, float64(s.Config.Budget), p.Y.Min, p.Y.Max, budgetColor)
	if err != nil {
		return err
	}
	leg.Add(fmt.Sprintf("budget (%d)", s.Config.Budget), b)
	leg.Add("band: 95% CI of the mean")
	p.X.Min, p.X.Max = 1, float64(s.Config.Budget)*1.25
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	return save(p, leg, dir, "curve_report")
}

// metricLabel names a latency-type metric with its unit.
func metricLabel(m string) string {
	if dev, ok := strings.CutPrefix(m, "hw:"); ok {
		return "latency on " + dev + " (ms)"
	}
	switch m {
	case "latency":
		return "latency (s)"
	case "params":
		return "parameters (MB)"
	case "flops":
		return "FLOPs (M)"
	}
	return m
}

// plotPareto draws the accuracy–cost fronts as step lines (the best
// accuracy reachable within a cost), the whole space's and the one found by
// run 0 of each algorithm, and the constraint.
func plotPareto(dir string, s *Summary) error {
	p := newPlot(fmt.Sprintf("%s %s: Pareto fronts, %s vs %s", s.Config.Bench, s.Config.Dataset, s.Config.Target,
		strings.TrimPrefix(s.Device, "hw:")), metricLabel(s.Device), fmt.Sprintf("%s (%s)", s.Config.Target, strings.Replace(accUnit(s), "objective", "% points", 1)))
	leg := plot.NewLegend()
	xy := func(pts []Point) plotter.XYs {
		out := make(plotter.XYs, len(pts))
		for i, q := range pts {
			out[i] = plotter.XY{X: q.Latency, Y: q.Accuracy}
		}
		return out
	}
	ymin, ymax, xmax := math.Inf(1), math.Inf(-1), math.Inf(-1)
	add := func(pts []Point, name string, col color.Color, dashes []vg.Length, shape draw.GlyphDrawer) error {
		if len(pts) == 0 {
			return nil
		}
		for _, q := range pts {
			ymin, ymax, xmax = math.Min(ymin, q.Accuracy), math.Max(ymax, q.Accuracy), math.Max(xmax, q.Latency)
		}
		l, err := plotter.NewLine(xy(pts))
		if err != nil {
			return err
		}
		l.StepStyle = plotter.PostStep
		l.Color, l.Dashes, l.Width = col, dashes, vg.Points(1.2)
		p.Add(l)
		thumbs := []plot.Thumbnailer{l}
		if shape != nil {
			sc, err := plotter.NewScatter(xy(pts))
			if err != nil {
				return err
			}
			sc.Color, sc.Shape = col, shape
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		leg.Add(name, thumbs...)
		return nil
	}
	if err := add(s.TrueFront, "true front (whole space)", color.Black, nil, nil); err != nil {
		return err
	}
	for i, a := range s.Algos {
		if err := add(a.Front, a.Algo+" (run 0)", plotutil.Color(i), plotutil.Dashes(i+1), plotutil.Shape(i)); err != nil {
			return err
		}
	}
	if math.IsInf(ymin, 0) {
		return save(p, leg, dir, "pareto")
	}
	// Zoom on the top 15% below the best accuracy: a front starts with a
	// few cheap broken cells near chance that would squash the rest; the
	// step line enters the plot from below.
	ymin = math.Max(ymin, ymax-0.15*math.Abs(ymax))
	pad := 0.05 * (ymax - ymin)
	p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
	if s.Config.Constraint != "" {
		if c, err := ParseConstraint(s.Config.Constraint); err == nil && c.Metric == s.Device {
			cl, err := vline(p, c.Value, p.Y.Min, p.Y.Max, color.RGBA{R: 200, A: 255})
			if err != nil {
				return err
			}
			leg.Add("constraint "+s.Config.Constraint, cl)
			xmax = math.Max(xmax, c.Value)
		}
	}
	p.X.Min, p.X.Max = 0, xmax*1.05
	return save(p, leg, dir, "pareto")
}
