package predictors

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
)

func TestScratch(t *testing.T) {
	tab := loadNB201(t)
	mk := func(c MLPConfig) Factory { return func(r *rand.Rand) Predictor { return NewMLP(c, r) } }
	specs := []Spec{
		{"64x2-2e2", mk(MLPConfig{Hidden: []int{64, 64}, LearningRate: 2e-2})},
		{"128x2-1e2", mk(MLPConfig{Hidden: []int{128, 128}, LearningRate: 1e-2})},
		{"64x3-1e2", mk(MLPConfig{Hidden: []int{64, 64, 64}, LearningRate: 1e-2})},
		{"64x2-1e2-e100", mk(MLPConfig{Hidden: []int{64, 64}, LearningRate: 1e-2, Epochs: 100})},
	}
	res, err := Evaluate(context.Background(), tab.X, tab.y, specs, []int{1000}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	WriteResults(os.Stdout, res, "table")
}
