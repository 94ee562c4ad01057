package search_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nbquery/nbquery/search"
)

func TestNB201Space(t *testing.T) {
	tab := loadC10(t)
	sp := tab.sp
	if sp.Len() != 15625 || sp.NumClasses() != 6466 {
		t.Fatalf("Len %d NumClasses %d, want 15625 and 6466", sp.Len(), sp.NumClasses())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var nb []int
	for _, i := range []int{0, 6111, 15624} {
		nb = sp.Neighbours(nb, i)
		if len(nb) != 24 {
			t.Fatalf("index %d: %d neighbours", i, len(nb))
		}
		for k := 0; k < 50; k++ {
			m := sp.Mutate(rng, i)
			if !slices.Contains(nb, m) {
				t.Fatalf("Mutate(%d) = %d, not a neighbour", i, m)
			}
		}
		diff := 0
		a, b := sp.Cell(i), sp.Cell(nb[0])
		for e := range a {
			if a[e] != b[e] {
				diff++
			}
		}
		if diff != 1 {
			t.Fatalf("neighbour differs on %d edges", diff)
		}
	}
	// The benchmark index of the CSV is the NB201 index: check one arch.
	for _, i := range []int{0, 6111, 15624} {
		if got := sp.Cell(i).String(); got != tab.archs[i] {
			t.Errorf("cell %d = %s, want %s", i, got, tab.archs[i])
		}
	}
}

func TestOracle(t *testing.T) {
	tab := loadC10(t)
	o, err := search.NewOracle(tab.valid, tab.test, tab.trainT, nil)
	if err != nil {
		t.Fatal(err)
	}
	opt, v := o.Optimum()
	if len(opt) != 1 || opt[0] != 6111 {
		t.Fatalf("optimum %v (%v), want [6111]", opt, v)
	}
	if v < 91.6 || v > 91.7 {
		t.Errorf("optimum value %v, want 91.6xx", v)
	}
	m, s := o.TargetStats()
	if math.Abs(m-83.0) > 3 || s <= 0 {
		t.Errorf("target mean %v std %v", m, s)
	}
	allowed := make([]bool, len(tab.valid))
	if _, err := search.NewOracle(tab.valid, nil, nil, allowed); !errors.Is(err, search.ErrBadInput) {
		t.Errorf("empty constraint: err %v, want ErrBadInput", err)
	}
	allowed[7] = true
	o2, err := search.NewOracle(tab.valid, nil, nil, allowed)
	if err != nil {
		t.Fatal(err)
	}
	if opt, _ := o2.Optimum(); len(opt) != 1 || opt[0] != 7 {
		t.Errorf("constrained optimum %v, want [7]", opt)
	}
}

func TestSessionErrors(t *testing.T) {
	tab := loadC10(t)
	o, _ := search.NewOracle(tab.valid, tab.test, nil, nil)
	for _, test := range []struct {
		name   string
		budget int
		dedup  bool
		ok     bool
	}{
		{"zero", 0, false, false},
		{"whole space", 15625, false, true},
		{"larger than the space", 15626, false, false},
		{"dedup classes", 6466, true, true},
		{"dedup larger than classes", 6467, true, false},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, err := search.NewSession(tab.sp, o, test.budget, test.dedup)
			if (err == nil) != test.ok || (err != nil && !errors.Is(err, search.ErrBadInput)) {
				t.Fatalf("err = %v, want ok=%v", err, test.ok)
			}
		})
	}
}

// TestRandomAnchor checks the closed form: without replacement from N cells
// with one optimum, E[samples] = (N+1)/2 = 7,813 on NB201.
func TestRandomAnchor(t *testing.T) {
	tab := loadC10(t)
	o, _ := search.NewOracle(tab.valid, tab.test, nil, nil)
	s, err := search.NewSession(tab.sp, o, 15625, false)
	if err != nil {
		t.Fatal(err)
	}
	s.StopAtOptimum = true
	const runs = 1000
	var sum, ss float64
	for i := 0; i < runs; i++ {
		s.Reset()
		if err := (search.Random{}).Search(context.Background(), s, rand.New(rand.NewPCG(1, uint64(i)))); err != nil {
			t.Fatal(err)
		}
		if s.StrictAt == 0 {
			t.Fatalf("run %d did not find the optimum in the whole space", i)
		}
		x := float64(s.StrictAt)
		sum += x
		ss += x * x
	}
	mean := sum / runs
	sd := math.Sqrt((ss - runs*mean*mean) / (runs - 1))
	half := 1.962 * sd / math.Sqrt(runs) // t(0.975, 999)
	if want := 7813.0; math.Abs(mean-want) > half {
		t.Fatalf("mean samples-to-optimum %.1f ± %.1f, want 7813 inside", mean, half)
	}
	t.Logf("random search: %.1f ± %.1f (95%% CI) over %d runs; closed form 7813", mean, half, runs)
}

func algos(t testing.TB, tab *c10) []search.Algorithm {
	return []search.Algorithm{
		search.Random{}, search.Evolution{}, search.LocalSearch{}, search.LocalSearch{FirstImprovement: true},
		search.NewBananas(tab.sp, nil),
	}
}

func TestAlgorithms(t *testing.T) {
	tab := loadC10(t)
	o, _ := search.NewOracle(tab.valid, tab.test, tab.trainT, nil)
	for _, a := range algos(t, tab) {
		for _, dedup := range []bool{false, true} {
			name := a.Name()
			if dedup {
				name += "/dedup"
			}
			t.Run(name, func(t *testing.T) {
				budget := 300
				if a.Name() == "bananas" {
					budget = 60
				}
				run := func(seed uint64) []int {
					s, err := search.NewSession(tab.sp, o, budget, dedup)
					if err != nil {
						t.Fatal(err)
					}
					if err := a.Search(context.Background(), s, rand.New(rand.NewPCG(seed, 0))); err != nil {
						t.Fatal(err)
					}
					if len(s.Queries) != budget {
						t.Fatalf("%d queries, want %d", len(s.Queries), budget)
					}
					seen := map[int]bool{}
					for _, i := range s.Queries {
						key := i
						if dedup {
							key = tab.sp.Class(i)
						}
						if seen[key] {
							t.Fatalf("cell %d queried twice (dedup %v)", i, dedup)
						}
						seen[key] = true
					}
					if s.Time[len(s.Time)-1] <= 0 {
						t.Fatalf("no simulated time accounted")
					}
					return slices.Clone(s.Queries)
				}
				a1, a2, b := run(7), run(7), run(8)
				if !slices.Equal(a1, a2) {
					t.Fatal("same seed, different runs")
				}
				if slices.Equal(a1, b) {
					t.Fatal("different seeds, same run")
				}
			})
		}
	}
}

// TestSearchQuality checks that the model-free searches beat random search
// on average (best target after 200 queries, 20 seeds).
func TestSearchQuality(t *testing.T) {
	tab := loadC10(t)
	o, _ := search.NewOracle(tab.valid, tab.test, nil, nil)
	s, _ := search.NewSession(tab.sp, o, 200, false)
	mean := func(a search.Algorithm) float64 {
		var sum float64
		for i := 0; i < 20; i++ {
			s.Reset()
			if err := a.Search(context.Background(), s, rand.New(rand.NewPCG(3, uint64(i)))); err != nil {
				t.Fatal(err)
			}
			sum += o.Target[s.Best()]
		}
		return sum / 20
	}
	r := mean(search.Random{})
	for _, a := range []search.Algorithm{search.Evolution{}, search.LocalSearch{}} {
		if m := mean(a); m <= r {
			t.Errorf("%s: best after 200 = %.3f, random %.3f", a.Name(), m, r)
		} else {
			t.Logf("%s: best after 200 = %.3f, random %.3f", a.Name(), m, r)
		}
	}
}

func TestTopK(t *testing.T) {
	score := []float64{3, 1, 4, 1, 5, 9, 2, 6, math.NaN(), 5}
	all := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, test := range []struct {
		name string
		k    int
		skip func(int) bool
		want []int
	}{
		{"top3", 3, nil, []int{5, 7, 4}},
		{"ties by index", 5, nil, []int{5, 7, 4, 9, 2}},
		{"skip", 2, func(i int) bool { return i == 5 }, []int{7, 4}},
		{"all, NaN last", 10, nil, []int{5, 7, 4, 9, 2, 0, 6, 1, 3, 8}},
		{"k larger", 20, func(i int) bool { return i < 8 }, []int{9, 8}},
		{"zero", 0, nil, []int{}},
	} {
		t.Run(test.name, func(t *testing.T) {
			got := search.TopK(nil, score, all, test.k, test.skip)
			if !slices.Equal(got, test.want) {
				t.Fatalf("got %v, want %v", got, test.want)
			}
		})
	}
}

func TestByName(t *testing.T) {
	for _, n := range []string{"random", "re", "ls", "ls-first"} {
		a, err := search.ByName(n)
		if err != nil || a.Name() != n {
			t.Errorf("%s: %v %v", n, a, err)
		}
	}
	if _, err := search.ByName("sa"); !errors.Is(err, search.ErrBadInput) {
		t.Errorf("unknown name: %v", err)
	}
}

func BenchmarkTopK(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	score := make([]float64, 15625)
	all := make([]int32, len(score))
	for i := range score {
		score[i] = rng.Float64()
		all[i] = int32(i)
	}
	var dst []int
	for b.Loop() {
		dst = search.TopK(dst, score, all, 110, nil)
	}
}

func BenchmarkRandomWholeSpace(b *testing.B) {
	tab := loadC10(b)
	o, _ := search.NewOracle(tab.valid, tab.test, nil, nil)
	s, _ := search.NewSession(tab.sp, o, 15625, false)
	rng := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		s.Reset()
		search.Random{}.Search(context.Background(), s, rng)
	}
}
