package index

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/space/nb201"
)

// testArchs returns the 15,625 NB201 cells in code order as arch strings.
func testArchs() []string {
	out := make([]string, nb201.NumCells)
	for i := range out {
		out[i] = nb201.FromCode(i).String()
	}
	return out
}

func col(k Key, epochs []int, vals ...float64) Column {
	return Column{Key: k, Epochs: epochs, Values: vals}
}

func commitFrames(t *testing.T, st *Store, src Source, archs []string, frames ...Frame) {
	t.Helper()
	w, err := st.NewSegment(NB201)
	if err != nil {
		t.Fatal(err)
	}
	if archs != nil {
		w.SetArchs(archs)
	}
	for _, f := range frames {
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(src); err != nil {
		t.Fatal(err)
	}
}

func TestSegmentRoundTrip(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ep := []int{0, 1, 2}
	k := func(set, metric string, seed int) Key { return Key{"cifar10-valid", "3", set, metric, seed} }
	f := Frame{Rows: []int{0, 11, 284}, Columns: []Column{
		col(k(SetTrain, MetricAccuracy, 777), ep, 1, 2, 3, 4, 5, 6, 7, 8, 9),
		col(k(SetTrain, MetricAccuracy, 888), ep, 2, 3, 4, 5, 6, 7, NaN, NaN, NaN),
		col(k(SetXValid, MetricAccuracy, 777), []int{2}, 10, 20, 30),
		col(k(SetXValid, MetricAccuracy, 888), []int{2}, 11, 21, NaN),
		col(k(SetXValid, MetricAllTime, 777), []int{2}, 100, 200, 300),
		col(k(SetXValid, MetricAllTime, 888), []int{2}, 110, 210, NaN),
		col(Key{"cifar10-valid", "3", SetCost, MetricParams, 777}, nil, 0.5, 0.6, 0.7),
		col(Key{"cifar10-valid", "3", SetCost, MetricParams, 888}, nil, 0.5, 0.6, 0.7),
	}}
	commitFrames(t, st, Source{Path: "a", Kind: "test", SHA256: "aaaa"}, testArchs(), f)
	st.Close()

	st, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := st.Bench(NB201)
	if err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		name  string
		row   int
		set   string
		epoch int
		p     SeedPolicy
		acc   float64
		err   error
	}{
		{"mean final", 0, SetXValid, -1, MeanSeeds(), (10 + 11) / 2.0, nil},
		{"one seed present", 284, SetXValid, -1, MeanSeeds(), 30, nil},
		{"fixed seed", 11, SetXValid, 2, FixedSeed(888), 21, nil},
		{"missing seed", 284, SetXValid, 2, FixedSeed(888), 0, ErrUnavailable},
		{"epoch not recorded", 0, SetXValid, 1, MeanSeeds(), 0, ErrUnavailable},
		{"train curve", 11, SetTrain, 1, FixedSeed(777), 5, nil},
		{"row absent", 5, SetXValid, -1, MeanSeeds(), 0, ErrUnavailable},
	} {
		t.Run(test.name, func(t *testing.T) {
			s, err := b.GetMetrics(test.row, "cifar10-valid", "3", test.set, test.epoch, test.p)
			if test.err != nil {
				if !errors.Is(err, test.err) {
					t.Fatalf("err = %v, want %v", err, test.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Accuracy != test.acc {
				t.Errorf("accuracy = %v, want %v", s.Accuracy, test.acc)
			}
		})
	}
	s, _ := b.GetMetrics(0, "cifar10-valid", "3", SetXValid, -1, MeanSeeds())
	if s.AllTime != 105 || s.PerTime != 35 {
		t.Errorf("times = %v %v", s.AllTime, s.PerTime)
	}
	if i, err := b.Index(nb201.FromCode(284).String()); err != nil || i != 284 {
		t.Errorf("Index = %d, %v", i, err)
	}
	c, err := b.ComputeCosts(11, "cifar10-valid", "3", MeanSeeds())
	if err != nil || c.Params != 0.6 || !math.IsNaN(c.FLOPs) {
		t.Errorf("costs = %+v, %v", c, err)
	}
	top, err := b.TopK(Query{Dataset: "cifar10-valid", HP: "3", Split: "valid", Epoch: -1}, 2, false)
	if err != nil || len(top) != 2 || top[0].Index != 284 || top[1].Index != 11 {
		t.Errorf("top = %v, %v", top, err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		v, err := b.Value(0, Query{Dataset: "cifar10-valid", HP: "3", Split: "valid", Epoch: -1, Seed: RandomSeed(r)})
		if err != nil || (v != 10 && v != 11) {
			t.Fatalf("random seed value %v, %v", v, err)
		}
	}
}

func TestCommitIdempotentAndAtomic(t *testing.T) {
	dir := t.TempDir()
	st, _ := Open(dir)
	f := Frame{Rows: []int{1}, Columns: []Column{col(Key{Set: SetHW, Metric: "pixel3", Seed: SeedMean}, nil, 3.5)}}
	src := Source{Path: "x", Kind: "test", SHA256: "bbbb"}
	commitFrames(t, st, src, testArchs(), f)
	before := shared.TreeDigest(t, dir)

	w, _ := st.NewSegment(NB201)
	w.Write(f)
	if err := w.Commit(src); !errors.Is(err, ErrUnchanged) {
		t.Fatalf("second commit err = %v", err)
	}
	w, _ = st.NewSegment(NB201)
	bad := testArchs()
	bad[3], bad[4] = bad[4], bad[3]
	w.SetArchs(bad)
	w.Write(f)
	if err := w.Commit(Source{Path: "y", Kind: "test", SHA256: "cccc"}); !errors.Is(err, ErrArchMismatch) {
		t.Fatalf("mismatch err = %v", err)
	}
	w, _ = st.NewSegment(NB201)
	w.Write(f)
	w.Abort()
	if d := shared.DiffTrees(before, shared.TreeDigest(t, dir)); d != nil {
		t.Errorf("store changed after failed commits: %v", d)
	}
	b, _ := st.Bench(NB201)
	if v, err := b.DeviceLatency(1, "pixel3"); err != nil || v != 3.5 {
		t.Errorf("latency = %v, %v", v, err)
	}
	if _, err := b.DeviceLatency(1, "tpu"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown device err = %v", err)
	}
}

func TestFormatFloat(t *testing.T) {
	for _, test := range []struct {
		v    float64
		want string
	}{
		{91.60666665, "91.60666665"}, {74, "74.0"}, {1e-05, "1e-05"}, {0.0001, "0.0001"},
		{1e16, "1e+16"}, {123456789012345.0, "123456789012345.0"}, {math.NaN(), "null"},
	} {
		if got := FormatFloat(test.v); got != test.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", test.v, got, test.want)
		}
	}
}
