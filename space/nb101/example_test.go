package nb101_test

import (
	"fmt"

	"github.com/nbquery/nbquery/space/nb101"
)

func ExampleNewSpec() {
	s, err := nb101.NewSpec([][]int{
		{0, 1, 1, 1, 0, 1, 0},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 1, 0, 0},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 0, 0, 1},
		{0, 0, 0, 0, 0, 0, 0},
	}, []string{"input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Hash(), s.NumEdges())
	_, err = nb101.NewSpec([][]int{{0, 0}, {0, 0}}, []string{"input", "output"})
	fmt.Println(err)
	// Output:
	// 28cfc7874f6d200472e1a9dcd8650aa0 9
	// nb101: spec out of domain: invalid spec, provided graph is disconnected
}

func ExampleSpec_Encode45() {
	s, _ := nb101.NewSpec([][]int{{0, 1, 1}, {0, 0, 1}, {0, 0, 0}}, []string{"input", "conv3x3-bn-relu", "output"})
	enc := make([]float64, nb101.EncodeLen)
	s.Encode45(enc)
	fmt.Println(enc[:11])
	// Output: [1 0 1 0 0 1 1 0 0 0 1]
}
