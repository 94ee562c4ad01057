package weaknas_test

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nbquery/nbquery/predictors"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/weaknas"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestPaperMLPRun times WeakNAS with the paper's predictor (MLPRegressor
// (1000,)*4, max_iter 100) on the real cifar10-valid table (NBQUERY_LONG=1).
// NBQUERY_BUDGET (default 1000) sets the run's budget: a whole run takes
// hours on 2 cores, so the test also times the two pieces of an iteration,
// one fit on 1,000 samples and one prediction of the whole space, from
// which a 1,000-query run is extrapolated (fits scale with the sample count).
func TestPaperMLPRun(t *testing.T) {
	if os.Getenv("NBQUERY_LONG") != "1" {
		t.Skip("set NBQUERY_LONG=1")
	}
	tab := loadC10(t)
	X := search.EncodeAll(tab.sp)
	o, _ := newSession(t, tab, 1000)
	f := func(r *rand.Rand) predictors.Predictor { return predictors.NewMLP(predictors.PaperMLPConfig(), r) }

	rng := rand.New(rand.NewPCG(1, 1))
	idx := rng.Perm(len(tab.valid))[:1000]
	Xs := search.EncodeAll(tab.sp).Slice(0, 1000, 0, 30)
	y := make([]float64, 1000)
	mean, std := o.TargetStats()
	for r, i := range idx {
		copy(Xs.(interface{ RawRowView(int) []float64 }).RawRowView(r), X.RawRowView(i))
		y[r] = (tab.valid[i] - mean) / std
	}
	p := f(rng)
	w0, c0 := time.Now(), cpuTime()
	if err := p.Fit(Xs, y); err != nil {
		t.Fatal(err)
	}
	fitW, fitC := time.Since(w0), cpuTime()-c0
	pred := make([]float64, len(tab.valid))
	w0, c0 = time.Now(), cpuTime()
	p.Predict(pred, X)
	predW, predC := time.Since(w0), cpuTime()-c0
	t.Logf("paper MLP: fit on 1000 samples %v wall / %v CPU (%d epochs); predict 15,625 cells %v wall / %v CPU; spearman %.3f",
		fitW, fitC, len(p.(*predictors.MLP).Loss), predW, predC, predictors.Spearman(pred, tab.valid))
	// A 1,000-query run: 100 fits on 10..1000 samples (mean 505) and 100 predictions.
	est := time.Duration(100*(float64(fitC)*505/1000) + 100*float64(predC))
	t.Logf("extrapolated CPU time of one 1,000-query run: %v", est)

	budget := 1000
	if n, err := strconv.Atoi(os.Getenv("NBQUERY_BUDGET")); err == nil {
		budget = n
	}
	s, err := search.NewSession(tab.sp, o, budget, false)
	if err != nil {
		t.Fatal(err)
	}
	w := weaknas.New(weaknas.Config{Factory: f}, X, o)
	w0, c0 = time.Now(), cpuTime()
	if err := w.Search(context.Background(), s, rand.New(rand.NewPCG(2021, 0))); err != nil {
		t.Fatal(err)
	}
	t.Logf("one run, budget %d: %v wall, %v CPU; strict %d loose %d; best target %.3f",
		budget, time.Since(w0), cpuTime()-c0, s.StrictAt, s.LooseAt, o.Target[s.Best()])
}
