package predictors_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/predictors"
	"github.com/nbquery/nbquery/space/nb201"
)

// toyScore is a made-up score: the number of 3x3 convolutions in the cell.
func toyScore(c nb201.Cell) float64 {
	s := 0.0
	for _, op := range c {
		if op == nb201.Conv3x3 {
			s++
		}
	}
	return s
}

func ExampleEncodeNB201() {
	c, _ := nb201.Parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
	X := mat.NewDense(1, predictors.NB201Dim, nil)
	predictors.EncodeNB201(X, []nb201.Cell{c})
	fmt.Println(X.RawRowView(0))
	// Output:
	// [0 0 0 1 0 0 0 0 1 0 0 0 0 0 1 0 1 0 0 0 0 0 0 1 0 0 1 0 0 0]
}

func ExampleGBDT() {
	// Train on 500 random cells, predict all 15,625.
	rng := rand.New(rand.NewPCG(1, 2))
	cells := make([]nb201.Cell, nb201.NumCells)
	y := make([]float64, nb201.NumCells)
	for i := range cells {
		cells[i] = nb201.FromCode(i)
		y[i] = toyScore(cells[i])
	}
	X := mat.NewDense(nb201.NumCells, predictors.NB201Dim, nil)
	predictors.EncodeNB201(X, cells)
	train := rng.Perm(nb201.NumCells)[:500]
	Xtr := mat.NewDense(len(train), predictors.NB201Dim, nil)
	ytr := make([]float64, len(train))
	for i, p := range train {
		Xtr.SetRow(i, X.RawRowView(p))
		ytr[i] = y[p]
	}
	m := predictors.NewDefault(rng)
	if err := m.Fit(Xtr, ytr); err != nil {
		fmt.Println(err)
		return
	}
	pred := m.Predict(make([]float64, nb201.NumCells), X)
	fmt.Printf("tau %.3f\n", predictors.KendallTau(pred, y))
	best := predictors.TopK(nil, pred, 1)[0]
	fmt.Println(cells[best], y[best])
	// Output:
	// tau 0.842
	// |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2| 6
}

func ExampleEI() {
	mean := []float64{0.9, 0.8, 0.7}
	std := []float64{0.0, 0.1, 0.3}
	ei := predictors.EI(make([]float64, 3), mean, std, 0.85)
	fmt.Printf("%.4f\n", ei)
	// Output:
	// [0.0500 0.0198 0.0593]
}

func ExampleEvaluate() {
	cells := make([]nb201.Cell, nb201.NumCells)
	y := make([]float64, nb201.NumCells)
	for i := range cells {
		cells[i] = nb201.FromCode(i)
		y[i] = toyScore(cells[i]) + 0.01*float64(i%7)
	}
	X := mat.NewDense(nb201.NumCells, predictors.NB201Dim, nil)
	predictors.EncodeNB201(X, cells)
	specs, _ := predictors.Specs("ridge")
	res, err := predictors.Evaluate(context.Background(), X, y, specs, []int{100}, 2, 7)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s n=%d trials=%d tau=%.3f\n", res[0].Model, res[0].N, len(res[0].Trials), res[0].Tau.Mean)
	// Output:
	// ridge n=100 trials=2 tau=0.724
}
