package predictors

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestEvaluate(t *testing.T) {
	X, y := nb201Sample(newRNG(30), 600)
	specs, err := Specs("ridge", "gbdt")
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64) []Result {
		res, err := Evaluate(context.Background(), X, y, specs, []int{50, 200}, 3, seed)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b, c := run(1), run(1), run(2)
	if len(a) != 4 {
		t.Fatalf("%d results, want 4 (2 models x 2 sizes)", len(a))
	}
	for i, r := range a {
		wantModel, wantN := []string{"ridge", "ridge", "gbdt", "gbdt"}[i], []int{50, 200, 50, 200}[i]
		if r.Model != wantModel || r.N != wantN || r.Test != 600-wantN || len(r.Trials) != 3 || r.TopK != DefaultTopK {
			t.Fatalf("result %d: %+v", i, r)
		}
		for j := range r.Trials {
			if r.Trials[j].Tau != b[i].Trials[j].Tau || r.Trials[j].Rho != b[i].Trials[j].Rho {
				t.Fatalf("result %d trial %d differs between equal seeds", i, j)
			}
		}
		if r.Tau.Mean == c[i].Tau.Mean {
			t.Errorf("result %d: seeds 1 and 2 gave the same mean tau %v", i, r.Tau.Mean)
		}
		if !(r.Tau.Mean > 0.5 && r.Tau.Mean <= 1) || r.Tau.Std < 0 {
			t.Errorf("result %d: tau %+v", i, r.Tau)
		}
		m, s := meanStd([]float64{r.Trials[0].Tau, r.Trials[1].Tau, r.Trials[2].Tau})
		if r.Tau.Mean != m || r.Tau.Std != s {
			t.Errorf("result %d: summary %+v, trials give %v ± %v", i, r.Tau, m, s)
		}
	}
	// more data, better ranking
	if a[1].Tau.Mean <= a[0].Tau.Mean {
		t.Errorf("ridge tau at n=200 (%v) not above n=50 (%v)", a[1].Tau.Mean, a[0].Tau.Mean)
	}

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Evaluate(ctx, X, y, specs, []int{50}, 1, 1); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("fit-error", func(t *testing.T) {
		bad := []Spec{{Name: "ols", Factory: func(*rand.Rand) Predictor { return NewRidge(0) }}}
		if _, err := Evaluate(context.Background(), X, y, bad, []int{100}, 1, 1); !errors.Is(err, ErrSingular) {
			t.Fatalf("err = %v, want ErrSingular", err)
		}
	})
	t.Run("bad-size", func(t *testing.T) {
		expectPanic(t, func() { _, _ = Evaluate(context.Background(), X, y, specs, []int{600}, 1, 1) })
	})
}

func TestWriteResults(t *testing.T) {
	res := []Result{{
		Model: "gbdt", N: 1000, Test: 14625, TopK: 100,
		Tau: Stat{0.74, 0.01}, Rho: Stat{0.9, 0.005}, Precision: Stat{0.5, 0.05},
		FitSec: Stat{0.03, 0.001}, PredSec: Stat{0.02, 0.002},
		Trials: []Trial{{Tau: 0.73}, {Tau: 0.75}},
	}}
	t.Run("table", func(t *testing.T) {
		var b strings.Builder
		if err := WriteResults(&b, res, "table"); err != nil {
			t.Fatal(err)
		}
		want := "" +
			"  model     n   test  trials      kendall tau     spearman rho         prec@k    k      fit ms  predict ms\n" +
			"   gbdt  1000  14625       2  0.7400 ± 0.0100  0.9000 ± 0.0050  0.500 ± 0.050  100  30.0 ± 1.0  20.0 ± 2.0\n"
		if got := trimLines(b.String()); got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("json", func(t *testing.T) {
		var b strings.Builder
		if err := WriteResults(&b, res, "json"); err != nil {
			t.Fatal(err)
		}
		var back []Result
		if err := json.Unmarshal([]byte(b.String()), &back); err != nil {
			t.Fatal(err)
		}
		if back[0].Tau != res[0].Tau || back[0].Model != "gbdt" || len(back[0].Trials) != 2 {
			t.Fatalf("round trip: %+v", back[0])
		}
		if !strings.Contains(b.String(), `"kendall_tau": {`) {
			t.Errorf("json lacks kendall_tau:\n%s", b.String())
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if err := WriteResults(&strings.Builder{}, res, "xml"); err == nil {
			t.Fatal("no error for format xml")
		}
	})
}

// trimLines drops trailing spaces (tabwriter pads the last cell).
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
