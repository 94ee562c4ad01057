package nb201_test

import (
	"fmt"

	"github.com/nbquery/nbquery/space/nb201"
)

func ExampleParse() {
	c, err := nb201.Parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
	if err != nil {
		panic(err)
	}
	fmt.Println(c, c.Code())
	fmt.Println(c.UniqueStr())
	// Output:
	// |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2| 11791
	// ((0)@nor_conv_3x3)@avg_pool_3x3+(0)@nor_conv_3x3+((0)@nor_conv_3x3)@nor_conv_3x3+0
}

func ExampleCell_UniqueStr() {
	// Edge 2->3 is "none", so node 2 never reaches the output: whatever its
	// ops, the two first cells are the same network. The third differs on
	// edge 0->1, which does reach it.
	a, _ := nb201.Parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
	b, _ := nb201.Parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
	c, _ := nb201.Parse("|nor_conv_1x1~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
	fmt.Println(a.UniqueStr() == b.UniqueStr(), a.UniqueStr() == c.UniqueStr())
	// Output:
	// true false
}
