package predictors

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/mat"
)

// Spec names a model for Evaluate.
type Spec struct {
	Name    string
	Factory Factory
}

// DefaultTopK is the k of the top-k precision Evaluate reports.
const DefaultTopK = 100

// Stat is a mean and a population std (ddof 0) over trials.
type Stat struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

func statOf(x []float64) Stat {
	m, s := meanStd(x)
	return Stat{m, s}
}

// Trial is the outcome of one train/test split.
type Trial struct {
	Seed      [2]uint64 `json:"seed"` // PCG seed of the split and of the model
	Tau       float64   `json:"tau"`
	Rho       float64   `json:"rho"`
	Precision float64   `json:"precision"`
	FitSec    float64   `json:"fit_s"`
	PredSec   float64   `json:"predict_s"`
}

// Result summarises one model at one training-set size.
type Result struct {
	Model     string  `json:"model"`
	N         int     `json:"n"`    // training samples
	Test      int     `json:"test"` // held-out samples scored
	TopK      int     `json:"top_k"`
	Tau       Stat    `json:"kendall_tau"`
	Rho       Stat    `json:"spearman_rho"`
	Precision Stat    `json:"top_k_precision"`
	FitSec    Stat    `json:"fit_s"`
	PredSec   Stat    `json:"predict_s"`
	Trials    []Trial `json:"trials"`
}

// EvalOptions tunes EvaluateWith. Zero fields take defaults.
type EvalOptions struct {
	TopK int // k of the top-k precision (DefaultTopK, capped at the test size)
}

// Evaluate trains every model on n random rows of (X, y) for each n in sizes
// and scores it on all other rows, trials times, with EvalOptions defaults.
// See EvaluateWith.
func Evaluate(ctx context.Context, X *mat.Dense, y []float64, models []Spec, sizes []int, trials int, seed uint64) ([]Result, error) {
	return EvaluateWith(ctx, X, y, models, sizes, trials, seed, EvalOptions{})
}

// EvaluateWith is Evaluate with options. Trial t draws its split from
// PCG(seed, t) (the training set for a smaller n is a prefix of the one for a
// larger n, and every model sees the same splits) and its model randomness
// from PCG(seed^0x9e3779b97f4a7c15, t<<32|sizeIndex), so the same seed gives
// the same results. Results come model-major, then by size. It panics on
// shape mismatches or sizes outside [1, rows-1]; it returns the first Fit
// error, or ctx.Err() when cancelled.
func EvaluateWith(ctx context.Context, X *mat.Dense, y []float64, models []Spec, sizes []int, trials int, seed uint64, opt EvalOptions) ([]Result, error) {
	rows, d := X.Dims()
	if rows != len(y) {
		panic(fmt.Sprintf("predictors: Evaluate: X has %d rows, y has %d values", rows, len(y)))
	}
	if trials < 1 {
		panic(fmt.Sprintf("predictors: Evaluate: trials = %d", trials))
	}
	for _, n := range sizes {
		if n < 1 || n >= rows {
			panic(fmt.Sprintf("predictors: Evaluate: training size %d outside [1, %d]", n, rows-1))
		}
	}
	res := make([]Result, len(models)*len(sizes))
	for mi, m := range models {
		for si, n := range sizes {
			k := opt.TopK
			if k <= 0 {
				k = DefaultTopK
			}
			res[mi*len(sizes)+si] = Result{Model: m.Name, N: n, Test: rows - n, TopK: min(k, rows-n)}
		}
	}
	xtr, xte := new(mat.Dense), new(mat.Dense)
	var ytr, yte, pred []float64
	for t := 0; t < trials; t++ {
		perm := rand.New(rand.NewPCG(seed, uint64(t))).Perm(rows)
		for si, n := range sizes {
			xtr.Reset()
			xtr.ReuseAs(n, d)
			xte.Reset()
			xte.ReuseAs(rows-n, d)
			ytr, yte, pred = grow(ytr, n), grow(yte, rows-n), grow(pred, rows-n)
			for i, p := range perm {
				if i < n {
					xtr.SetRow(i, X.RawRowView(p))
					ytr[i] = y[p]
				} else {
					xte.SetRow(i-n, X.RawRowView(p))
					yte[i-n] = y[p]
				}
			}
			ms := [2]uint64{seed ^ 0x9e3779b97f4a7c15, uint64(t)<<32 | uint64(si)}
			for mi, m := range models {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				r := &res[mi*len(sizes)+si]
				model := m.Factory(rand.New(rand.NewPCG(ms[0], ms[1])))
				t0 := time.Now()
				if err := model.Fit(xtr, ytr); err != nil {
					return nil, fmt.Errorf("predictors: Evaluate: model %s, n %d, trial %d: %w", m.Name, n, t, err)
				}
				t1 := time.Now()
				model.Predict(pred, xte)
				t2 := time.Now()
				r.Trials = append(r.Trials, Trial{
					Seed:      [2]uint64{seed, uint64(t)},
					Tau:       KendallTau(pred, yte),
					Rho:       Spearman(pred, yte),
					Precision: TopKPrecision(pred, yte, r.TopK),
					FitSec:    t1.Sub(t0).Seconds(),
					PredSec:   t2.Sub(t1).Seconds(),
				})
			}
		}
	}
	for i := range res {
		r := &res[i]
		col := func(f func(Trial) float64) Stat {
			x := make([]float64, len(r.Trials))
			for j, tr := range r.Trials {
				x[j] = f(tr)
			}
			return statOf(x)
		}
		r.Tau = col(func(t Trial) float64 { return t.Tau })
		r.Rho = col(func(t Trial) float64 { return t.Rho })
		r.Precision = col(func(t Trial) float64 { return t.Precision })
		r.FitSec = col(func(t Trial) float64 { return t.FitSec })
		r.PredSec = col(func(t Trial) float64 { return t.PredSec })
	}
	return res, nil
}

// WriteResults writes results to w as an aligned text table (format "table"
// or "") or as indented JSON ("json").
func WriteResults(w io.Writer, results []Result, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return fmt.Errorf("predictors: WriteResults: %w", err)
		}
		return nil
	case "", "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "model\tn\ttest\ttrials\tkendall tau\tspearman rho\tprec@k\tk\tfit ms\tpredict ms\t")
		pm := func(s Stat, scale float64, prec int) string {
			if math.IsNaN(s.Mean) {
				return "NaN"
			}
			return fmt.Sprintf("%.*f ± %.*f", prec, s.Mean*scale, prec, s.Std*scale)
		}
		for _, r := range results {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%d\t%s\t%s\t\n", r.Model, r.N, r.Test, len(r.Trials),
				pm(r.Tau, 1, 4), pm(r.Rho, 1, 4), pm(r.Precision, 1, 3), r.TopK, pm(r.FitSec, 1e3, 1), pm(r.PredSec, 1e3, 1))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("predictors: WriteResults: %w", err)
		}
		return nil
	}
	return fmt.Errorf("predictors: WriteResults: unknown format %q (want table or json)", format)
}
