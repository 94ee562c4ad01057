package predictors

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestNB201Tau: trained on 1,000 random NB201 cells (cifar10-valid, 200
// epochs, mean x-valid accuracy), the default MLP and GBDT rank the other
// 14,625 cells with Kendall tau >= 0.7. A short version (3 trials) always
// runs; NBQUERY_LONG=1 runs 10 trials at every size and adds the other
// models, printing the table.
func TestNB201Tau(t *testing.T) {
	tab := loadNB201(t)
	long := os.Getenv("NBQUERY_LONG") == "1"
	names, sizes, trials := []string{"mlp", "gbdt"}, []int{1000}, 3
	if long {
		names = []string{"mlp", "gbdt", "rf", "ridge", "blr", "gp", "ensemble"}
		sizes, trials = []int{10, 50, 100, 500, 1000}, 10
	}
	specs, err := Specs(names...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(context.Background(), tab.X, tab.y, specs, sizes, trials, 2021)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteResults(&b, res, "table"); err != nil {
		t.Fatal(err)
	}
	t.Logf("NB201 cifar10-valid, %d trials:\n%s", trials, b.String())
	for _, r := range res {
		if r.N != 1000 || (r.Model != "mlp" && r.Model != "gbdt") {
			continue
		}
		if len(r.Trials) != trials {
			t.Errorf("%s: %d trials, want %d", r.Model, len(r.Trials), trials)
		}
		if r.Tau.Mean < 0.7 {
			t.Errorf("%s at n=1000: Kendall tau %.4f ± %.4f, want >= 0.7", r.Model, r.Tau.Mean, r.Tau.Std)
		}
	}
}

// TestNB201PaperMLP evaluates the WeakNAS 4 x 1000 MLP (NBQUERY_LONG=1 only:
// about a minute or more per fit on 2 cores).
func TestNB201PaperMLP(t *testing.T) {
	if os.Getenv("NBQUERY_LONG") != "1" {
		t.Skip("set NBQUERY_LONG=1")
	}
	tab := loadNB201(t)
	specs, _ := Specs("mlp-paper")
	trials := 3
	res, err := Evaluate(context.Background(), tab.X, tab.y, specs, []int{1000}, trials, 2021)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	_ = WriteResults(&b, res, "table")
	t.Logf("\n%s", b.String())
	if res[0].Tau.Mean < 0.7 {
		t.Errorf("mlp-paper: tau %.4f, want >= 0.7", res[0].Tau.Mean)
	}
}
