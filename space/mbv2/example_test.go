package mbv2_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/nbquery/nbquery/space/mbv2"
)

func ExampleParse() {
	a, err := mbv2.Parse("k3e6,skip,skip,skip+k5e3,k3e3,skip,skip+k5e6,skip,skip,skip+k3e6,skip,skip,skip+k5e6,k5e6,skip,skip")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Op(4), a.Op(4).Kernel(), a.Op(4).Expansion())
	fmt.Println(mbv2.FromCode(a.Code()) == a)
	// Output:
	// k5e3 5 3
	// true
}

func ExampleSample() {
	rng := rand.New(rand.NewPCG(1, 1))
	a := mbv2.Sample(rng)
	b := a.Mutate(rng)
	fmt.Println(a.Valid(), b.Valid(), a != b)
	// Output:
	// true true true
}
