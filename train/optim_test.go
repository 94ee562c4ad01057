package train

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

func param1(w, g float64) Param {
	return Param{Name: "p",
		Value: tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{w})),
		Grad:  tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{g}))}
}

// TestOptimizersHandComputed runs two steps with gradient 0.5 then 0.25 from
// w = 1 (gradients are re-set after each step, which zeroes them) and
// compares with values computed by hand from the PyTorch update rules.
func TestOptimizersHandComputed(t *testing.T) {
	const lr = 0.1
	sq := math.Sqrt
	for _, tc := range []struct {
		name string
		opt  Optimizer
		want [2]float64
	}{
		// g1 = 0.5 + 0.1·1 = 0.6, b = 0.6, w = 1 − 0.06 = 0.94;
		// g2 = 0.25 + 0.094 = 0.344, b = 0.9·0.6 + 0.344 = 0.884, w = 0.94 − 0.0884.
		{"sgd_momentum_wd", NewSGD(0.9, 0.1, false), [2]float64{0.94, 0.94 - 0.0884}},
		// Nesterov: step 1 uses g + μb = 0.6 + 0.54 = 1.14 → 0.886;
		// g2 = 0.25 + 0.0886 = 0.3386, b = 0.54 + 0.3386 = 0.8786, d = 0.3386 + 0.79074.
		{"sgd_nesterov_wd", NewSGD(0.9, 0.1, true), [2]float64{0.886, 0.886 - 0.1*(0.3386+0.9*0.8786)}},
		{"sgd_plain", NewSGD(0, 0, false), [2]float64{0.95, 0.925}},
		// Adam: step 1 moves by lr·sign(g) (m̂ = g, v̂ = g²): 1 − 0.1/(1+2e-8)... ε negligible.
		{"adam", NewAdam(0.9, 0.999, 1e-8, 0, false), [2]float64{
			1 - 0.1*0.5/(0.5+1e-8),
			func() float64 {
				m := 0.9*0.05 + 0.1*0.25
				v := 0.999*0.001*0.25 + 0.001*0.0625
				return 1 - 0.1*0.5/(0.5+1e-8) - 0.1*(m/0.19)/(sq(v/(1-0.999*0.999))+1e-8)
			}()}},
		{"adamw", NewAdam(0.9, 0.999, 1e-8, 0.5, true), [2]float64{
			1 - 0.05 - 0.1*0.5/(0.5+1e-8),
			func() float64 {
				w := (1 - 0.05 - 0.1*0.5/(0.5+1e-8)) * (1 - 0.05)
				m := 0.9*0.05 + 0.1*0.25
				v := 0.999*0.001*0.25 + 0.001*0.0625
				return w - 0.1*(m/0.19)/(sq(v/(1-0.999*0.999))+1e-8)
			}()}},
		// RMSProp α 0.9, momentum 0.5: s1 = 0.025, d1 = 0.5/√0.025.
		{"rmsprop_momentum", NewRMSProp(0.9, 1e-8, 0.5, 0), [2]float64{
			1 - 0.1*0.5/(sq(0.025)+1e-8),
			func() float64 {
				d1 := 0.5 / (sq(0.025) + 1e-8)
				s2 := 0.9*0.025 + 0.1*0.0625
				b := 0.5*d1 + 0.25/(sq(s2)+1e-8)
				return 1 - 0.1*d1 - 0.1*b
			}()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := param1(1, 0.5)
			for step, g := range []float64{0.5, 0.25} {
				p.Grad.Data().([]float64)[0] = g
				if err := tc.opt.Step([]Param{p}, lr); err != nil {
					t.Fatal(err)
				}
				got := p.Value.Data().([]float64)[0]
				if math.Abs(got-tc.want[step]) > 1e-12 {
					t.Fatalf("step %d: w = %.15g, want %.15g", step+1, got, tc.want[step])
				}
				if p.Grad.Data().([]float64)[0] != 0 {
					t.Fatalf("gradient not zeroed")
				}
			}
		})
	}
}

// TestSGDWeightDecayWorks is the regression test for gorgonia bug 5: with a
// zero loss gradient, momentum SGD with weight decay must shrink weights.
func TestSGDWeightDecayWorks(t *testing.T) {
	p := param1(1, 0)
	opt := NewSGD(0.9, 0.1, false)
	for i := 0; i < 10; i++ {
		if err := opt.Step([]Param{p}, 0.1); err != nil {
			t.Fatal(err)
		}
	}
	if w := p.Value.Data().([]float64)[0]; w > 0.7 || w <= 0 {
		t.Fatalf("w = %v after 10 decayed steps, want clearly below 1", w)
	}
}

// TestOptimizerStateRoundTrip is the regression test for gorgonia bug 8: an
// optimizer restored from State continues exactly like the original.
func TestOptimizerStateRoundTrip(t *testing.T) {
	for _, mk := range []func() Optimizer{
		func() Optimizer { return NewSGD(0.9, 5e-4, true) },
		func() Optimizer { return NewAdam(0, 0, 0, 1e-3, false) },
		func() Optimizer { return NewRMSProp(0.9, 1e-3, 0.9, 0) },
	} {
		a, b := mk(), mk()
		pa, pb := param1(1, 0), param1(1, 0)
		grads := []float64{0.3, -0.2, 0.7, 0.1}
		for i, g := range grads {
			pa.Grad.Data().([]float64)[0] = g
			_ = a.Step([]Param{pa}, 0.05)
			if i == 1 {
				st := a.State()
				pb.Value.Data().([]float64)[0] = pa.Value.Data().([]float64)[0]
				if err := b.SetState(st); err != nil {
					t.Fatal(err)
				}
			}
			if i >= 2 {
				pb.Grad.Data().([]float64)[0] = g
				_ = b.Step([]Param{pb}, 0.05)
			}
		}
		if wa, wb := pa.Value.Data().([]float64)[0], pb.Value.Data().([]float64)[0]; wa != wb {
			t.Fatalf("%s: restored optimizer diverged: %v vs %v", a.State().Kind, wa, wb)
		}
	}
	if err := NewSGD(0.9, 0, false).SetState(NewAdam(0, 0, 0, 0, false).State()); err == nil {
		t.Fatal("SetState accepted another optimizer's state")
	}
}

func TestSchedules(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Schedule
		iter int
		want float64
	}{
		{"cosine_start", CosineLR{Base: 0.1, Min: 0, Total: 100}, 0, 0.1},
		{"cosine_mid", CosineLR{Base: 0.1, Min: 0, Total: 100}, 50, 0.05},
		{"cosine_quarter", CosineLR{Base: 0.1, Min: 0.001, Total: 100}, 25, 0.001 + 0.099*(1+math.Sqrt2/2)/2},
		{"cosine_end", CosineLR{Base: 0.1, Min: 0.001, Total: 100}, 100, 0.001},
		{"step", StepLR{Base: 0.1, Gamma: 0.5, StepSize: 10}, 25, 0.025},
		{"const", ConstLR(0.3), 7, 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.LR(tc.iter); math.Abs(got-tc.want) > 1e-15 {
				t.Fatalf("LR(%d) = %v, want %v", tc.iter, got, tc.want)
			}
		})
	}
}

func TestClipGradNorm(t *testing.T) {
	p := Param{Name: "p", Value: tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{0, 0})),
		Grad: tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{3, 4}))}
	if n := ClipGradNorm([]Param{p}, 1); n != 5 {
		t.Fatalf("norm = %v, want 5", n)
	}
	g := p.Grad.Data().([]float64)
	if math.Abs(g[0]-0.6) > 1e-6 || math.Abs(g[1]-0.8) > 1e-6 {
		t.Fatalf("clipped = %v, want [0.6 0.8]", g)
	}
}
