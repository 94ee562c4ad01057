package predictors

import (
	"context"
	"os"
	"testing"
)

func TestScratch(t *testing.T) {
	tab := loadNB201(t)
	specs, err := Specs("gbdt", "rf", "mlp", "ridge", "blr", "gp", "ensemble")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(context.Background(), tab.X, tab.y, specs, []int{100, 1000}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	WriteResults(os.Stdout, res, "table")
}
