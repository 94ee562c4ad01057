package experiment

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writePlots writes the plots into dir.
func writePlots(dir string, s *Summary) error {
	if err := plotCurves(dir, "curve_target", "best-so-far target", s, 0); err != nil {
		return err
	}
	if err := plotCurves(dir, "curve_report", "val-selected report", s, 2); err != nil {
		return err
	}
	if err := plotS2O(dir, s); err != nil {
		return err
	}
	if s.TrueFront != nil {
		return plotPareto(dir, s)
	}
	return nil
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
		names = append(names, fmt.Sprintf("%s (%d%%)", a.Algo, int(math.Round(100*float64(a.Strict.Frac)))))
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
