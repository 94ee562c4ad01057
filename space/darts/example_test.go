package darts_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/nbquery/nbquery/space/darts"
)

func Example() {
	g, err := darts.Parse(darts.DARTSV2)
	if err != nil {
		panic(err)
	}
	fmt.Println(darts.OpNames[g.Normal[7].Op], g.Normal[7].Input)
	r := darts.Random(rand.New(rand.NewPCG(1, 1)))
	fmt.Println(r.Searchable(), len(r.Neighbours(nil)))
	// Output:
	// dil_conv_3x3 2
	// true 120
}
