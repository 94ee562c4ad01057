package weaknas_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/nbquery/nbquery/predictors"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/space/nb201"
	"github.com/nbquery/nbquery/weaknas"
)

// WeakNAS with a ridge predictor on a toy NB201 target (a linear function
// of the ops, which ridge learns from a few dozen samples): the optimum is found in the
// first few iterations.
func Example() {
	codes := make([]int, nb201.NumCells)
	target := make([]float64, nb201.NumCells)
	for i := range codes {
		codes[i] = i
		for e, op := range nb201.FromCode(i) {
			target[i] += float64(op) * float64(e+1)
		}
	}
	sp, _ := search.NewNB201(codes)
	o, _ := search.NewOracle(target, nil, nil, nil)
	s, _ := search.NewSession(sp, o, 100, false)
	w := weaknas.New(weaknas.Config{Factory: func(*rand.Rand) predictors.Predictor { return predictors.NewRidge(1e-6) }},
		search.EncodeAll(sp), o)
	if err := w.Search(context.Background(), s, rand.New(rand.NewPCG(1, 1))); err != nil {
		fmt.Println(err)
	}
	fmt.Println(s.LooseAt, s.StrictAt, len(s.Picks))
	// Output: 30 45 10
}

func ExampleSchedule() {
	fmt.Println(len(weaknas.Schedule(10, 10, 1000)), weaknas.Schedule(100, 10, 1000)[:3])
	fmt.Println(weaknas.TopSchedule(0.96, 5, 100, 10))
	// Output:
	// 100 [100 10 10]
	// [100 41 20 12 10]
}
