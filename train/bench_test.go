package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/nb201"
)

// depthwiseIm2col is the stock-op workaround for a depthwise conv
// (stockDepthwise without dilation).
func depthwiseIm2col(x, w *G.Node, k, s, p int) (*G.Node, error) {
	return stockDepthwise(x, w, k, s, p, 1)
}

type dwGraph struct {
	g    *G.ExprGraph
	vm   G.VM
	y    *G.Node
	x, w *G.Node
}

func newDWGraph(tb testing.TB, dt tensor.Dtype, B, C, H, k, s, p int, im2col bool) *dwGraph {
	rng := rand.New(rand.NewPCG(1, 2))
	g := G.NewGraph()
	mk := func(name string, shape ...int) *G.Node {
		t := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
		switch d := t.Data().(type) {
		case []float32:
			for i := range d {
				d[i] = float32(rng.NormFloat64())
			}
		case []float64:
			for i := range d {
				d[i] = rng.NormFloat64()
			}
		}
		return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
	}
	x := mk("x", B, C, H, H)
	w := mk("w", C, 1, k, k)
	var y *G.Node
	var err error
	if im2col {
		y, err = depthwiseIm2col(x, w, k, s, p)
	} else {
		y, err = DepthwiseConv2D(x, w, s, p, 1)
	}
	if err != nil {
		tb.Fatal(err)
	}
	r := mk("r", y.Shape()...)
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, r))))
	if _, err := G.Grad(cost, x, w); err != nil {
		tb.Fatal(err)
	}
	return &dwGraph{g: g, vm: G.NewTapeMachine(g, G.BindDualValues(x, w)), y: y, x: x, w: w}
}

// TestDepthwiseMatchesIm2colWorkaround: the custom op and the stock-op
// composition agree on outputs and on both gradients.
func TestDepthwiseMatchesIm2colWorkaround(t *testing.T) {
	a := newDWGraph(t, tensor.Float64, 2, 3, 7, 3, 2, 1, false)
	b := newDWGraph(t, tensor.Float64, 2, 3, 7, 3, 2, 1, true)
	defer a.vm.Close()
	defer b.vm.Close()
	if err := a.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if err := b.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	cmp := func(what string, u, v []float64) {
		if len(u) != len(v) {
			t.Fatalf("%s: %d vs %d values", what, len(u), len(v))
		}
		for i := range u {
			if math.Abs(u[i]-v[i]) > 1e-12 {
				t.Fatalf("%s[%d]: custom %v, im2col %v", what, i, u[i], v[i])
			}
		}
	}
	cmp("y", a.y.Value().Data().([]float64), b.y.Value().Data().([]float64))
	ga, _ := a.x.Grad()
	gb, _ := b.x.Grad()
	cmp("dx", ga.Data().([]float64), gb.Data().([]float64))
	ga, _ = a.w.Grad()
	gb, _ = b.w.Grad()
	cmp("dw", ga.Data().([]float64), gb.Data().([]float64))
}

// BenchmarkDepthwise compares one forward+backward of a 3×3 depthwise conv
// (batch 32, 32 channels, 16×16, float32) as the custom op and as the
// im2col workaround.
func BenchmarkDepthwise(b *testing.B) {
	for _, im2col := range []bool{false, true} {
		name := "custom"
		if im2col {
			name = "im2col"
		}
		b.Run(name, func(b *testing.B) {
			d := newDWGraph(b, tensor.Float32, 32, 32, 16, 3, 1, 1, im2col)
			defer d.vm.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := d.vm.RunAll(); err != nil {
					b.Fatal(err)
				}
				d.vm.Reset()
			}
		})
	}
}

// BenchmarkNB201Step measures one training step (forward, backward, SGD)
// and reports images/s: the custom-op network against the same network
// built from gorgonia's stock ops (Conv2d, BatchNorm, AveragePool2D, Sum).
func BenchmarkNB201Step(b *testing.B) {
	cell, err := nb201.Parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		C, N, side, batch int
	}{{16, 5, 32, 64}, {8, 1, 28, 64}} {
		for _, stock := range []bool{false, true} {
			impl := "custom"
			if stock {
				impl = "stock"
			}
			b.Run(fmt.Sprintf("C%dN%d_%dpx_b%d/%s", c.C, c.N, c.side, c.batch, impl), func(b *testing.B) {
				inC := 3
				if c.side == 28 {
					inC = 1
				}
				ps := newParams(tensor.Float32, rand.New(rand.NewPCG(1, 1)))
				m, err := buildModel(ps, netSpec{Cell: cell, C: c.C, N: c.N, InC: inC, H: c.side, W: c.side, Class: 10}, c.batch, true, stock)
				if err != nil {
					b.Fatal(err)
				}
				defer m.vm.Close()
				rng := rand.New(rand.NewPCG(2, 2))
				for i, v := range m.x.Value().Data().([]float32) {
					m.x.Value().Data().([]float32)[i] = float32(rng.NormFloat64()) + 0*v
				}
				oh := m.y.Value().Data().([]float32)
				for i := 0; i < c.batch; i++ {
					oh[i*10+rng.IntN(10)] = 1
				}
				opt := NewSGD(0.9, 5e-4, true)
				learn := make([]Param, len(m.learn))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := m.vm.RunAll(); err != nil {
						b.Fatal(err)
					}
					for j, n := range m.learn {
						g, _ := n.Grad()
						learn[j] = Param{Name: n.Name(), Value: n.Value().(*tensor.Dense), Grad: g.(*tensor.Dense)}
					}
					if err := opt.Step(learn, 0.01); err != nil {
						b.Fatal(err)
					}
					m.vm.Reset()
				}
				b.ReportMetric(float64(b.N*c.batch)/b.Elapsed().Seconds(), "img/s")
			})
		}
	}
}

func BenchmarkConv3x3(b *testing.B) {
	g := convGeom{B: 64, C: 16, H: 32, W: 32, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Cout: 16}
	g.finish()
	x := make([]float32, g.B*g.C*g.H*g.W)
	w := make([]float32, g.Cout*g.C*9)
	y := make([]float32, g.B*g.Cout*g.Ho*g.Wo)
	for i := 0; i < b.N; i++ {
		convForward(&g, x, w, y)
	}
}
