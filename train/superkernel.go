package train

// Single-Path NAS superkernel (dstamoulis/single-path-nas superkernel.py,
// TRAINER.md §4). One 5×5 depthwise kernel W of 6·C_in channels per searched
// layer; constant masks pick its inner 3×3 core and outer ring, and its
// lower and upper channel halves. Three trainable thresholds decide, through
// straight-through indicators (Indicator: hard step forward, σ′ backward):
//
//	d5   = Ind(‖W⊙ring‖ − t5x5)                 Wk = W⊙core + d5·W⊙ring
//	d100 = Ind(‖Wk⊙upper‖ − t100c)              expansion 6 (1) or 3 (0)
//	d50  = Ind(‖Wk⊙lower‖ − t50c)               skippable layers only: 0 = skip
//
// The reference masks the kernel's channels; with a batch norm after the
// depthwise conv a zeroed channel still emits BN's β, so a masked layer would
// not compute what an expansion-3 layer does. Here the upper half is masked
// after the depthwise conv's BN and ReLU (where every op is per channel), and
// d50 gates the whole residual branch, so that with the decisions fixed the
// supernet computes exactly the chosen MBConv (or the identity).

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/mbv2"
)

// superIndicator is the decision step; tests replace it by the relaxed
// form to check gradients against finite differences.
var superIndicator = Indicator

func (b *builder) ind(x *G.Node) (*G.Node, error) { return superIndicator(x) }

// superLayer holds the decision nodes of one searched layer (scalars).
type superLayer struct {
	d5, d100, d50 *G.Node // d50 nil when the layer cannot be skipped
	// n5, n100, n50 are the norms the thresholds are compared with.
	n5, n100, n50 *G.Node
}

// Decision indices into the per-layer triples of thresholds and drops.
const (
	dec5 = iota
	dec100
	dec50
	numDec
)

// decNames are the threshold parameter suffixes (the reference's names).
var decNames = [numDec]string{"t5x5", "t100c", "t50c"}

// constLike returns a constant tensor of shape sh filled by f(index).
func constLike(g *G.ExprGraph, dt tensor.Dtype, sh []int, name string, f func(i int) float64) *G.Node {
	t := tensor.New(tensor.Of(dt), tensor.WithShape(sh...))
	switch d := t.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(f(i))
		}
	case []float64:
		for i := range d {
			d[i] = f(i)
		}
	}
	return G.NewTensor(g, dt, len(sh), G.WithShape(sh...), G.WithName(name), G.WithValue(t))
}

// frobNorm is ‖x‖ (not squared), a scalar.
func frobNorm(x *G.Node) (*G.Node, error) {
	sq, err := G.Square(x)
	if err != nil {
		return nil, err
	}
	s, err := G.Sum(sq)
	if err != nil {
		return nil, err
	}
	return G.Sqrt(s)
}

// decide is Ind(norm − t)·drop, as a scalar; t is a (1)-tensor parameter
// and drop a scalar (the warm-up dropout multiplier, or nil).
func (b *builder) decide(norm *G.Node, name string, drop *G.Node) (*G.Node, error) {
	t := b.param(name, []int{1}, constInit(0))
	ts, err := G.Sum(t)
	if err != nil {
		return nil, err
	}
	x, err := G.Sub(norm, ts)
	if err != nil {
		return nil, err
	}
	d, err := b.ind(x)
	if err != nil {
		return nil, err
	}
	if drop != nil {
		return G.Mul(d, drop)
	}
	return d, nil
}

// superKernel returns the depthwise kernel in use, Wk = W⊙core + d5·W⊙ring,
// and the layer's decisions. W is (C,1,5,5); drops holds the three dropout
// multipliers (or nils).
func (b *builder) superKernel(w *G.Node, name string, skippable bool, drops [numDec]*G.Node) (*G.Node, superLayer, error) {
	var sl superLayer
	sh := w.Shape()
	C := sh[0]
	dt := w.Dtype()
	core := constLike(b.g, dt, sh, name+".mask3x3", func(i int) float64 {
		r, c := i%25/5, i%5
		if r >= 1 && r <= 3 && c >= 1 && c <= 3 {
			return 1
		}
		return 0
	})
	ring := constLike(b.g, dt, sh, name+".mask5x5", func(i int) float64 {
		r, c := i%25/5, i%5
		if r >= 1 && r <= 3 && c >= 1 && c <= 3 {
			return 0
		}
		return 1
	})
	half := (C + 1) / 2 // round(C/2); C = 6·C_in is even
	lower := constLike(b.g, dt, sh, name+".mask50c", func(i int) float64 {
		if i/25 < half {
			return 1
		}
		return 0
	})
	upper := constLike(b.g, dt, sh, name+".mask100c", func(i int) float64 {
		if i/25 >= half {
			return 1
		}
		return 0
	})
	fail := func(err error) (*G.Node, superLayer, error) {
		return nil, sl, fmt.Errorf("%s: superkernel: %w", name, err)
	}
	k3, err := G.HadamardProd(w, core)
	if err != nil {
		return fail(err)
	}
	k5, err := G.HadamardProd(w, ring)
	if err != nil {
		return fail(err)
	}
	if sl.n5, err = frobNorm(k5); err != nil {
		return fail(err)
	}
	if sl.d5, err = b.decide(sl.n5, name+"."+decNames[dec5], drops[dec5]); err != nil {
		return fail(err)
	}
	k5d, err := G.Mul(sl.d5, k5)
	if err != nil {
		return fail(err)
	}
	wk, err := G.Add(k3, k5d)
	if err != nil {
		return fail(err)
	}
	k100, err := G.HadamardProd(wk, upper)
	if err != nil {
		return fail(err)
	}
	if sl.n100, err = frobNorm(k100); err != nil {
		return fail(err)
	}
	if sl.d100, err = b.decide(sl.n100, name+"."+decNames[dec100], drops[dec100]); err != nil {
		return fail(err)
	}
	if skippable {
		k50, err := G.HadamardProd(wk, lower)
		if err != nil {
			return fail(err)
		}
		if sl.n50, err = frobNorm(k50); err != nil {
			return fail(err)
		}
		if sl.d50, err = b.decide(sl.n50, name+"."+decNames[dec50], drops[dec50]); err != nil {
			return fail(err)
		}
	}
	return wk, sl, nil
}

// channelGate multiplies the upper half of x's channels by the scalar d
// (x is (B,C,H,W)).
func (b *builder) channelGate(x, d *G.Node, name string) (*G.Node, error) {
	C := x.Shape()[1]
	half := (C + 1) / 2
	dt := x.Dtype()
	lo := constLike(b.g, dt, []int{1, C, 1, 1}, name+".lo", func(i int) float64 {
		if i < half {
			return 1
		}
		return 0
	})
	hi := constLike(b.g, dt, []int{1, C, 1, 1}, name+".hi", func(i int) float64 {
		if i >= half {
			return 1
		}
		return 0
	})
	dh, err := G.Mul(d, hi)
	if err != nil {
		return nil, err
	}
	m, err := G.Add(lo, dh)
	if err != nil {
		return nil, err
	}
	return G.BroadcastHadamardProd(x, m, nil, []byte{0, 2, 3})
}

// mbconv builds one MBConv block: [expand 1×1 → BN → ReLU] → depthwise k×k
// → BN → ReLU → project 1×1 → BN (+ input when residual). op selects a
// discrete layer (kernel op.Kernel(), expansion expand); super builds the
// superkernel instead (kernel 5, expansion 6, decisions returned).
func (b *builder) mbconv(x *G.Node, name string, blk mbv2.Block, k, expand int, super bool, drops [numDec]*G.Node) (*G.Node, *superLayer, error) {
	var sl *superLayer
	h := x
	mid := blk.In * expand
	var err error
	if expand != 1 {
		if h, err = b.conv(h, name+".expand", blk.In, mid, 1, 1, 0); err != nil {
			return nil, nil, err
		}
		if h, err = b.batchNorm(h, name+".expand.bn", mid); err != nil {
			return nil, nil, err
		}
		if h, err = G.Rectify(h); err != nil {
			return nil, nil, err
		}
	}
	dw := b.param(name+".dw", []int{mid, 1, k, k}, b.uniform(1/float64(k)))
	if super {
		w, s, err := b.superKernel(dw, name, mbv2.Skippable(blk.Layer), drops)
		if err != nil {
			return nil, nil, err
		}
		dw, sl = w, &s
	}
	if h, err = DepthwiseConv2D(h, dw, blk.Stride, k/2, 1); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	sh := h.Shape()
	b.flops += float64(mid * k * k * sh[2] * sh[3])
	if h, err = b.batchNorm(h, name+".dw.bn", mid); err != nil {
		return nil, nil, err
	}
	if h, err = G.Rectify(h); err != nil {
		return nil, nil, err
	}
	if super {
		if h, err = b.channelGate(h, sl.d100, name+".gate"); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if h, err = b.conv(h, name+".project", mid, blk.Out, 1, 1, 0); err != nil {
		return nil, nil, err
	}
	if h, err = b.batchNorm(h, name+".project.bn", blk.Out); err != nil {
		return nil, nil, err
	}
	if !blk.Residual() {
		return h, sl, nil
	}
	if sl != nil && sl.d50 != nil {
		if h, err = G.Mul(sl.d50, h); err != nil {
			return nil, nil, err
		}
	}
	h, err = G.Add(x, h)
	return h, sl, err
}

// decideOp decodes hard decisions (parse_search_output.py): d50 = 0 is
// skip, else the kernel is 5 when d5 = 1 and the expansion 6 when d100 = 1.
func decideOp(d5, d100, d50 float64) mbv2.Op {
	if d50 < 0.5 {
		return mbv2.Skip
	}
	k, e := 3, 3
	if d5 >= 0.5 {
		k = 5
	}
	if d100 >= 0.5 {
		e = 6
	}
	o, _ := mbv2.OpFor(k, e)
	return o
}
