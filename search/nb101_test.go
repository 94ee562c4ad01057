package search_test

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/ingest/tfrecord"
	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/predictors"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/space/nb101"
)

// The real 30,001-cell NB101 slice (one repeat of validation accuracy at
// 4/12/36/108 epochs), ingested once per test binary into a temporary store
// that stays open until TestMain closes it.
var (
	nb101Once  sync.Once
	nb101Dir   string
	nb101Store *index.Store
	nb101Sp    *search.NB101
	nb101Val   []float64
	nb101Err   error
)

const (
	nb101SliceCells = 30001
	nb101OptHash    = "096f593e0f12d65f6220bf8565b764a9"
	nb101OptVal     = 0.949118614
)

func loadNB101(t testing.TB) (*search.NB101, []float64) {
	t.Helper()
	p := shared.Path(t, "nb101_slices/nb101_tiga_30001_val_4-12-36-108.csv")
	nb101Once.Do(func() {
		nb101Dir, nb101Err = os.MkdirTemp("", "nbquery-search-nb101-")
		if nb101Err != nil {
			return
		}
		st, err := index.Open(nb101Dir)
		if err != nil {
			nb101Err = err
			return
		}
		nb101Store = st
		if _, err := tfrecord.IngestNB101Partial(context.Background(), st, p, nil); err != nil {
			nb101Err = err
			return
		}
		tab, err := st.NB101Table()
		if err != nil {
			nb101Err = err
			return
		}
		if nb101Sp, nb101Err = search.NewNB101(tab); nb101Err != nil {
			return
		}
		nb101Val, nb101Err = tab.Vector(nil, index.NB101Select{Metric: index.FinalValidationAccuracy, Epochs: 108, Repeat: index.NB101MeanRepeats})
	})
	if nb101Err != nil {
		t.Fatal(nb101Err)
	}
	return nb101Sp, nb101Val
}

func TestMain(m *testing.M) {
	code := m.Run()
	if nb101Store != nil {
		nb101Store.Close()
	}
	if nb101Dir != "" {
		os.RemoveAll(nb101Dir)
	}
	os.Exit(code)
}

func TestNB101Space(t *testing.T) {
	sp, val := loadNB101(t)
	tab := sp.Table()
	if sp.Len() != nb101SliceCells || sp.NumClasses() != nb101SliceCells || sp.Dim() != 45 || sp.PathDim() != 40 {
		t.Fatalf("Len %d NumClasses %d Dim %d PathDim %d", sp.Len(), sp.NumClasses(), sp.Dim(), sp.PathDim())
	}
	t.Run("optimum", func(t *testing.T) {
		h, _ := nb101.ParseHash(nb101OptHash)
		row, ok := tab.Row(h)
		if !ok {
			t.Fatalf("optimum %s not in the table", nb101OptHash)
		}
		o, err := search.NewOracle(val, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		opt, v := o.Optimum()
		if len(opt) != 1 || int(opt[0]) != row || v != nb101OptVal {
			t.Fatalf("optimum %v (%v), want row %d (%v)", opt, v, row, nb101OptVal)
		}
	})
	t.Run("encode", func(t *testing.T) {
		rows := []int{0, 1, 777, 12345, nb101SliceCells - 1}
		cells := make([]predictors.NB101Cell, len(rows))
		for k, i := range rows {
			s := tab.Spec(i)
			if s.Hash() != tab.Hash(i) {
				t.Fatalf("row %d: stored spec does not hash to its key", i)
			}
			ops := make([]int, s.N)
			for v, name := range s.OpNames() {
				ops[v] = map[string]int{"input": 0, "conv1x1-bn-relu": 1, "conv3x3-bn-relu": 2, "maxpool3x3": 3, "output": 4}[name]
			}
			cells[k] = predictors.NB101FromMatrix(s.Matrix(), ops)
		}
		want := mat.NewDense(len(rows), 45, nil)
		predictors.EncodeNB101(want, cells)
		wantP := mat.NewDense(len(rows), sp.PathDim(), nil)
		predictors.EncodePathNB101(wantP, cells)
		got := make([]float64, 45)
		gotP := make([]float64, sp.PathDim())
		for k, i := range rows {
			sp.Encode(got, i)
			if !slices.Equal(got, want.RawRowView(k)) {
				t.Errorf("row %d: Encode %v, want %v", i, got, want.RawRowView(k))
			}
			sp.EncodePath(gotP, i)
			if !slices.Equal(gotP, wantP.RawRowView(k)) {
				t.Errorf("row %d: EncodePath %v, want %v", i, gotP, wantP.RawRowView(k))
			}
			if sp.Class(i) != i {
				t.Errorf("Class(%d) = %d", i, sp.Class(i))
			}
			if s := sum(got); s < 3 {
				t.Errorf("row %d: encoding has %v ones", i, s)
			}
		}
	})
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// neighboursRef enumerates the single edits of row i through the
// matrix/op-name API (nb101.NewSpec), independently of search.NB101.
func neighboursRef(tab *index.NB101Table, i int) []int {
	s := tab.Spec(i)
	m, ops := s.Matrix(), s.OpNames()
	var out []int
	try := func() {
		sp, err := nb101.NewSpec(m, ops)
		if err != nil {
			return
		}
		if r, ok := tab.Row(sp.Hash()); ok && r != i && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	for a := range m {
		for b := a + 1; b < len(m); b++ {
			m[a][b] ^= 1
			try()
			m[a][b] ^= 1
		}
	}
	for v := 1; v < len(ops)-1; v++ {
		old := ops[v]
		for _, op := range []string{nb101.NameConv3x3, nb101.NameConv1x1, nb101.NameMaxPool3x3} {
			if op != old {
				ops[v] = op
				try()
			}
		}
		ops[v] = old
	}
	slices.Sort(out)
	return out
}

func TestNB101Neighbours(t *testing.T) {
	sp, _ := loadNB101(t)
	tab := sp.Table()
	rng := rand.New(rand.NewPCG(5, 6))
	var nb []int
	total := 0
	for k := 0; k < 60; k++ {
		i := rng.IntN(sp.Len())
		nb = sp.Neighbours(nb, i)
		got := slices.Clone(nb)
		slices.Sort(got)
		if want := neighboursRef(tab, i); !slices.Equal(got, want) {
			t.Fatalf("row %d: neighbours %v, want %v", i, got, want)
		}
		if slices.Contains(got, i) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("row %d: neighbours %v contain the row or repeats", i, nb)
		}
		total += len(nb)
	}
	// The slice holds ~7% of the space, so a cell has a few neighbours in it.
	if total == 0 {
		t.Fatal("no neighbours found in 60 cells")
	}
	t.Logf("mean neighbours in the slice: %.2f", float64(total)/60)
}

func TestNB101Mutate(t *testing.T) {
	sp, _ := loadNB101(t)
	tab := sp.Table()
	seq := func(seed uint64) []int {
		rng := rand.New(rand.NewPCG(seed, 1))
		var out []int
		for k := 0; k < 200; k++ {
			i := rng.IntN(sp.Len())
			m := sp.Mutate(rng, i)
			if m == i || m < 0 || m >= sp.Len() {
				t.Fatalf("Mutate(%d) = %d", i, m)
			}
			s := tab.Spec(m)
			if _, err := nb101.NewSpec(s.Matrix(), s.OpNames()); err != nil {
				t.Fatalf("Mutate(%d) = %d: invalid spec: %v", i, m, err)
			}
			if s.Hash() != tab.Hash(m) {
				t.Fatalf("Mutate(%d) = %d: spec hash differs from the row key", i, m)
			}
			out = append(out, i, m)
		}
		return out
	}
	a, b, c := seq(1), seq(1), seq(2)
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different mutations")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds, same mutations")
	}
	// Single-step mutations are often neighbours: check that at least some
	// are, so the mutation is local and not a random jump.
	rng := rand.New(rand.NewPCG(9, 9))
	var nb []int
	local := 0
	for k := 0; k < 100; k++ {
		i := rng.IntN(sp.Len())
		nb = sp.Neighbours(nb, i)
		if slices.Contains(nb, sp.Mutate(rng, i)) {
			local++
		}
	}
	if local < 20 {
		t.Fatalf("only %d of 100 mutations are neighbours", local)
	}
	t.Logf("%d of 100 mutations are single-edit neighbours", local)
}

func TestNB101Search(t *testing.T) {
	sp, val := loadNB101(t)
	o, err := search.NewOracle(val, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := search.NewSession(sp, o, 200, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []search.Algorithm{search.Random{}, search.Evolution{}, search.LocalSearch{}} {
		t.Run(a.Name(), func(t *testing.T) {
			run := func(seed uint64) ([]int, float64) {
				s.Reset()
				if err := a.Search(context.Background(), s, rand.New(rand.NewPCG(seed, 0))); err != nil {
					t.Fatal(err)
				}
				if len(s.Queries) != 200 {
					t.Fatalf("%d queries", len(s.Queries))
				}
				return slices.Clone(s.Queries), o.Target[s.Best()]
			}
			q1, best := run(3)
			q2, _ := run(3)
			if !slices.Equal(q1, q2) {
				t.Fatal("same seed, different runs")
			}
			mean, _ := o.TargetStats()
			if best <= mean || best > nb101OptVal || math.IsNaN(best) {
				t.Fatalf("best after 200 = %v (mean %v)", best, mean)
			}
		})
	}
}

func BenchmarkNB101Mutate(b *testing.B) {
	sp, _ := loadNB101(b)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; b.Loop(); i++ {
		sp.Mutate(rng, i%sp.Len())
	}
}

func BenchmarkNB101Neighbours(b *testing.B) {
	sp, _ := loadNB101(b)
	var nb []int
	for i := 0; b.Loop(); i++ {
		nb = sp.Neighbours(nb, i%sp.Len())
	}
}
