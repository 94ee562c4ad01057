package train

// DARTS candidate ops (quark0/darts cnn/operations.py) on the shared
// builder: separable and dilated convs from the custom DepthwiseConv2D and
// 1×1 Conv2D, pools from the custom MaxPool/AvgPool (count_include_pad
// False), FactorizedReduce, and the mixed op Σ_k W[e,k]·op_k(x) over the
// projected architecture weights W = softmax(α)⊙M + P (M, P fixed inputs, so
// one static graph also serves DARTS-PT's projections).

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/darts"
)

// dartsBuilder builds DARTS graphs over a part-1 builder.
type dartsBuilder struct {
	*builder
	search bool            // supernet: BN affine=False in cells, pools followed by BN
	mixW   [2]*G.Node      // projected weights (14,8) of the normal and reduction cells
	masks  []*G.Node       // drop-path masks (B,1,1,1), one per non-identity op output
	keep   []*tensor.Dense // their values
	dropOn bool            // evaluation net with drop-path
}

// bn is BatchNorm, affine (learnable γ, β) in evaluation networks and
// affine=False (constant 1, 0) in the supernet's cells, as DARTS.
func (d *dartsBuilder) bn(x *G.Node, name string, c int) (*G.Node, error) {
	if !d.search || d.stock {
		return d.batchNorm(x, name, c)
	}
	ones := tensor.New(tensor.Of(d.ps.dt), tensor.WithShape(c))
	zeros := tensor.New(tensor.Of(d.ps.dt), tensor.WithShape(c))
	switch v := ones.Data().(type) {
	case []float32:
		for i := range v {
			v[i] = 1
		}
	case []float64:
		for i := range v {
			v[i] = 1
		}
	}
	gm := G.NewVector(d.g, d.ps.dt, G.WithShape(c), G.WithName(name+".ones"), G.WithValue(ones))
	bt := G.NewVector(d.g, d.ps.dt, G.WithShape(c), G.WithName(name+".zeros"), G.WithValue(zeros))
	return BatchNorm(x, gm, bt, d.ps.bn(name, c), d.training)
}

func (d *dartsBuilder) reluConvBN(x *G.Node, name string, cin, cout, k, s, p int) (*G.Node, error) {
	r, err := G.Rectify(x)
	if err != nil {
		return nil, err
	}
	c, err := d.conv(r, name+".conv", cin, cout, k, s, p)
	if err != nil {
		return nil, err
	}
	return d.bn(c, name+".bn", cout)
}

// dwconv is a depthwise k×k conv (C groups), custom op or, for the stock
// reference, gorgonia's Im2Col composition.
func (d *dartsBuilder) dwconv(x *G.Node, name string, c, k, s, p, dil int) (*G.Node, error) {
	w := d.param(name+".w", []int{c, 1, k, k}, d.uniform(1/float64(k)))
	var y *G.Node
	var err error
	if d.stock {
		y, err = stockDepthwise(x, w, k, s, p, dil)
	} else {
		y, err = DepthwiseConv2D(x, w, s, p, dil)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sh := y.Shape()
	d.flops += float64(c * k * k * sh[2] * sh[3])
	return y, nil
}

// sepConv is DARTS' SepConv: two ReLU → dw k×k → pw 1×1 → BN stacks, the
// first with the stride.
func (d *dartsBuilder) sepConv(x *G.Node, name string, c, k, s int) (*G.Node, error) {
	y, err := d.dilConv(x, name+".a", c, k, s, (k-1)/2, 1)
	if err != nil {
		return nil, err
	}
	return d.dilConv(y, name+".b", c, k, 1, (k-1)/2, 1)
}

// dilConv is ReLU → dw k×k (dilation dil) → pw 1×1 → BN.
func (d *dartsBuilder) dilConv(x *G.Node, name string, c, k, s, p, dil int) (*G.Node, error) {
	r, err := G.Rectify(x)
	if err != nil {
		return nil, err
	}
	y, err := d.dwconv(r, name+".dw", c, k, s, p, dil)
	if err != nil {
		return nil, err
	}
	if y, err = d.conv(y, name+".pw", c, c, 1, 1, 0); err != nil {
		return nil, err
	}
	return d.bn(y, name+".bn", c)
}

// factorizedReduce halves the resolution: ReLU → concat(conv1×1 s2 of x,
// conv1×1 s2 of x[:,:,1:,1:]) → BN.
func (d *dartsBuilder) factorizedReduce(x *G.Node, name string, cin, cout int) (*G.Node, error) {
	r, err := G.Rectify(x)
	if err != nil {
		return nil, err
	}
	a, err := d.conv(r, name+".c1", cin, cout/2, 1, 2, 0)
	if err != nil {
		return nil, err
	}
	sh := x.Shape()
	var shifted *G.Node
	if sh[2] > 1 && sh[3] > 1 {
		if shifted, err = G.Slice(r, nil, nil, G.S(1, sh[2]), G.S(1, sh[3])); err != nil {
			return nil, err
		}
		// Slice drops length-1 axes (2×2 maps): restore NCHW.
		if shifted, err = G.Reshape(shifted, tensor.Shape{sh[0], sh[1], sh[2] - 1, sh[3] - 1}); err != nil {
			return nil, err
		}
	} else {
		shifted = r
	}
	b, err := d.conv(shifted, name+".c2", cin, cout-cout/2, 1, 2, 0)
	if err != nil {
		return nil, err
	}
	cat, err := G.Concat(1, a, b)
	if err != nil {
		return nil, err
	}
	return d.bn(cat, name+".bn", cout)
}

// zeros returns a constant zero tensor shaped like op(x) with stride s.
func (d *dartsBuilder) zeros(x *G.Node, name string, s int) *G.Node {
	sh := x.Shape().Clone()
	sh[2], sh[3] = outSize(sh[2], 1, s, 0, 1), outSize(sh[3], 1, s, 0, 1)
	return G.NewTensor(d.g, d.ps.dt, 4, G.WithShape(sh...), G.WithName(name+".zero"),
		G.WithValue(tensor.New(tensor.Of(d.ps.dt), tensor.WithShape(sh...))))
}

// op builds candidate op id on x with c channels and stride s. identity
// reports a plain skip (no drop-path on it, as DARTS' Identity).
func (d *dartsBuilder) op(x *G.Node, name string, id, c, s int) (y *G.Node, identity bool, err error) {
	switch id {
	case darts.None:
		return d.zeros(x, name, s), false, nil
	case darts.MaxPool3x3, darts.AvgPool3x3:
		if id == darts.MaxPool3x3 {
			if d.stock {
				y, err = G.MaxPool2D(x, tensor.Shape{3, 3}, []int{1, 1}, []int{s, s})
			} else {
				y, err = MaxPool(x, 3, s, 1)
			}
		} else {
			y, err = d.avgPool(x, 3, s, 1)
		}
		if err == nil && d.search {
			y, err = d.bn(y, name+".bn", c)
		}
		return y, false, err
	case darts.SkipConnect:
		if s == 1 {
			return x, true, nil
		}
		y, err = d.factorizedReduce(x, name, c, c)
		return y, false, err
	case darts.SepConv3x3, darts.SepConv5x5:
		k := 3
		if id == darts.SepConv5x5 {
			k = 5
		}
		y, err = d.sepConv(x, name, c, k, s)
		return y, false, err
	case darts.DilConv3x3, darts.DilConv5x5:
		k := 3
		if id == darts.DilConv5x5 {
			k = 5
		}
		y, err = d.dilConv(x, name, c, k, s, k-1, 2)
		return y, false, err
	}
	return nil, false, fmt.Errorf("train: darts op %d", id)
}

// mixed is the MixedOp of edge e of cell type ct: Σ_{k≠none} W[e,k]·op_k(x)
// (none contributes zero and is skipped; it still takes its softmax share).
func (d *dartsBuilder) mixed(x *G.Node, name string, ct, e, c, s int) (*G.Node, error) {
	var sum *G.Node
	for k := 1; k < darts.NumOps; k++ {
		y, _, err := d.op(x, name+"."+darts.OpNames[k], k, c, s)
		if err != nil {
			return nil, err
		}
		w, err := G.Slice(d.mixW[ct], G.S(e), G.S(k))
		if err != nil {
			return nil, err
		}
		t, err := G.Mul(w, y)
		if err != nil {
			return nil, err
		}
		if sum == nil {
			sum = t
		} else if sum, err = G.Add(sum, t); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// mixWeights builds W = softmax(α, rows)⊙M + P for one cell type; α is a
// learnable (14,8) initialised to 1e-3·N(0,1) as DARTS, M and P are fixed
// inputs bound to the caller's tensors.
func (d *dartsBuilder) mixWeights(ct int, m, p *tensor.Dense) (*G.Node, error) {
	name := [2]string{"normal", "reduce"}[ct]
	alpha := d.param("alpha."+name, []int{darts.NumEdges, darts.NumOps}, func(int) float64 { return 1e-3 * d.ps.rng.NormFloat64() })
	sm, err := G.SoftMax(alpha, 1)
	if err != nil {
		return nil, err
	}
	mn := G.NewMatrix(d.g, d.ps.dt, G.WithShape(darts.NumEdges, darts.NumOps), G.WithName("mask."+name), G.WithValue(m))
	pn := G.NewMatrix(d.g, d.ps.dt, G.WithShape(darts.NumEdges, darts.NumOps), G.WithName("proj."+name), G.WithValue(p))
	h, err := G.HadamardProd(sm, mn)
	if err != nil {
		return nil, err
	}
	return G.Add(h, pn)
}

// dropPath multiplies h by a per-sample mask (B,1,1,1) holding
// Bernoulli(keep)/keep, drawn before each step (prepare).
func (d *dartsBuilder) dropPath(h *G.Node, name string) (*G.Node, error) {
	B := h.Shape()[0]
	v := tensor.New(tensor.Of(d.ps.dt), tensor.WithShape(B, 1, 1, 1))
	m := G.NewTensor(d.g, d.ps.dt, 4, G.WithShape(B, 1, 1, 1), G.WithName(name+".droppath"), G.WithValue(v))
	d.masks = append(d.masks, m)
	d.keep = append(d.keep, v)
	return G.BroadcastHadamardProd(h, m, nil, []byte{1, 2, 3})
}

// stockDepthwise is the stock-op depthwise conv (the reference the custom
// op is measured against): Im2Col → reshape (B·Ho·Wo, C, K²) → ⊙ w
// (broadcast) → Σ over K² → reshape/transpose to NCHW.
func stockDepthwise(x, w *G.Node, k, s, p, dil int) (*G.Node, error) {
	sh := x.Shape()
	B, C := sh[0], sh[1]
	cols, err := G.Im2Col(x, tensor.Shape{k, k}, tensor.Shape{p, p}, tensor.Shape{s, s}, tensor.Shape{dil, dil})
	if err != nil {
		return nil, err
	}
	cs := cols.Shape() // (B, Ho, Wo, C·K²)
	Ho, Wo := cs[1], cs[2]
	r, err := G.Reshape(cols, tensor.Shape{B * Ho * Wo, C, k * k})
	if err != nil {
		return nil, err
	}
	w3, err := G.Reshape(w, tensor.Shape{1, C, k * k})
	if err != nil {
		return nil, err
	}
	prod, err := G.BroadcastHadamardProd(r, w3, nil, []byte{0})
	if err != nil {
		return nil, err
	}
	sum, err := G.Sum(prod, 2)
	if err != nil {
		return nil, err
	}
	y, err := G.Reshape(sum, tensor.Shape{B, Ho, Wo, C})
	if err != nil {
		return nil, err
	}
	return G.Transpose(y, 0, 3, 1, 2)
}
