package search_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/space/nb201"
)

// A toy target over the NB201 space: the number of 3x3 convolutions.
func Example() {
	codes := make([]int, nb201.NumCells)
	target := make([]float64, nb201.NumCells)
	for i := range codes {
		codes[i] = i
		for _, op := range nb201.FromCode(i) {
			if op == nb201.Conv3x3 {
				target[i]++
			}
		}
	}
	sp, _ := search.NewNB201(codes)
	o, _ := search.NewOracle(target, nil, nil, nil)
	s, _ := search.NewSession(sp, o, 200, false)
	_ = search.LocalSearch{}.Search(context.Background(), s, rand.New(rand.NewPCG(1, 2)))
	fmt.Println(o.Target[s.Best()], s.StrictAt > 0)
	// Output: 6 true
}
