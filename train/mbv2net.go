package train

// MobileNetV2 networks of the Single-Path NAS space (space/mbv2): the
// supernet (superkernels in the 20 searched layers, with the latency term)
// and discrete child networks, over shared params like the NB201 builder.

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/mbv2"
)

// mbSpec describes an MBV2 network: a supernet when Arch is nil.
type mbSpec struct {
	Macro            mbv2.Macro
	Arch             *mbv2.Arch
	InC, H, W, Class int
	Latency          *LatencyTable // supernet: the runtime model (nil = no latency term)
}

// mbModel is a compiled MBV2 graph.
type mbModel struct {
	model
	ce      *G.Node      // cross-entropy part of the loss
	runtime *G.Node      // supernet with a latency table: predicted runtime
	lambda  *G.Node      // scalar input: the latency coefficient (setLambda)
	drops   []*G.Node    // scalar inputs: warm-up dropout multipliers, 3 per layer (setDrop; 1 = off)
	layers  []superLayer // supernet: decisions of the 20 searched layers
	thresh  []*G.Node    // supernet: threshold parameters
}

// scalarInput is a scalar input node of value v. Its value is replaced with
// setScalar (G.Let). (The shape-(1) value once seen in a scalar Add of a
// resumed search was a hash collision between two nodes: machine.go.)
func scalarInput(g *G.ExprGraph, dt tensor.Dtype, name string, v float64) *G.Node {
	return G.NewScalar(g, dt, G.WithName(name), G.WithValue(scalarValueOf(dt, v)))
}

func scalarValueOf(dt tensor.Dtype, v float64) G.Value {
	if dt == tensor.Float32 {
		return G.NewF32(float32(v))
	}
	return G.NewF64(v)
}

func setScalar(n *G.Node, v float64) error {
	return G.Let(n, scalarValueOf(n.Dtype(), v))
}

// setLambda sets the latency coefficient (a no-op without a latency term).
func (m *mbModel) setLambda(v float64) error {
	if m.lambda == nil {
		return nil
	}
	return setScalar(m.lambda, v)
}

// setDrop sets decision i's dropout multiplier (layer i/3, decision i%3).
func (m *mbModel) setDrop(i int, v float64) error { return setScalar(m.drops[i], v) }

// buildMBV2 builds an MBV2 network over ps (a supernet when spec.Arch is
// nil); training adds the backward pass.
func buildMBV2(ps *params, spec mbSpec, batch int, training bool) (*mbModel, error) {
	return rebuilt(func() (*mbModel, error) { return buildMBV2Once(ps, spec, batch, training) })
}

func buildMBV2Once(ps *params, spec mbSpec, batch int, training bool) (*mbModel, error) {
	if err := spec.Macro.Validate(); err != nil {
		return nil, fmt.Errorf("train: build: %w", err)
	}
	if spec.Arch != nil && !spec.Arch.Valid() {
		return nil, fmt.Errorf("train: build: invalid mbv2 arch %v", *spec.Arch)
	}
	b := &builder{g: G.NewGraph(), ps: ps, training: training, bound: map[string]*G.Node{}}
	dt := ps.dt
	fail := func(err error) (*mbModel, error) { return nil, fmt.Errorf("train: build mbv2: %w", err) }
	x := G.NewTensor(b.g, dt, 4, G.WithShape(batch, spec.InC, spec.H, spec.W), G.WithName("input"),
		G.WithValue(tensor.New(tensor.Of(dt), tensor.WithShape(batch, spec.InC, spec.H, spec.W))))
	y := G.NewMatrix(b.g, dt, G.WithShape(batch, spec.Class), G.WithName("onehot"),
		G.WithValue(tensor.New(tensor.Of(dt), tensor.WithShape(batch, spec.Class))))
	m := &mbModel{}
	super := spec.Arch == nil
	if super {
		for i := 0; i < mbv2.Layers*numDec; i++ {
			m.drops = append(m.drops, scalarInput(b.g, dt, fmt.Sprintf("drop%d", i), 1))
		}
	}
	mc := spec.Macro
	stem := mc.Stem()
	h, err := b.conv(x, "stem", spec.InC, stem, 3, mc.StemStride, 1)
	if err != nil {
		return fail(err)
	}
	if h, err = b.batchNorm(h, "stem.bn", stem); err != nil {
		return fail(err)
	}
	if h, err = G.Rectify(h); err != nil {
		return fail(err)
	}
	for i, blk := range mc.Blocks() {
		name := fmt.Sprintf("b%d", i)
		switch {
		case blk.Layer < 0:
			h, _, err = b.mbconv(h, name, blk, blk.Fixed.Kernel(), blk.Expand, false, [numDec]*G.Node{})
		case super:
			var drops [numDec]*G.Node
			copy(drops[:], m.drops[blk.Layer*numDec:])
			var sl *superLayer
			h, sl, err = b.mbconv(h, name, blk, 5, 6, true, drops)
			if err == nil {
				m.layers = append(m.layers, *sl)
			}
		default:
			op := spec.Arch.Op(blk.Layer)
			if op == mbv2.Skip {
				continue // identity (skippable layers are residual)
			}
			h, _, err = b.mbconv(h, name, blk, op.Kernel(), op.Expansion(), false, [numDec]*G.Node{})
		}
		if err != nil {
			return fail(err)
		}
	}
	last := mc.Blocks()[len(mc.Blocks())-1].Out
	head := mc.Head()
	if h, err = b.conv(h, "head", last, head, 1, 1, 0); err != nil {
		return fail(err)
	}
	if h, err = b.batchNorm(h, "head.bn", head); err != nil {
		return fail(err)
	}
	if h, err = G.Rectify(h); err != nil {
		return fail(err)
	}
	if h, err = GlobalAvgPool(h); err != nil {
		return fail(err)
	}
	fw := b.param("fc.w", []int{head, spec.Class}, b.uniform(1/math.Sqrt(float64(head))))
	fb := b.param("fc.b", []int{spec.Class}, b.uniform(1/math.Sqrt(float64(head))))
	b.flops += float64(head*spec.Class + spec.Class)
	logits, err := linear(h, fw, fb)
	if err != nil {
		return fail(err)
	}
	ce, err := crossEntropy(logits, y)
	if err != nil {
		return fail(err)
	}
	loss := ce
	if super && spec.Latency != nil {
		if m.runtime, err = spec.Latency.graph(b.g, dt, m.layers); err != nil {
			return fail(err)
		}
		m.lambda = scalarInput(b.g, dt, "lambda", 0)
		lr, err := G.Log(m.runtime)
		if err != nil {
			return fail(err)
		}
		term, err := G.Mul(m.lambda, lr)
		if err != nil {
			return fail(err)
		}
		if loss, err = G.Add(ce, term); err != nil {
			return fail(err)
		}
	}
	m.model = model{g: b.g, x: x, y: y, logits: logits, loss: loss, batch: batch, flops: b.flops}
	m.ce = ce
	for _, n := range b.learn {
		if isThreshold(n.Name()) {
			m.thresh = append(m.thresh, n)
		}
	}
	if training {
		m.learn = learnables(b.g, loss, b.learn)
	}
	if m.vm, err = compile(b.g, loss, m.learn); err != nil {
		return fail(err)
	}
	return m, nil
}

// isThreshold reports whether a parameter name is a superkernel threshold.
func isThreshold(name string) bool {
	for _, s := range decNames {
		if len(name) > len(s) && name[len(name)-len(s)-1:] == "."+s {
			return true
		}
	}
	return false
}
