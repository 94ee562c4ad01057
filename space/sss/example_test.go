package sss_test

import (
	"fmt"

	"github.com/nbquery/nbquery/space/sss"
)

func ExampleParse() {
	c, err := sss.Parse("8:16:32:64:64")
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Code(), sss.FromCode(c.Code()))
	// Output:
	// 767 8:16:32:64:64
}
