package train

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/mbv2"
)

// randomise fills every parameter of ps with N(0, s²) (BN γ around 1), so
// that BN β ≠ 0 and masked channels would show.
func randomise(ps *params, rng *rand.Rand, s float64) {
	for name, t := range ps.values {
		d := t.Data().([]float64)
		for i := range d {
			switch {
			case isThreshold(name):
			case len(name) > 6 && name[len(name)-6:] == ".gamma":
				d[i] = 1 + 0.3*rng.NormFloat64()
			default:
				d[i] = s * rng.NormFloat64()
			}
		}
	}
}

// childFromSuper copies the supernet's weights into a child's params:
// leading channels, and the centre of the 5×5 depthwise kernel.
func childFromSuper(t *testing.T, child, super *params) {
	t.Helper()
	for name, ct := range child.values {
		st, ok := super.values[name]
		if !ok {
			t.Fatalf("child parameter %s not in the supernet", name)
		}
		cs, ss := ct.Shape(), st.Shape()
		off := make([]int, len(cs))
		for k := range cs {
			if cs[k] > ss[k] {
				t.Fatalf("%s: child %v larger than super %v", name, cs, ss)
			}
			if len(cs) == 4 && k >= 2 {
				off[k] = (ss[k] - cs[k]) / 2
			}
		}
		cd, sd := ct.Data().([]float64), st.Data().([]float64)
		idx := make([]int, len(cs))
		for i := range cd {
			r := i
			for k := len(cs) - 1; k >= 0; k-- {
				idx[k] = r % cs[k]
				r /= cs[k]
			}
			j := 0
			for k := range cs {
				j = j*ss[k] + idx[k] + off[k]
			}
			cd[i] = sd[j]
		}
	}
}

// force sets layer l's thresholds so that the decisions give op o.
func force(ps *params, l int, o mbv2.Op) {
	set := func(which int, on bool) {
		t, ok := ps.values[blockName(l)+"."+decNames[which]]
		if !ok {
			return
		}
		v := 1e6
		if on {
			v = -1e6
		}
		t.Data().([]float64)[0] = v
	}
	set(dec50, o != mbv2.Skip)
	set(dec5, o.Kernel() == 5)
	set(dec100, o.Expansion() == 6)
}

func blockName(layer int) string { return "b" + itoa(layer+1) }

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

var tinyMacro = mbv2.Macro{Width: 0.1, Divisor: 2, StemStride: 2}

// TestSuperkernelEqualsChild: with the thresholds forced to an arch's
// decisions, the supernet computes exactly what the child network with the
// same weights (leading channels, kernel centre) computes, for every op of
// every layer (skip included), on a tiny float64 instance.
func TestSuperkernelEqualsChild(t *testing.T) {
	const B, class = 3, 4
	sp := newParams(tensor.Float64, rand.New(rand.NewPCG(1, 1)))
	super, err := buildMBV2(sp, mbSpec{Macro: tinyMacro, InC: 1, H: 12, W: 12, Class: class}, B, true)
	if err != nil {
		t.Fatal(err)
	}
	defer super.vm.Close()
	rng := rand.New(rand.NewPCG(2, 2))
	randomise(sp, rng, 0.5)
	x := super.x.Value().Data().([]float64)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	// Arches that put every op in every layer: op o in layer l for o =
	// (l + k) mod 5, k = 0..4 (stage-first layers take k3e3 for skip).
	for k := 0; k < mbv2.NumOps; k++ {
		var a mbv2.Arch
		for l := range a {
			o := (l + k) % mbv2.NumOps
			if o == int(mbv2.Skip) && !mbv2.Skippable(l) {
				o = int(mbv2.K3E3)
			}
			a[l] = uint8(o)
		}
		t.Run(a.String(), func(t *testing.T) {
			for l := range a {
				force(sp, l, a.Op(l))
			}
			cp := newParams(tensor.Float64, rand.New(rand.NewPCG(3, 3)))
			child, err := buildMBV2(cp, mbSpec{Macro: tinyMacro, Arch: &a, InC: 1, H: 12, W: 12, Class: class}, B, true)
			if err != nil {
				t.Fatal(err)
			}
			defer child.vm.Close()
			childFromSuper(t, cp, sp)
			copy(child.x.Value().Data().([]float64), x)
			if err := super.vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			defer super.vm.Reset()
			if err := child.vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			defer child.vm.Reset()
			for l, sl := range super.layers {
				o := a.Op(l)
				got := [3]float64{scalarValue(sl.d5.Value()), scalarValue(sl.d100.Value()), 1}
				if sl.d50 != nil {
					got[2] = scalarValue(sl.d50.Value())
				}
				want := [3]float64{b2f(o.Kernel() == 5), b2f(o.Expansion() == 6), b2f(o != mbv2.Skip)}
				if o == mbv2.Skip {
					got[0], got[1], want[0], want[1] = 0, 0, 0, 0 // do not matter
				}
				if got != want {
					t.Errorf("layer %d (%s): decisions %v, want %v", l, o, got, want)
				}
			}
			sl, cl := super.logits.Value().Data().([]float64), child.logits.Value().Data().([]float64)
			maxErr := 0.0
			for i := range sl {
				maxErr = math.Max(maxErr, math.Abs(sl[i]-cl[i]))
			}
			if maxErr > 1e-12 || math.IsNaN(maxErr) {
				t.Errorf("supernet and child logits differ by %g", maxErr)
			}
			if sl[0] == 0 {
				t.Error("logits are zero")
			}
		})
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestSuperkernelBlockOps compares single superkernel blocks with separate
// 3×3/5×5, expansion-3/6 blocks (and the identity for skip), with batch
// norm's β non-zero, in both a residual and a strided block.
func TestSuperkernelBlockOps(t *testing.T) {
	for _, blk := range []mbv2.Block{{In: 4, Out: 4, Stride: 1, Layer: 1}, {In: 4, Out: 6, Stride: 2, Layer: 4}} {
		for _, o := range []mbv2.Op{mbv2.Skip, mbv2.K3E3, mbv2.K3E6, mbv2.K5E3, mbv2.K5E6} {
			if o == mbv2.Skip && !blk.Residual() {
				continue
			}
			sp := newParams(tensor.Float64, rand.New(rand.NewPCG(1, 1)))
			g := G.NewGraph()
			x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(2, 4, 7, 7), G.WithName("x"),
				G.WithValue(tensor.New(tensor.WithShape(2, 4, 7, 7), tensor.WithBacking(randSlice(2*4*49, 5)))))
			b := &builder{g: g, ps: sp, training: true, bound: map[string]*G.Node{}}
			ys, _, err := b.mbconv(x, blockName(blk.Layer), blk, 5, 6, true, [numDec]*G.Node{})
			if err != nil {
				t.Fatal(err)
			}
			randomise(sp, rand.New(rand.NewPCG(6, 6)), 0.5)
			force(sp, blk.Layer, o)
			vm := G.NewTapeMachine(g)
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			var want []float64
			if o == mbv2.Skip {
				want = x.Value().Data().([]float64)
			} else {
				cp := newParams(tensor.Float64, rand.New(rand.NewPCG(1, 1)))
				cg := G.NewGraph()
				cx := G.NewTensor(cg, tensor.Float64, 4, G.WithShape(2, 4, 7, 7), G.WithName("x"),
					G.WithValue(tensor.New(tensor.WithShape(2, 4, 7, 7), tensor.WithBacking(randSlice(2*4*49, 5)))))
				cb := &builder{g: cg, ps: cp, training: true, bound: map[string]*G.Node{}}
				yc, _, err := cb.mbconv(cx, blockName(blk.Layer), blk, o.Kernel(), o.Expansion(), false, [numDec]*G.Node{})
				if err != nil {
					t.Fatal(err)
				}
				childFromSuper(t, cp, sp)
				cvm := G.NewTapeMachine(cg)
				if err := cvm.RunAll(); err != nil {
					t.Fatal(err)
				}
				want = yc.Value().Data().([]float64)
				cvm.Close()
			}
			got := ys.Value().Data().([]float64)
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-12 {
					t.Fatalf("block %+v op %s: element %d = %v, separate layer %v", blk, o, i, got[i], want[i])
				}
			}
			vm.Close()
		}
	}
}

func randSlice(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, seed))
	s := make([]float64, n)
	for i := range s {
		s[i] = r.NormFloat64()
	}
	return s
}

func testLatencyTable(rng *rand.Rand) *LatencyTable {
	lt := &LatencyTable{Format: LatencyFormat, Unit: "ms", Base: 2, Layers: make([]LayerLatency, mbv2.Layers)}
	for i := range lt.Layers {
		a, b, c := 0.1+rng.Float64(), 0.1+rng.Float64(), 0.1+rng.Float64()
		lt.Layers[i] = LayerLatency{K3E3: a, K3E6: a + b, K5E3: a + c, K5E6: a + b + c + 0.2*rng.Float64()}
	}
	return lt
}

// TestSuperkernelGradients: the decisions are hard (0/1) in the forward
// pass, and the straight-through gradients of the loss (cross-entropy +
// λ·log R) with respect to every threshold and to depthwise weights equal
// the finite differences of the relaxed form, in which each indicator is
// stop_gradient(1[x≥0] − σ(x)) + σ(x) with the stopped part frozen at the
// base point.
func TestSuperkernelGradients(t *testing.T) {
	const B = 2
	rng := rand.New(rand.NewPCG(11, 11))
	lt := testLatencyTable(rng)
	ps := newParams(tensor.Float64, rand.New(rand.NewPCG(1, 2)))
	spec := mbSpec{Macro: tinyMacro, InC: 1, H: 12, W: 12, Class: 3, Latency: lt}
	m, err := buildMBV2(ps, spec, B, true)
	if err != nil {
		t.Fatal(err)
	}
	defer m.vm.Close()
	randomise(ps, rng, 0.5)
	x := m.x.Value().Data().([]float64)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	oh := m.y.Value().Data().([]float64)
	for i := 0; i < B; i++ {
		oh[i*3+i] = 1
	}
	if err := m.setLambda(0.3); err != nil {
		t.Fatal(err)
	}
	run := func(mm *mbModel) float64 {
		t.Helper()
		if err := mm.vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return scalarValue(mm.loss.Value())
	}
	// Place every threshold 0.2–0.5 from its norm, on a random side, so the
	// decisions are mixed and σ′ is not negligible. n100 and n50 depend on
	// d5, so set t5 first.
	thr := func(l, which int) []float64 { return ps.values[blockName(l)+"."+decNames[which]].Data().([]float64) }
	offset := func() float64 {
		d := 0.2 + 0.3*rng.Float64()
		if rng.IntN(2) == 0 {
			return -d
		}
		return d
	}
	run(m)
	n5 := make([]float64, mbv2.Layers)
	for l, sl := range m.layers {
		n5[l] = scalarValue(sl.n5.Value())
	}
	m.vm.Reset()
	for l := range n5 {
		thr(l, dec5)[0] = n5[l] + offset()
	}
	run(m)
	for l, sl := range m.layers {
		thr(l, dec100)[0] = scalarValue(sl.n100.Value()) + offset()
		if sl.n50 != nil {
			thr(l, dec50)[0] = scalarValue(sl.n50.Value()) + offset()
		}
	}
	m.vm.Reset()
	zeroGrads(t, m.learn) // the machine accumulates into the gradients
	base := run(m)
	// Record the indicator inputs in build order and the analytic gradients.
	var frozen []float64
	ones := 0
	for l, sl := range m.layers {
		for k, d := range []*G.Node{sl.d5, sl.d100, sl.d50} {
			if d == nil {
				continue
			}
			v := scalarValue(d.Value())
			if v != 0 && v != 1 {
				t.Fatalf("layer %d decision %d = %v, not hard", l, k, v)
			}
			ones += int(v)
			n := []*G.Node{sl.n5, sl.n100, sl.n50}[k]
			xk := scalarValue(n.Value()) - thr(l, k)[0]
			s := 1 / (1 + math.Exp(-xk))
			frozen = append(frozen, b2f(xk >= 0)-s)
		}
	}
	if ones == 0 || ones == len(frozen) {
		t.Fatalf("decisions all equal (%d of %d on)", ones, len(frozen))
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
	// The relaxed graph over the same parameters.
	k := 0
	old := superIndicator
	superIndicator = func(x *G.Node) (*G.Node, error) {
		s, err := G.Sigmoid(x)
		if err != nil {
			return nil, err
		}
		c := frozen[k]
		k++
		return G.Add(s, G.NewConstant(c))
	}
	rm, err := buildMBV2(ps, spec, B, true)
	superIndicator = old
	if err != nil {
		t.Fatal(err)
	}
	defer rm.vm.Close()
	copy(rm.x.Value().Data().([]float64), x)
	copy(rm.y.Value().Data().([]float64), oh)
	if err := rm.setLambda(0.3); err != nil {
		t.Fatal(err)
	}
	if err := rm.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if got := scalarValue(rm.loss.Value()); math.Abs(got-base) > 1e-12 {
		t.Fatalf("relaxed loss %v, straight-through loss %v", got, base)
	}
	rm.vm.Reset()
	lossAt := func() float64 {
		if err := rm.vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		defer rm.vm.Reset()
		return scalarValue(rm.loss.Value())
	}
	const h = 1e-6
	checked, nonzero := 0, 0
	check := func(name string, idx int) {
		d := ps.values[name].Data().([]float64)
		o := d[idx]
		d[idx] = o + h
		lp := lossAt()
		d[idx] = o - h
		lm := lossAt()
		d[idx] = o
		fd := (lp - lm) / (2 * h)
		an := grads[name][idx]
		if math.Abs(fd-an) > 1e-6+1e-4*math.Abs(an) {
			t.Errorf("%s[%d]: straight-through gradient %.9g, relaxed finite difference %.9g", name, idx, an, fd)
		}
		checked++
		if math.Abs(an) > 1e-6 {
			nonzero++
		}
	}
	for l := range mbv2.Layers {
		for w := range numDec {
			if _, ok := ps.values[blockName(l)+"."+decNames[w]]; ok {
				check(blockName(l)+"."+decNames[w], 0)
			}
		}
	}
	for _, l := range []int{1, 6, 17} {
		for _, idx := range []int{0, 6, 12, 24, 25 * 3} { // ring and core taps
			check(blockName(l)+".dw", idx)
		}
	}
	if nonzero < checked/2 {
		t.Errorf("only %d of %d gradients are non-zero", nonzero, checked)
	}
	// The predicted runtime equals the table entry of the decided arch.
	arch := decodeLayers(t, m)
	if err := m.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if got, want := scalarValue(m.runtime.Value()), lt.Predict(arch); math.Abs(got-want) > 1e-9 {
		t.Errorf("graph runtime %v, table %v for %s", got, want, arch)
	}
	m.vm.Reset()
}

func decodeLayers(t *testing.T, m *mbModel) mbv2.Arch {
	t.Helper()
	var a mbv2.Arch
	for l, sl := range m.layers {
		d50 := 1.0
		if sl.d50 != nil {
			d50 = scalarValue(sl.d50.Value())
		}
		a[l] = uint8(decideOp(scalarValue(sl.d5.Value()), scalarValue(sl.d100.Value()), d50))
	}
	return a
}

func zeroGrads(t *testing.T, ns []*G.Node) {
	t.Helper()
	for _, n := range ns {
		g, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		clear(g.Data().([]float64))
	}
}
