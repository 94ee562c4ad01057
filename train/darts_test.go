package train

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/darts"
)

// TestMixedOpGradients checks a DARTS MixedOp (all 7 non-none ops, BN in
// train mode with affine=False, stride 1 and the stride-2 reduction edge with
// FactorizedReduce) against finite differences: gradients to α (through the
// row softmax and the projection inputs M, P), to the input and to op weights.
func TestMixedOpGradients(t *testing.T) {
	for _, tc := range []struct {
		name    string
		s, side int
		project bool // an op zeroed in M and a P entry set, as DARTS-PT
	}{
		{"stride1", 1, 6, false},
		{"stride2", 2, 6, false},
		{"stride1-projected", 1, 5, true},
		{"tiny-map", 1, 2, false}, // 5×5 dilated taps that miss a 2×2 map entirely
		{"tiny-map-stride2", 2, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gradCheck(t, 3, 1e-5, func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node) {
				ps := newParams(tensor.Float64, rand.New(rand.NewPCG(5, 6)))
				b := &builder{g: g, ps: ps, training: true, bound: map[string]*G.Node{}}
				d := &dartsBuilder{builder: b, search: true}
				mix := newMixInputs(tensor.Float64)
				if tc.project {
					mix.set(0, 5, darts.SepConv3x3, 0, 0)
					mix.set(0, 5, darts.SkipConnect, 0, 0.3)
				}
				w, err := d.mixWeights(0, mix.M[0], mix.P[0])
				if err != nil {
					t.Fatal(err)
				}
				d.mixW[0] = w
				// α near 0 makes every op count; spread it so the softmax is not flat.
				a := ps.values["alpha.normal"].Data().([]float64)
				for i := range a {
					a[i] = rng.NormFloat64()
				}
				x := randNode(g, rng, "x", 2, 4, tc.side, tc.side)
				y, err := d.mixed(x, "e", 0, 5, 4, tc.s)
				if err != nil {
					t.Fatal(err)
				}
				wrt := []*G.Node{b.bound["alpha.normal"], x,
					b.bound["e.sep_conv_3x3.a.dw.w"], b.bound["e.dil_conv_5x5.pw.w"]}
				if tc.s == 2 {
					wrt = append(wrt, b.bound["e.skip_connect.c2.w"])
				}
				return y, wrt
			})
		})
	}
}

// TestDARTSNetworks builds the CI-sized supernet and DARTS_V2's evaluation
// network (auxiliary head, drop-path) and checks the loss falls on a fixed
// batch under SGD.
func TestDARTSNetworks(t *testing.T) {
	v2 := darts.MustParse(darts.DARTSV2)
	for _, tc := range []struct {
		name string
		spec dartsSpec
	}{
		{"supernet", dartsSpec{C: 4, Layers: 3, InC: 1, H: 8, W: 8, Class: 10}},
		{"DARTS_V2", dartsSpec{Geno: &v2, C: 4, Layers: 3, InC: 1, H: 8, W: 8, Class: 10, AuxWeight: 0.4, DropPath: 0.2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := newParams(tensor.Float32, rand.New(rand.NewPCG(1, 2)))
			mix := newMixInputs(tensor.Float32)
			m, err := buildDARTS(ps, tc.spec, mix, 8, true, true, false)
			if err != nil {
				t.Fatal(err)
			}
			defer m.vm.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			xs := m.x.Value().Data().([]float32)
			for i := range xs {
				xs[i] = float32(rng.NormFloat64())
			}
			ys := m.y.Value().Data().([]float32)
			for k := range 8 {
				ys[k*10+k%10] = 1
			}
			learn := make([]Param, len(m.learn))
			for i, n := range m.learn {
				learn[i] = Param{Name: n.Name(), Value: n.Value().(*tensor.Dense)}
			}
			opt := NewSGD(0.9, 0, false)
			var first, last float64
			for step := range 8 {
				if m.prepare != nil {
					m.prepare(rng, 0.5)
				}
				if err := m.vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				last = scalarValue(m.loss.Value())
				if step == 0 {
					first = last
				}
				for i, n := range m.learn {
					g, _ := n.Grad()
					learn[i].Grad = g.(*tensor.Dense)
				}
				ClipGradNorm(learn, 5)
				if err := opt.Step(learn, 0.05); err != nil {
					t.Fatal(err)
				}
				m.vm.Reset()
			}
			if !(last < first) {
				t.Fatalf("loss %v -> %v on a fixed batch", first, last)
			}
			t.Logf("%s: %d params, %.2f M MACs/image, loss %.3f -> %.3f", tc.name, ps.count(), m.flops/1e6, first, last)
		})
	}
}
