package index_test

import (
	"math"
	"testing"

	"github.com/nbquery/nbquery/index"
)

// TestComputedCostsMatchTable compares the computed params and FLOPs with
// the benchmark's own records (the NATS slices of architectures 0, 11 and
// 284) on every dataset.
func TestComputedCostsMatchTable(t *testing.T) {
	st, err := index.Open(realStore(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := st.Bench(index.NB201)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, row := range []int{0, 11, 284} {
		for _, d := range index.Datasets {
			rec, err := b.ComputeCosts(row, d, "200", index.MeanSeeds())
			if err != nil {
				t.Fatalf("row %d %s: %v", row, d, err)
			}
			got, ok := b.ComputedCosts(row, d)
			if !ok {
				t.Fatalf("row %d %s: not computed", row, d)
			}
			if math.Abs(got.Params-rec.Params) > 5e-7 || math.Abs(got.FLOPs-rec.FLOPs) > 5e-6 {
				t.Errorf("row %d %s: computed params %.6f flops %.5f, table %.6f %.5f", row, d, got.Params, got.FLOPs, rec.Params, rec.FLOPs)
			}
			checked++
		}
	}
	if checked != 12 {
		t.Fatalf("checked %d", checked)
	}
}

// TestRankParamsWholeSpace ranks all 15,625 cells by params on a table that
// records them for 3: every cell is ranked, 15,622 computed.
func TestRankParamsWholeSpace(t *testing.T) {
	st, err := index.Open(realStore(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := st.Bench(index.NB201)
	if err != nil {
		t.Fatal(err)
	}
	q := index.Query{Dataset: "cifar10-valid", HP: "200", Metric: index.MetricParams, Epoch: -1}
	top, cov, err := b.Rank(q, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	if cov.Count != 15625 || cov.Missing != 0 || cov.Computed != 15622 {
		t.Fatalf("coverage %+v, want 15625 ranked, 15622 computed", cov)
	}
	// The smallest network: no convolution in any cell.
	if len(top) != 5 || top[0].Value != 0.073306 {
		t.Fatalf("top = %v", top)
	}
	// Accuracy of seed 777 exists for 3 cells only: rank them, count the rest.
	q = index.Query{Dataset: "cifar10-valid", HP: "200", Split: "valid", Epoch: -1, Seed: index.FixedSeed(777)}
	top, cov, err = b.Rank(q, 10, false)
	if err != nil || len(top) != 3 || cov.Missing != 15622 {
		t.Fatalf("seed 777: %v %+v %v", top, cov, err)
	}
}
