package train_test

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/train"
)

// A 3×3 convolution followed by average pooling, run on gorgonia's
// TapeMachine.
func ExampleConv2D() {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(1, 1, 4, 4), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(1, 1, 4, 4), tensor.WithBacking([]float64{
			1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}))))
	w := G.NewTensor(g, tensor.Float64, 4, G.WithShape(2, 1, 3, 3), G.WithName("w"),
		G.WithInit(G.Ones()))
	y := G.Must(train.Conv2D(x, w, 1, 1, 1))
	p := G.Must(train.AvgPool(y, 2, 2, 0, false))
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y.Shape(), p.Shape(), p.Value().Data().([]float64)[:4])
	// Output: (1, 2, 4, 4) (1, 2, 2, 2) [6.25 6.25 6.25 6.25]
}

// One SGD step with momentum and weight decay (PyTorch semantics).
func ExampleSGD() {
	p := train.Param{Name: "w",
		Value: tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1, -1})),
		Grad:  tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{0.5, 0.5}))}
	opt := train.NewSGD(0.9, 0.1, false)
	if err := opt.Step([]train.Param{p}, 0.1); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.3f\n", p.Value.Data())
	// Output: [0.940 -1.040]
}

// A cosine schedule over 100 iterations.
func ExampleCosineLR() {
	s := train.CosineLR{Base: 0.1, Min: 0, Total: 100}
	fmt.Printf("%.3f %.3f %.3f\n", s.LR(0), s.LR(50), s.LR(100))
	// Output: 0.100 0.050 0.000
}
