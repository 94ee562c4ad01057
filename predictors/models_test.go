package predictors

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/space/nb201"
)

func newRNG(a uint64) *rand.Rand { return rand.New(rand.NewPCG(a, 0x5eed)) }

// synth returns n rows of d uniform [0,1) features and labels f(row).
func synth(rng *rand.Rand, n, d int, f func([]float64) float64) (*mat.Dense, []float64) {
	X := mat.NewDense(n, d, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		row := X.RawRowView(i)
		for j := range row {
			row[j] = rng.Float64()
		}
		y[i] = f(row)
	}
	return X, y
}

func rmse(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s / float64(len(a)))
}

func linearFn(x []float64) float64 { return 3*x[0] - 2*x[1] + 0.5*x[2] + 1 }

// stepFn is piecewise constant with steps at x0 = 0.5 and x1 = 0.3.
func stepFn(x []float64) float64 {
	v := 0.0
	if x[0] > 0.5 {
		v += 1
	}
	if x[1] > 0.3 {
		v += 2
	}
	return v
}

func TestKnownAnswers(t *testing.T) {
	mk := func(name string) Factory {
		f, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, test := range []struct {
		name    string
		f       Factory
		fn      func([]float64) float64
		n       int
		maxRMSE float64
	}{
		{"ridge-linear", func(*rand.Rand) Predictor { return NewRidge(1e-8) }, linearFn, 200, 1e-6},
		{"blr-linear", mk("blr"), linearFn, 200, 1e-3},
		{"gp-linear", mk("gp"), linearFn, 300, 0.05},
		{"mlp-linear", mk("mlp"), linearFn, 500, 0.1},
		{"gbdt-linear", mk("gbdt"), linearFn, 1000, 0.25},
		{"gbdt-step", mk("gbdt"), stepFn, 1000, 0.05},
		{"rf-step", mk("rf"), stepFn, 1000, 0.05},
		{"mlp-step", mk("mlp"), stepFn, 1000, 0.35},
		{"ensemble-linear", mk("ensemble"), linearFn, 500, 0.1},
	} {
		t.Run(test.name, func(t *testing.T) {
			rng := newRNG(1)
			X, y := synth(rng, test.n, 4, test.fn)
			Xt, yt := synth(rng, 500, 4, test.fn)
			if test.fn(Xt.RawRowView(0)) != yt[0] {
				t.Fatal("synth mismatch")
			}
			if test.name == "gbdt-step" || test.name == "rf-step" || test.name == "mlp-step" {
				// keep test points away from the steps, where a tree's split
				// between two training points is legitimately uncertain
				for i := 0; i < 500; i++ {
					row := Xt.RawRowView(i)
					for math.Abs(row[0]-0.5) < 0.02 || math.Abs(row[1]-0.3) < 0.02 {
						row[0], row[1] = rng.Float64(), rng.Float64()
					}
					yt[i] = test.fn(row)
				}
			}
			m := test.f(newRNG(2))
			if err := m.Fit(X, y); err != nil {
				t.Fatal(err)
			}
			pred := m.Predict(make([]float64, 500), Xt)
			if e := rmse(pred, yt); !(e <= test.maxRMSE) {
				t.Errorf("test RMSE %.3g, want <= %g", e, test.maxRMSE)
			}
		})
	}
}

func TestRidgeCoefficients(t *testing.T) {
	X, y := synth(newRNG(3), 100, 3, linearFn)
	r := NewRidge(0)
	if err := r.Fit(X, y); err != nil {
		t.Fatal(err)
	}
	w, b := r.Coef()
	for i, want := range []float64{3, -2, 0.5} {
		if math.Abs(w[i]-want) > 1e-9 {
			t.Errorf("w[%d] = %v, want %v", i, w[i], want)
		}
	}
	if math.Abs(b-1) > 1e-9 {
		t.Errorf("b = %v, want 1", b)
	}
}

// nb201Sample encodes n random NB201 cells with a synthetic label.
func nb201Sample(rng *rand.Rand, n int) (*mat.Dense, []float64) {
	cells := make([]nb201.Cell, n)
	y := make([]float64, n)
	for i := range cells {
		cells[i] = nb201.FromCode(rng.IntN(nb201.NumCells))
		for e, op := range cells[i] {
			y[i] += float64((int(op)*7+e*3)%5) + 0.1*rng.NormFloat64()
		}
	}
	X := mat.NewDense(n, NB201Dim, nil)
	EncodeNB201(X, cells)
	return X, y
}

func TestDeterminism(t *testing.T) {
	X, y := nb201Sample(newRNG(4), 300)
	Xt, _ := nb201Sample(newRNG(5), 5000)
	for _, name := range Names() {
		if strings.HasPrefix(name, "mlp-paper") {
			continue // too slow here: TestNB201PaperMLP (NBQUERY_LONG=1) and BenchmarkPaperMLP run it
		}
		t.Run(name, func(t *testing.T) {
			f, _ := Lookup(name)
			var preds [2][]float64
			for k := range preds {
				m := f(newRNG(7))
				if err := m.Fit(X, y); err != nil {
					t.Fatal(err)
				}
				preds[k] = m.Predict(make([]float64, 5000), Xt)
			}
			if !slices.Equal(preds[0], preds[1]) {
				t.Fatal("same seed gave different predictions")
			}
			if u, ok := f(newRNG(7)).(Uncertain); ok {
				if err := u.Fit(X, y); err != nil {
					t.Fatal(err)
				}
				mean, std := make([]float64, 5000), make([]float64, 5000)
				u.PredictStd(mean, std, Xt)
				if !slices.Equal(mean, preds[0]) && rmse(mean, preds[0]) > 1e-9 {
					t.Errorf("PredictStd mean differs from Predict (rmse %g)", rmse(mean, preds[0]))
				}
				for i, s := range std {
					if !(s >= 0) {
						t.Fatalf("std[%d] = %v", i, s)
					}
				}
			}
		})
	}
}

func TestReuseAcrossFits(t *testing.T) {
	// A model refitted on different data must give the same predictions as a
	// fresh model with the same rng state.
	X1, y1 := nb201Sample(newRNG(8), 200)
	X2, y2 := nb201Sample(newRNG(9), 400)
	Xt, _ := nb201Sample(newRNG(10), 100)
	for _, name := range []string{"mlp", "gbdt", "rf", "ridge", "blr", "gp"} {
		t.Run(name, func(t *testing.T) {
			f, _ := Lookup(name)
			a := f(newRNG(11))
			if err := a.Fit(X1, y1); err != nil {
				t.Fatal(err)
			}
			if err := a.Fit(X2, y2); err != nil {
				t.Fatal(err)
			}
			got := a.Predict(make([]float64, 100), Xt)
			for i, v := range got {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("prediction %d = %v", i, v)
				}
			}
			// Same two fits on a fresh model: identical.
			b := f(newRNG(11))
			_ = b.Fit(X1, y1)
			_ = b.Fit(X2, y2)
			if want := b.Predict(make([]float64, 100), Xt); !slices.Equal(got, want) {
				t.Fatal("not deterministic across refits")
			}
		})
	}
}

func TestShapePanics(t *testing.T) {
	X, y := nb201Sample(newRNG(12), 50)
	for _, name := range Names() {
		if strings.HasPrefix(name, "mlp-paper") {
			continue
		}
		f, _ := Lookup(name)
		t.Run(name, func(t *testing.T) {
			t.Run("fit-len", func(t *testing.T) { expectPanic(t, func() { _ = f(newRNG(1)).Fit(X, y[:49]) }) })
			t.Run("predict-before-fit", func(t *testing.T) {
				expectPanic(t, func() { f(newRNG(1)).Predict(make([]float64, 50), X) })
			})
			m := f(newRNG(1))
			if err := m.Fit(X, y); err != nil {
				t.Fatal(err)
			}
			t.Run("dst-len", func(t *testing.T) { expectPanic(t, func() { m.Predict(make([]float64, 49), X) }) })
			t.Run("cols", func(t *testing.T) {
				expectPanic(t, func() { m.Predict(make([]float64, 50), X.Slice(0, 50, 0, 29)) })
			})
			if u, ok := m.(Uncertain); ok {
				t.Run("std-len", func(t *testing.T) {
					expectPanic(t, func() { u.PredictStd(make([]float64, 50), make([]float64, 3), X) })
				})
			}
		})
	}
}

func TestNumericalErrors(t *testing.T) {
	X, y := nb201Sample(newRNG(13), 50)
	nan := slices.Clone(y)
	nan[17] = math.NaN()
	for _, name := range Names() {
		if strings.HasPrefix(name, "mlp-paper") {
			continue
		}
		f, _ := Lookup(name)
		t.Run("nan-label/"+name, func(t *testing.T) {
			err := f(newRNG(1)).Fit(X, nan)
			if !errors.Is(err, ErrNaN) {
				t.Fatalf("err = %v, want ErrNaN", err)
			}
		})
	}
	t.Run("nan-feature", func(t *testing.T) {
		Xn := mat.DenseCopyOf(X)
		Xn.Set(3, 4, math.Inf(1))
		if err := NewGBDT(GBDTConfig{}, newRNG(1)).Fit(Xn, y); !errors.Is(err, ErrNaN) {
			t.Fatalf("err = %v, want ErrNaN", err)
		}
	})
	t.Run("ridge-singular", func(t *testing.T) {
		// one-hot columns of an edge sum to 1: X'X of the centred data is singular
		if err := NewRidge(0).Fit(X, y); !errors.Is(err, ErrSingular) {
			t.Fatalf("err = %v, want ErrSingular", err)
		}
	})
	t.Run("gp-singular", func(t *testing.T) {
		// two identical points, noise below float64 resolution: K = [[1,1],[1,1]]
		Xd := mat.NewDense(2, 2, []float64{1, 2, 1, 2})
		err := NewGP(GPConfig{LengthScale: 1, Noise: 1e-18}, newRNG(1)).Fit(Xd, []float64{1, 2})
		if !errors.Is(err, ErrSingular) {
			t.Fatalf("err = %v, want ErrSingular", err)
		}
	})
	t.Run("too-few", func(t *testing.T) {
		if err := NewGP(GPConfig{}, newRNG(1)).Fit(X.Slice(0, 1, 0, NB201Dim), y[:1]); !errors.Is(err, ErrTooFew) {
			t.Fatalf("err = %v, want ErrTooFew", err)
		}
	})
	t.Run("unknown-model", func(t *testing.T) {
		if _, err := Lookup("svm"); !errors.Is(err, ErrUnknownModel) {
			t.Fatalf("err = %v, want ErrUnknownModel", err)
		}
	})
}

func TestEnsembleStd(t *testing.T) {
	X, y := synth(newRNG(14), 100, 3, linearFn)
	// Identical deterministic members: std exactly 0, mean = the member's.
	e := NewEnsemble(func(*rand.Rand) Predictor { return NewRidge(1e-3) }, 4, newRNG(1))
	if err := e.Fit(X, y); err != nil {
		t.Fatal(err)
	}
	mean, std := make([]float64, 100), make([]float64, 100)
	e.PredictStd(mean, std, X)
	one := e.Members[0].Predict(make([]float64, 100), X)
	for i := range mean {
		if std[i] != 0 || math.Abs(mean[i]-one[i]) > 1e-12 {
			t.Fatalf("row %d: mean %v std %v, want %v and 0", i, mean[i], std[i], one[i])
		}
	}
	// Two constant members 1 and 3: mean 2, population std 1.
	vals := []float64{1, 3}
	k := 0
	c := NewEnsemble(func(*rand.Rand) Predictor { k++; return constModel(vals[k-1]) }, 2, newRNG(1))
	if err := c.Fit(X, y); err != nil {
		t.Fatal(err)
	}
	c.PredictStd(mean, std, X)
	if mean[0] != 2 || std[0] != 1 {
		t.Fatalf("mean %v std %v, want 2 and 1", mean[0], std[0])
	}
}

type constModel float64

func (c constModel) Fit(mat.Matrix, []float64) error { return nil }
func (c constModel) Predict(dst []float64, _ mat.Matrix) []float64 {
	for i := range dst {
		dst[i] = float64(c)
	}
	return dst
}

func TestAcquisition(t *testing.T) {
	const phi0 = 0.3989422804014327 // standard normal pdf at 0
	mean := []float64{1, 1, 2, 0.5}
	std := []float64{1, 0, 0, 2}
	dst := make([]float64, 4)
	ei := EI(dst, mean, std, 1)
	// mean 0.5, std 2, best 1: z = -0.25; EI = -0.5*Phi(-0.25) + 2*phi(-0.25)
	want := []float64{phi0, 0, 1, -0.5*0.4012936743170763 + 2*0.38666811680284924}
	for i := range want {
		if math.Abs(ei[i]-want[i]) > 1e-12 {
			t.Errorf("EI[%d] = %.17g, want %.17g", i, ei[i], want[i])
		}
	}
	pi := PI(make([]float64, 4), mean, std, 1)
	for i, w := range []float64{0.5, 0, 1, 0.4012936743170763} {
		if math.Abs(pi[i]-w) > 1e-12 {
			t.Errorf("PI[%d] = %.17g, want %.17g", i, pi[i], w)
		}
	}
	ucb := UCB(make([]float64, 4), mean, std, 0.5)
	for i, w := range []float64{1.5, 1, 2, 1.5} {
		if ucb[i] != w {
			t.Errorf("UCB[%d] = %v, want %v", i, ucb[i], w)
		}
	}
	expectPanic(t, func() { EI(make([]float64, 3), mean, std, 0) })
}

func TestPredictAllocs(t *testing.T) {
	X, y := nb201Sample(newRNG(40), 300)
	dst := make([]float64, 300)
	for _, name := range []string{"gbdt", "rf", "mlp", "ridge", "blr"} {
		t.Run(name, func(t *testing.T) {
			f, _ := Lookup(name)
			m := f(newRNG(1))
			if err := m.Fit(X, y); err != nil {
				t.Fatal(err)
			}
			m.Predict(dst, X) // warm the buffers
			// The MLP's only allocations are gonum Dgemm's internal
			// goroutine bookkeeping (a few per layer, not per row).
			limit := 0.0
			if name == "mlp" {
				limit = 64
			}
			if a := testing.AllocsPerRun(10, func() { m.Predict(dst, X) }); a > limit {
				t.Errorf("Predict allocates %v times per call, want <= %v", a, limit)
			}
		})
	}
}

func TestMLPEarlyStopping(t *testing.T) {
	X, y := synth(newRNG(50), 200, 3, linearFn)
	for _, test := range []struct {
		name   string
		cfg    MLPConfig
		epochs int
	}{
		{"disabled", MLPConfig{Hidden: []int{8}, Epochs: 7, NoChange: -1}, 7},
		// sklearn: best_loss starts at +Inf, so epoch 1 resets the count;
		// with tol huge every later epoch counts as no improvement, and
		// training stops once the count exceeds n_iter_no_change (10): 12 epochs.
		{"huge-tol", MLPConfig{Hidden: []int{8}, Epochs: 50, Tol: 1e9}, 12},
		{"patience-3", MLPConfig{Hidden: []int{8}, Epochs: 50, Tol: 1e9, NoChange: 3}, 5},
	} {
		t.Run(test.name, func(t *testing.T) {
			m := NewMLP(test.cfg, newRNG(1))
			if err := m.Fit(X, y); err != nil {
				t.Fatal(err)
			}
			if len(m.Loss) != test.epochs {
				t.Fatalf("%d epochs, want %d", len(m.Loss), test.epochs)
			}
		})
	}
	t.Run("loss-decreases", func(t *testing.T) {
		m := NewMLP(MLPConfig{Hidden: []int{16}, Epochs: 30, NoChange: -1, LearningRate: 1e-2, BatchSize: 20}, newRNG(1))
		if err := m.Fit(X, y); err != nil {
			t.Fatal(err)
		}
		if !(m.Loss[29] < m.Loss[0]/2) {
			t.Fatalf("loss %v -> %v", m.Loss[0], m.Loss[29])
		}
	})
}

// TestTreeLayouts checks that the three tree prediction paths (node array,
// perfect layout, bit-packed perfect layout) give identical predictions.
func TestTreeLayouts(t *testing.T) {
	Xb, yb := nb201Sample(newRNG(60), 400)
	Xc, yc := synth(newRNG(61), 400, 5, stepFn)
	for _, data := range []struct {
		name string
		X    *mat.Dense
		y    []float64
	}{{"binary", Xb, yb}, {"continuous", Xc, yc}} {
		for _, name := range []string{"gbdt", "rf"} {
			t.Run(data.name+"/"+name, func(t *testing.T) {
				f, _ := Lookup(name)
				var preds [2][]float64
				var stds [2][]float64
				for k, perfect := range []bool{false, true} {
					perfectLayout = perfect
					m := f(newRNG(3))
					if err := m.Fit(data.X, data.y); err != nil {
						t.Fatal(err)
					}
					perfectLayout = true
					preds[k] = m.Predict(make([]float64, 400), data.X)
					if u, ok := m.(Uncertain); ok {
						mean := make([]float64, 400)
						stds[k] = make([]float64, 400)
						u.PredictStd(mean, stds[k], data.X)
					}
					// On binary data the bit layout must exist (continuous
					// data in [0,1) may build it too, but packBits refuses
					// the rows and the float path runs).
					pbit := m.(interface{ trees() *forest }).trees().pbit
					if perfect && data.name == "binary" && len(pbit) == 0 {
						t.Fatal("no bit layout on binary data")
					}
				}
				if !slices.Equal(preds[0], preds[1]) {
					t.Fatalf("layouts disagree: rmse %g", rmse(preds[0], preds[1]))
				}
				if !slices.Equal(stds[0], stds[1]) {
					t.Fatal("std differs between layouts")
				}
			})
		}
	}
}
