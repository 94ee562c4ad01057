package predictors

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/space/nb201"
)

// cpuTime returns the process's user+system CPU time. The benchmarks report
// it per op ("cpu-ms/op") beside the wall time, because the development
// machine is shared: on a loaded machine the wall time overstates the cost,
// while cpu-ms/op / cores bounds the wall time on an idle one.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs body b.N times and reports the CPU time per op.
func loop(b *testing.B, body func()) { loopPer(b, 1, body) }

// loopPer is loop for a body that does per units of work (epochs of one
// Fit): ns/op and cpu-ms/op are per unit.
func loopPer(b *testing.B, per int, body func()) {
	b.Helper()
	c0 := cpuTime()
	n := 0
	for b.Loop() {
		body()
		n++
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(n*per)/1e6, "cpu-ms/op")
	if per > 1 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*per), "ns/op")
	}
}

// nb201All returns the one-hot encodings of all 15,625 NB201 cells and a
// synthetic label (benchmarks need no real data).
func nb201All() (*mat.Dense, []float64) {
	cells := make([]nb201.Cell, nb201.NumCells)
	y := make([]float64, nb201.NumCells)
	rng := newRNG(99)
	for i := range cells {
		cells[i] = nb201.FromCode(i)
		for e, op := range cells[i] {
			y[i] += float64((int(op)*7+e*3)%5) + 0.1*rng.NormFloat64()
		}
	}
	X := mat.NewDense(len(cells), NB201Dim, nil)
	EncodeNB201(X, cells)
	return X, y
}

// nb101Synthetic encodes n random 7-vertex NB101-like cells (45-dim).
func nb101Synthetic(n int) (*mat.Dense, []float64) {
	rng := newRNG(98)
	cells := make([]NB101Cell, n)
	y := make([]float64, n)
	for i := range cells {
		ops := []int{NB101Input, 1 + rng.IntN(3), 1 + rng.IntN(3), 1 + rng.IntN(3), 1 + rng.IntN(3), 1 + rng.IntN(3), NB101Output}
		var adj uint64
		for a := 0; a < 7; a++ {
			for b := a + 1; b < 7; b++ {
				if rng.IntN(4) == 0 || b == a+1 {
					adj |= 1 << (a*7 + b)
				}
			}
		}
		cells[i] = NB101Cell{Adj: adj, Ops: ops}
		y[i] = float64(ops[1]+ops[3]) + float64(adj%7) + 0.1*rng.NormFloat64()
	}
	X := mat.NewDense(n, NB101Dim, nil)
	EncodeNB101(X, cells)
	return X, y
}

func trainRows(X *mat.Dense, y []float64, n int, rng *rand.Rand) (*mat.Dense, []float64) {
	_, d := X.Dims()
	perm := rng.Perm(len(y))[:n]
	Xt := mat.NewDense(n, d, nil)
	yt := make([]float64, n)
	for i, p := range perm {
		Xt.SetRow(i, X.RawRowView(p))
		yt[i] = y[p]
	}
	return Xt, yt
}

// BenchmarkDefaultNB201 is the weak-predictor budget: fit 1,000 samples and
// predict all 15,625 NB201 cells (target <= 50 ms per op).
func BenchmarkDefaultNB201(b *testing.B) {
	X, y := nb201All()
	Xt, yt := trainRows(X, y, 1000, newRNG(1))
	dst := make([]float64, len(y))
	m := NewDefault(newRNG(2))
	loop(b, func() {
		if err := m.Fit(Xt, yt); err != nil {
			b.Fatal(err)
		}
		m.Predict(dst, X)
	})
}

// BenchmarkFitNB201 and BenchmarkPredictNB201 time each model separately.
func BenchmarkFitNB201(b *testing.B) {
	X, y := nb201All()
	Xt, yt := trainRows(X, y, 1000, newRNG(1))
	for _, name := range []string{"gbdt", "mlp", "rf", "ridge", "blr", "gp"} {
		b.Run(name, func(b *testing.B) {
			f, _ := Lookup(name)
			m := f(newRNG(2))
			loop(b, func() {
				if err := m.Fit(Xt, yt); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkPredictNB201(b *testing.B) {
	X, y := nb201All()
	Xt, yt := trainRows(X, y, 1000, newRNG(1))
	dst := make([]float64, len(y))
	for _, name := range []string{"gbdt", "mlp", "rf", "ridge", "blr", "gp"} {
		b.Run(name, func(b *testing.B) {
			f, _ := Lookup(name)
			m := f(newRNG(2))
			if err := m.Fit(Xt, yt); err != nil {
				b.Fatal(err)
			}
			loop(b, func() { m.Predict(dst, X) })
		})
	}
}

// BenchmarkPredictNB101 scores 423,624 synthetic 45-dim NB101 rows with the
// default weak predictor fitted on 1,000 of them (target <= 200 ms per op).
func BenchmarkPredictNB101(b *testing.B) {
	X, y := nb101Synthetic(423624)
	Xt, yt := trainRows(X, y, 1000, newRNG(1))
	dst := make([]float64, len(y))
	for _, name := range []string{"gbdt", "gbdt-nodes", "mlp"} {
		b.Run(name, func(b *testing.B) {
			if name == "gbdt-nodes" { // node-array layout, for comparison
				perfectLayout = false
				defer func() { perfectLayout = true }()
				name = "gbdt"
			}
			f, _ := Lookup(name)
			m := f(newRNG(2))
			if err := m.Fit(Xt, yt); err != nil {
				b.Fatal(err)
			}
			loop(b, func() { m.Predict(dst, X) })
		})
	}
}

// BenchmarkPaperMLP times the WeakNAS 4 x 1000 MLP: fit on 1,000 NB201 cells
// (100 epochs unless the loss stalls) and predict all 15,625. Run with
// -benchtime=1x.
func BenchmarkPaperMLP(b *testing.B) {
	X, y := nb201All()
	Xt, yt := trainRows(X, y, 1000, newRNG(1))
	dst := make([]float64, len(y))
	m := NewMLP(PaperMLPConfig(), newRNG(2))
	b.Run("fit", func(b *testing.B) {
		loop(b, func() {
			if err := m.Fit(Xt, yt); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(len(m.Loss)), "epochs")
	})
	b.Run("predict", func(b *testing.B) {
		loop(b, func() { m.Predict(dst, X) })
	})
}

func BenchmarkKendallTau(b *testing.B) {
	rng := newRNG(3)
	x, y := make([]float64, 15625), make([]float64, 15625)
	for i := range x {
		x[i], y[i] = rng.Float64(), float64(rng.IntN(1000))
	}
	for b.Loop() {
		KendallTau(x, y)
	}
}

// paperBenchEpochs is the epochs of one timed Fit, as the sklearn peer's
// max_iter (paper_mlp_vs_sklearn.sh passes 5).
const paperBenchEpochs = 5

// BenchmarkPaperMLPEpoch times one epoch of the WeakNAS 4 x 1000 MLP on
// 1,000 NB201 rows (5 batches of 200) and one prediction of all 15,625
// cells, in float64 (faithful) and float32; the peer of
// testdata/bench_sklearn_mlp.py (testdata/paper_mlp_vs_sklearn.sh runs both).
//
// Each op is one Fit of paperBenchEpochs epochs, reported per epoch (init
// included, as the peer's fit time over max_iter=5 epochs).
func BenchmarkPaperMLPEpoch(b *testing.B) {
	X, y := nb201All()
	Xt, yt := trainRows(X, y, 1000, newRNG(1))
	dst := make([]float64, len(y))
	for _, f32 := range []bool{false, true} {
		name := "float64"
		if f32 {
			name = "float32"
		}
		cfg := PaperMLPConfig()
		cfg.Epochs, cfg.NoChange, cfg.Float32 = paperBenchEpochs, -1, f32
		m := NewMLP(cfg, newRNG(2))
		b.Run(name+"/epoch", func(b *testing.B) {
			loopPer(b, paperBenchEpochs, func() {
				if err := m.Fit(Xt, yt); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(name+"/predict", func(b *testing.B) {
			if m.d < 0 { // the epoch benchmark was filtered out
				if err := m.Fit(Xt, yt); err != nil {
					b.Fatal(err)
				}
			}
			// One warm call: the buffers are sized and their pages touched, as in
			// a search's repeated predictions (sklearn's peer takes its best of 3).
			m.Predict(dst, X)
			loop(b, func() { m.Predict(dst, X) })
		})
	}
}
