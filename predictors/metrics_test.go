package predictors

import (
	"math"
	"slices"
	"testing"
)

// kendallBrute is the O(n^2) definition of tau-b.
func kendallBrute(x, y []float64) float64 {
	var c, d, tx, ty int
	n := len(x)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			sx, sy := cmpF(x[i], x[j]), cmpF(y[i], y[j])
			switch {
			case sx == 0 && sy == 0:
			case sx == 0:
				tx++
			case sy == 0:
				ty++
			case sx == sy:
				c++
			default:
				d++
			}
		}
	}
	den := math.Sqrt(float64(c+d+tx)) * math.Sqrt(float64(c+d+ty))
	if den == 0 {
		return math.NaN()
	}
	return float64(c-d) / den
}

func TestKendallTau(t *testing.T) {
	for _, test := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"identical", []float64{1, 2, 3, 4, 5}, []float64{1, 2, 3, 4, 5}, 1},
		{"reversed", []float64{1, 2, 3, 4, 5}, []float64{5, 4, 3, 2, 1}, -1},
		// C=4 D=0, one pair tied in x, one in y: 4/sqrt(5*5)
		{"ties-x-and-y", []float64{1, 2, 2, 3}, []float64{1, 3, 2, 3}, 0.8},
		// C=4 D=1, one pair tied in both x and y (counted in both tie sums): 3/sqrt(5*5)
		{"joint-tie", []float64{1, 1, 2, 3}, []float64{1, 1, 3, 2}, 0.6},
		// C=2 D=1 of 3 pairs: 1/3
		{"one-discordant", []float64{1, 2, 3}, []float64{1, 3, 2}, 1.0 / 3},
		{"constant", []float64{1, 1, 1}, []float64{1, 2, 3}, math.NaN()},
		{"single", []float64{1}, []float64{2}, math.NaN()},
	} {
		t.Run(test.name, func(t *testing.T) {
			got := KendallTau(test.x, test.y)
			if math.IsNaN(test.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-test.want) > 1e-15) {
				t.Fatalf("tau = %v, want %v", got, test.want)
			}
		})
	}
	t.Run("brute-force-with-ties", func(t *testing.T) {
		rng := newRNG(21)
		for trial := 0; trial < 50; trial++ {
			n := 1 + rng.IntN(300)
			x, y := make([]float64, n), make([]float64, n)
			for i := range x {
				x[i], y[i] = float64(rng.IntN(6)), float64(rng.IntN(4))+0.5*x[i]
			}
			got, want := KendallTau(x, y), kendallBrute(x, y)
			if !(math.Abs(got-want) < 1e-12 || math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("n=%d: tau %v, brute force %v", n, got, want)
			}
		}
	})
}

func TestSpearman(t *testing.T) {
	for _, test := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"identical", []float64{3, 1, 2}, []float64{30, 10, 20}, 1},
		{"reversed", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		// y ranks [1 2 3.5 5 3.5]: 8/sqrt(10*9.5)
		{"ties", []float64{1, 2, 3, 4, 5}, []float64{5, 6, 7, 8, 7}, 8 / math.Sqrt(95)},
		{"constant", []float64{1, 2, 3}, []float64{4, 4, 4}, math.NaN()},
	} {
		t.Run(test.name, func(t *testing.T) {
			got := Spearman(test.x, test.y)
			if math.IsNaN(test.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-test.want) > 1e-15) {
				t.Fatalf("rho = %.17g, want %.17g", got, test.want)
			}
		})
	}
	if r := Ranks(make([]float64, 5), []float64{5, 6, 7, 8, 7}); !slices.Equal(r, []float64{1, 2, 3.5, 5, 3.5}) {
		t.Errorf("ranks %v", r)
	}
}

func TestTopKPrecision(t *testing.T) {
	pred := []float64{0.9, 0.8, 0.1, 0.5}
	truth := []float64{1, 0, 3, 2}
	for _, test := range []struct {
		name string
		k    int
		want float64
	}{
		{"k1", 1, 0},       // {0} vs {2}
		{"k2", 2, 0},       // {0,1} vs {2,3}
		{"k3", 3, 2.0 / 3}, // {0,1,3} vs {2,3,0}
		{"k4", 4, 1},
	} {
		t.Run(test.name, func(t *testing.T) {
			if got := TopKPrecision(pred, truth, test.k); got != test.want {
				t.Fatalf("precision %v, want %v", got, test.want)
			}
		})
	}
	t.Run("ties-by-index", func(t *testing.T) {
		if got := TopK(nil, []float64{1, 1, 1, 0}, 2); !slices.Equal(got, []int{0, 1}) {
			t.Fatalf("TopK %v, want [0 1]", got)
		}
	})
	t.Run("panics", func(t *testing.T) {
		expectPanic(t, func() { TopKPrecision(pred, truth[:3], 1) })
		expectPanic(t, func() { TopKPrecision(pred, truth, 0) })
		expectPanic(t, func() { KendallTau(pred, truth[:2]) })
	})
}

// FuzzKendallTau checks the O(n log n) tau-b against the O(n^2) definition
// on byte-derived inputs with many ties.
func FuzzKendallTau(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 4, 3, 2, 1})
	f.Add([]byte{0, 0, 0, 1, 1, 1, 2, 2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n := len(b) / 2
		x, y := make([]float64, n), make([]float64, n)
		for i := 0; i < n; i++ {
			x[i] = float64(b[2*i] % 7)
			y[i] = float64(int8(b[2*i+1])) / 16
		}
		got, want := KendallTau(x, y), kendallBrute(x, y)
		if !(math.Abs(got-want) < 1e-12 || math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("x=%v y=%v: tau %v, brute force %v", x, y, got, want)
		}
	})
}
