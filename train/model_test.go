package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/nb201"
)

// TestModelGradients checks the whole NB201 network's gradients (every op
// kind, residual blocks, classifier, cross-entropy) against central finite
// differences in float64 on a tiny instance.
func TestModelGradients(t *testing.T) {
	cell, err := nb201.Parse(testArch)
	if err != nil {
		t.Fatal(err)
	}
	ps := newParams(tensor.Float64, rand.New(rand.NewPCG(4, 4)))
	m, err := buildModel(ps, netSpec{Cell: cell, C: 2, N: 1, InC: 1, H: 8, W: 8, Class: 3}, 3, true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.vm.Close()
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range m.x.Value().Data().([]float64) {
		m.x.Value().Data().([]float64)[i] = rng.NormFloat64()
	}
	oh := m.y.Value().Data().([]float64)
	for i := 0; i < 3; i++ {
		oh[i*3+i] = 1
	}
	if err := m.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	grads := map[string][]float64{}
	for _, n := range m.learn {
		g, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads[n.Name()] = append([]float64(nil), g.Data().([]float64)...)
	}
	m.vm.Reset()
	loss := func() float64 {
		if err := m.vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		defer m.vm.Reset()
		return scalarValue(m.loss.Value())
	}
	const h = 1e-6
	checked, maxErr := 0, 0.0
	for _, n := range m.learn {
		d := n.Value().Data().([]float64)
		for k := 0; k < len(d); k += 1 + len(d)/4 {
			old := d[k]
			d[k] = old + h
			fp := loss()
			d[k] = old - h
			fm := loss()
			d[k] = old
			num := (fp - fm) / (2 * h)
			got := grads[n.Name()][k]
			e := math.Abs(num-got) / math.Max(1e-3, math.Abs(num)+math.Abs(got))
			maxErr = math.Max(maxErr, e)
			if e > 1e-5 {
				t.Errorf("%s[%d]: analytic %.9g, finite difference %.9g", n.Name(), k, got, num)
			}
			checked++
		}
	}
	if len(m.learn) < 20 || checked < 60 {
		t.Fatalf("checked %d values of %d tensors", checked, len(m.learn))
	}
	t.Logf("%d gradient values over %d tensors, max relative error %.2g", checked, len(m.learn), maxErr)
}
