package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// BenchmarkDARTSSupernetStep times one first-order DARTS iteration (two
// forward+backward passes, an Adam step on α and an SGD step on the weights)
// of the supernet at the proxy size of BENCHMARKS.md (C=4, 5 cells, 16×16,
// batch 32), built from nbquery's custom ops (impl=custom) and from
// gorgonia's stock ops (impl=stock: Conv2d, BatchNorm, MaxPool2D,
// AveragePool2D, the Im2Col depthwise composition). Graph compilation is
// outside the timer. Run with -benchtime=3x (the stock graph takes seconds
// per step and GBs of memory).
func BenchmarkDARTSSupernetStep(b *testing.B) {
	for _, stock := range []bool{false, true} {
		impl := "custom"
		if stock {
			impl = "stock"
		}
		b.Run(fmt.Sprintf("impl=%s/C=4/L=5/16px/B=32", impl), func(b *testing.B) {
			ps := newParams(tensor.Float32, rand.New(rand.NewPCG(1, 1)))
			mix := newMixInputs(tensor.Float32)
			const batch = 32
			m, err := buildDARTS(ps, dartsSpec{C: 4, Layers: 5, InC: 1, H: 16, W: 16, Class: 10}, mix, batch, true, true, stock)
			if err != nil {
				b.Fatal(err)
			}
			defer m.vm.Close()
			rng := rand.New(rand.NewPCG(2, 2))
			for i := range m.x.Value().Data().([]float32) {
				m.x.Value().Data().([]float32)[i] = float32(rng.NormFloat64())
			}
			oh := m.y.Value().Data().([]float32)
			for i := range batch {
				oh[i*10+rng.IntN(10)] = 1
			}
			var learnA, learnW []Param
			optA, optW := NewAdam(0.5, 0.999, 1e-8, 1e-3, false), NewSGD(0.9, 3e-4, false)
			pass := func() {
				if err := m.vm.RunAll(); err != nil {
					b.Fatal(err)
				}
				learnA, learnW = learnA[:0], learnW[:0]
				for _, n := range m.learn {
					g, _ := n.Grad()
					p := Param{Name: n.Name(), Value: n.Value().(*tensor.Dense), Grad: g.(*tensor.Dense)}
					if len(p.Name) > 6 && p.Name[:6] == "alpha." {
						learnA = append(learnA, p)
					} else {
						learnW = append(learnW, p)
					}
				}
				m.vm.Reset()
			}
			b.ResetTimer()
			for range b.N {
				pass()
				if err := optA.Step(learnA, 3e-4); err != nil {
					b.Fatal(err)
				}
				pass()
				ClipGradNorm(learnW, 5)
				if err := optW.Step(learnW, 0.025); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/step")
		})
	}
}
