package train

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Custom gorgonia ops. Each is an Op plus SDOp (symbolic differentiation):
// the backward pass is built from further custom ops whose kernels live in
// kernels.go / bnkernel.go. Every op instance hashes with a unique id so the
// graph never merges two layers that happen to share shapes.

var opSeq atomic.Int64

type opBase struct{ id int64 }

func newOpBase() opBase                               { return opBase{id: opSeq.Add(1)} }
func (opBase) ReturnsPtr() bool                       { return false }
func (opBase) CallsExtern() bool                      { return false }
func (opBase) OverwritesInput() int                   { return -1 }
func writeHash(h hash.Hash, s fmt.Stringer, id int64) { fmt.Fprintf(h, "%v#%d", s, id) }
func hashcode(s fmt.Stringer, id int64) uint32 {
	h := fnv.New32a()
	writeHash(h, s, id)
	return h.Sum32()
}

func tt(dims int) hm.Type { return &G.TensorType{Dims: dims, Of: hm.TypeVariable('a')} }

func shapeOf(d G.DimSizer) (tensor.Shape, error) {
	s, ok := d.(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("train: expected a tensor.Shape, got %T", d)
	}
	return s, nil
}

func asDense(v G.Value) (*tensor.Dense, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("train: expected *tensor.Dense, got %T", v)
	}
	return d, nil
}

func denses(vs []G.Value) ([]*tensor.Dense, error) {
	out := make([]*tensor.Dense, len(vs))
	for i, v := range vs {
		d, err := asDense(v)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func newLike(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	return tensor.New(tensor.Of(dt), tensor.WithShape(shape.Clone()...))
}

// ErrDtype reports a tensor element type other than float32/float64.
var ErrDtype = errors.New("train: unsupported dtype (want float32 or float64)")

// ---------------------------------------------------------------- conv

// convOp is a (grouped: regular or depthwise) 2-D convolution, NCHW, no bias.
// Regular: w is (Cout, C, KH, KW); depthwise: w is (C, 1, KH, KW).
type convOp struct {
	opBase
	stride, pad, dil int
	depthwise        bool
}

func (o *convOp) geom(x, w tensor.Shape) (convGeom, error) {
	if len(x) != 4 || len(w) != 4 {
		return convGeom{}, fmt.Errorf("train: conv: want 4-D x and w, got %v and %v", x, w)
	}
	g := convGeom{B: x[0], C: x[1], H: x[2], W: x[3], KH: w[2], KW: w[3],
		SH: o.stride, SW: o.stride, PH: o.pad, PW: o.pad, DH: o.dil, DW: o.dil, Cout: w[0]}
	if o.depthwise {
		if w[0] != x[1] || w[1] != 1 {
			return g, fmt.Errorf("train: depthwise conv: w %v does not match x %v", w, x)
		}
	} else if w[1] != x[1] {
		return g, fmt.Errorf("train: conv: w %v does not match x %v", w, x)
	}
	g.finish()
	if g.Ho <= 0 || g.Wo <= 0 {
		return g, fmt.Errorf("train: conv: empty output for x %v, w %v", x, w)
	}
	return g, nil
}

func (o *convOp) Arity() int    { return 2 }
func (o *convOp) Type() hm.Type { return hm.NewFnType(tt(4), tt(4), tt(4)) }
func (o *convOp) String() string {
	k := "Conv2D"
	if o.depthwise {
		k = "DepthwiseConv2D"
	}
	return fmt.Sprintf("%s{s%d,p%d,d%d}", k, o.stride, o.pad, o.dil)
}
func (o *convOp) WriteHash(h hash.Hash) { writeHash(h, o, o.id) }
func (o *convOp) Hashcode() uint32      { return hashcode(o, o.id) }
func (o *convOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	w, err := shapeOf(in[1])
	if err != nil {
		return nil, err
	}
	g, err := o.geom(x, w)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.B, g.Cout, g.Ho, g.Wo}, nil
}

func (o *convOp) Do(vs ...G.Value) (G.Value, error) {
	d, err := denses(vs)
	if err != nil {
		return nil, err
	}
	x, w := d[0], d[1]
	g, err := o.geom(x.Shape(), w.Shape())
	if err != nil {
		return nil, err
	}
	y := newLike(x.Dtype(), tensor.Shape{g.B, g.Cout, g.Ho, g.Wo})
	switch xs := x.Data().(type) {
	case []float32:
		if o.depthwise {
			depthwiseForward(&g, xs, w.Data().([]float32), y.Data().([]float32))
		} else {
			convForward(&g, xs, w.Data().([]float32), y.Data().([]float32))
		}
	case []float64:
		if o.depthwise {
			depthwiseForward(&g, xs, w.Data().([]float64), y.Data().([]float64))
		} else {
			convForward(&g, xs, w.Data().([]float64), y.Data().([]float64))
		}
	default:
		return nil, ErrDtype
	}
	return y, nil
}

func (o *convOp) DiffWRT(int) []bool { return []bool{true, true} }
func (o *convOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&convGradOp{opBase: newOpBase(), conv: o, data: true, shape: in[0].Shape().Clone()}, in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(&convGradOp{opBase: newOpBase(), conv: o, shape: in[1].Shape().Clone()}, in[0], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw}, nil
}

// convGradOp computes dx (data: inputs w, gy) or dw (inputs x, gy).
type convGradOp struct {
	opBase
	conv  *convOp
	data  bool
	shape tensor.Shape // of the result
}

func (o *convGradOp) Arity() int    { return 2 }
func (o *convGradOp) Type() hm.Type { return hm.NewFnType(tt(4), tt(4), tt(4)) }
func (o *convGradOp) String() string {
	if o.data {
		return fmt.Sprintf("%vGradX", o.conv)
	}
	return fmt.Sprintf("%vGradW", o.conv)
}
func (o *convGradOp) WriteHash(h hash.Hash)                          { writeHash(h, o, o.id) }
func (o *convGradOp) Hashcode() uint32                               { return hashcode(o, o.id) }
func (o *convGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }
func (o *convGradOp) Do(vs ...G.Value) (G.Value, error) {
	d, err := denses(vs)
	if err != nil {
		return nil, err
	}
	a, gy := d[0], d[1]
	var g convGeom
	if o.data {
		g, err = o.conv.geom(o.shape, a.Shape())
	} else {
		g, err = o.conv.geom(a.Shape(), o.shape)
	}
	if err != nil {
		return nil, err
	}
	r := newLike(a.Dtype(), o.shape)
	switch as := a.Data().(type) {
	case []float32:
		gys, rs := gy.Data().([]float32), r.Data().([]float32)
		switch {
		case o.data && o.conv.depthwise:
			depthwiseBackwardData(&g, as, gys, rs)
		case o.data:
			convBackwardData(&g, as, gys, rs)
		case o.conv.depthwise:
			depthwiseBackwardFilter(&g, as, gys, rs)
		default:
			convBackwardFilter(&g, as, gys, rs)
		}
	case []float64:
		gys, rs := gy.Data().([]float64), r.Data().([]float64)
		switch {
		case o.data && o.conv.depthwise:
			depthwiseBackwardData(&g, as, gys, rs)
		case o.data:
			convBackwardData(&g, as, gys, rs)
		case o.conv.depthwise:
			depthwiseBackwardFilter(&g, as, gys, rs)
		default:
			convBackwardFilter(&g, as, gys, rs)
		}
	default:
		return nil, ErrDtype
	}
	return r, nil
}

// Conv2D is a bias-free NCHW convolution of x (B,C,H,W) with w (Cout,C,K,K),
// square stride, zero padding and dilation.
func Conv2D(x, w *G.Node, stride, pad, dilation int) (*G.Node, error) {
	return G.ApplyOp(&convOp{opBase: newOpBase(), stride: stride, pad: pad, dil: dilation}, x, w)
}

// DepthwiseConv2D convolves each channel of x (B,C,H,W) with its own K×K
// filter, w (C,1,K,K) (PyTorch groups=C). gorgonia has no grouped conv.
func DepthwiseConv2D(x, w *G.Node, stride, pad, dilation int) (*G.Node, error) {
	return G.ApplyOp(&convOp{opBase: newOpBase(), stride: stride, pad: pad, dil: dilation, depthwise: true}, x, w)
}

// ---------------------------------------------------------------- pooling

type poolOp struct {
	opBase
	k, stride, pad    int
	isMax, includePad bool
}

func (o *poolOp) geom(x tensor.Shape) (convGeom, error) {
	if len(x) != 4 {
		return convGeom{}, fmt.Errorf("train: pool: want 4-D x, got %v", x)
	}
	g := convGeom{B: x[0], C: x[1], H: x[2], W: x[3], KH: o.k, KW: o.k, SH: o.stride, SW: o.stride,
		PH: o.pad, PW: o.pad, DH: 1, DW: 1, Cout: x[1]}
	g.finish()
	if g.Ho <= 0 || g.Wo <= 0 {
		return g, fmt.Errorf("train: pool: empty output for x %v", x)
	}
	return g, nil
}
func (o *poolOp) Arity() int    { return 1 }
func (o *poolOp) Type() hm.Type { return hm.NewFnType(tt(4), tt(4)) }
func (o *poolOp) String() string {
	k := "AvgPool"
	if o.isMax {
		k = "MaxPool"
	}
	return fmt.Sprintf("%s{k%d,s%d,p%d,incl%v}", k, o.k, o.stride, o.pad, o.includePad)
}
func (o *poolOp) WriteHash(h hash.Hash) { writeHash(h, o, o.id) }
func (o *poolOp) Hashcode() uint32      { return hashcode(o, o.id) }
func (o *poolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	g, err := o.geom(x)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.B, g.C, g.Ho, g.Wo}, nil
}
func (o *poolOp) Do(vs ...G.Value) (G.Value, error) {
	x, err := asDense(vs[0])
	if err != nil {
		return nil, err
	}
	g, err := o.geom(x.Shape())
	if err != nil {
		return nil, err
	}
	y := newLike(x.Dtype(), tensor.Shape{g.B, g.C, g.Ho, g.Wo})
	switch xs := x.Data().(type) {
	case []float32:
		poolForward(&g, o.isMax, o.includePad, xs, y.Data().([]float32))
	case []float64:
		poolForward(&g, o.isMax, o.includePad, xs, y.Data().([]float64))
	default:
		return nil, ErrDtype
	}
	return y, nil
}
func (o *poolOp) DiffWRT(int) []bool { return []bool{true} }
func (o *poolOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&poolGradOp{opBase: newOpBase(), pool: o}, in[0], grad)
	return G.Nodes{dx}, err
}

type poolGradOp struct {
	opBase
	pool *poolOp
}

func (o *poolGradOp) Arity() int            { return 2 }
func (o *poolGradOp) Type() hm.Type         { return hm.NewFnType(tt(4), tt(4), tt(4)) }
func (o *poolGradOp) String() string        { return fmt.Sprintf("%vGrad", o.pool) }
func (o *poolGradOp) WriteHash(h hash.Hash) { writeHash(h, o, o.id) }
func (o *poolGradOp) Hashcode() uint32      { return hashcode(o, o.id) }
func (o *poolGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, err := shapeOf(in[0])
	return x.Clone(), err
}
func (o *poolGradOp) Do(vs ...G.Value) (G.Value, error) {
	d, err := denses(vs)
	if err != nil {
		return nil, err
	}
	x, gy := d[0], d[1]
	g, err := o.pool.geom(x.Shape())
	if err != nil {
		return nil, err
	}
	dx := newLike(x.Dtype(), x.Shape())
	switch xs := x.Data().(type) {
	case []float32:
		poolBackward(&g, o.pool.isMax, o.pool.includePad, xs, gy.Data().([]float32), dx.Data().([]float32))
	case []float64:
		poolBackward(&g, o.pool.isMax, o.pool.includePad, xs, gy.Data().([]float64), dx.Data().([]float64))
	default:
		return nil, ErrDtype
	}
	return dx, nil
}

// MaxPool is k×k max pooling; padding never wins (acts as −∞), NaN inputs
// are skipped (a window of only NaN yields NaN and no gradient).
func MaxPool(x *G.Node, k, stride, pad int) (*G.Node, error) {
	return G.ApplyOp(&poolOp{opBase: newOpBase(), k: k, stride: stride, pad: pad, isMax: true}, x)
}

// AvgPool is k×k average pooling. With countIncludePad false (NB201's
// avg_pool_3x3, DARTS) the divisor is the number of in-bounds elements.
// It replaces gorgonia's AveragePool2D, which divides by the input width (bug 1).
func AvgPool(x *G.Node, k, stride, pad int, countIncludePad bool) (*G.Node, error) {
	return G.ApplyOp(&poolOp{opBase: newOpBase(), k: k, stride: stride, pad: pad, includePad: countIncludePad}, x)
}

// ---------------------------------------------------------------- GAP

type gapOp struct {
	opBase
	grad bool // gradient variant: inputs (x, gy) → dx
}

func (o *gapOp) Arity() int {
	if o.grad {
		return 2
	}
	return 1
}
func (o *gapOp) Type() hm.Type {
	if o.grad {
		return hm.NewFnType(tt(4), tt(2), tt(4))
	}
	return hm.NewFnType(tt(4), tt(2))
}
func (o *gapOp) String() string {
	if o.grad {
		return "GlobalAvgPoolGrad"
	}
	return "GlobalAvgPool"
}
func (o *gapOp) WriteHash(h hash.Hash) { writeHash(h, o, o.id) }
func (o *gapOp) Hashcode() uint32      { return hashcode(o, o.id) }
func (o *gapOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	if len(x) != 4 {
		return nil, fmt.Errorf("train: global average pool: want 4-D x, got %v", x)
	}
	if o.grad {
		return x.Clone(), nil
	}
	return tensor.Shape{x[0], x[1]}, nil
}
func gapKernel[T float](x, y []T, BC, HW int, grad bool) {
	inv := 1 / T(HW)
	for i := 0; i < BC; i++ {
		if grad { // x is dx, y is gy
			v := y[i] * inv
			for k := range x[i*HW : (i+1)*HW] {
				x[i*HW+k] = v
			}
			continue
		}
		var s T
		for _, v := range x[i*HW : (i+1)*HW] {
			s += v
		}
		y[i] = s * inv
	}
}
func (o *gapOp) Do(vs ...G.Value) (G.Value, error) {
	x, err := asDense(vs[0])
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	BC, HW := s[0]*s[1], s[2]*s[3]
	if o.grad {
		gy, err := asDense(vs[1])
		if err != nil {
			return nil, err
		}
		dx := newLike(x.Dtype(), s)
		switch d := dx.Data().(type) {
		case []float32:
			gapKernel(d, gy.Data().([]float32), BC, HW, true)
		case []float64:
			gapKernel(d, gy.Data().([]float64), BC, HW, true)
		default:
			return nil, ErrDtype
		}
		return dx, nil
	}
	y := newLike(x.Dtype(), tensor.Shape{s[0], s[1]})
	switch xs := x.Data().(type) {
	case []float32:
		gapKernel(xs, y.Data().([]float32), BC, HW, false)
	case []float64:
		gapKernel(xs, y.Data().([]float64), BC, HW, false)
	default:
		return nil, ErrDtype
	}
	return y, nil
}
func (o *gapOp) DiffWRT(int) []bool { return []bool{true} }
func (o *gapOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&gapOp{opBase: newOpBase(), grad: true}, in[0], grad)
	return G.Nodes{dx}, err
}

// GlobalAvgPool averages each channel of x (B,C,H,W) to (B,C), with a
// gradient (gorgonia's GlobalAveragePool2D has none: bug 2; multi-axis
// Sum/Mean has wrong gradients: bug 3).
func GlobalAvgPool(x *G.Node) (*G.Node, error) {
	return G.ApplyOp(&gapOp{opBase: newOpBase()}, x)
}

// ---------------------------------------------------------------- batch norm

// bnOp normalises per channel; γ and β are (C). The forward pass caches x̂
// and 1/σ for the backward ops of the same step.
type bnOp struct {
	opBase
	st       *BNState
	training bool
	xhat     *tensor.Dense
	invstd   []float64
}

func (o *bnOp) Arity() int    { return 3 }
func (o *bnOp) Type() hm.Type { return hm.NewFnType(tt(4), tt(1), tt(1), tt(4)) }
func (o *bnOp) String() string {
	return fmt.Sprintf("BatchNorm{train:%v}", o.training)
}
func (o *bnOp) WriteHash(h hash.Hash) { writeHash(h, o, o.id) }
func (o *bnOp) Hashcode() uint32      { return hashcode(o, o.id) }
func (o *bnOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	if len(x) != 4 || x[1] != len(o.st.Mean) {
		return nil, fmt.Errorf("train: batch norm: x %v does not have %d channels", x, len(o.st.Mean))
	}
	return x.Clone(), nil
}
func (o *bnOp) Do(vs ...G.Value) (G.Value, error) {
	d, err := denses(vs)
	if err != nil {
		return nil, err
	}
	x, gm, bt := d[0], d[1], d[2]
	s := x.Shape()
	B, C, HW := s[0], s[1], s[2]*s[3]
	y := newLike(x.Dtype(), s)
	if o.xhat == nil || !o.xhat.Shape().Eq(s) || o.xhat.Dtype() != x.Dtype() {
		o.xhat = newLike(x.Dtype(), s)
		o.invstd = make([]float64, C)
	}
	switch xs := x.Data().(type) {
	case []float32:
		if o.training {
			bnForwardTrain(xs, gm.Data().([]float32), bt.Data().([]float32), y.Data().([]float32), o.xhat.Data().([]float32), o.invstd, o.st, B, C, HW)
		} else {
			bnForwardEval(xs, gm.Data().([]float32), bt.Data().([]float32), y.Data().([]float32), o.xhat.Data().([]float32), o.invstd, o.st, B, C, HW)
		}
	case []float64:
		if o.training {
			bnForwardTrain(xs, gm.Data().([]float64), bt.Data().([]float64), y.Data().([]float64), o.xhat.Data().([]float64), o.invstd, o.st, B, C, HW)
		} else {
			bnForwardEval(xs, gm.Data().([]float64), bt.Data().([]float64), y.Data().([]float64), o.xhat.Data().([]float64), o.invstd, o.st, B, C, HW)
		}
	default:
		return nil, ErrDtype
	}
	return y, nil
}
func (o *bnOp) DiffWRT(int) []bool { return []bool{true, true, true} }
func (o *bnOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, 3)
	for i := range res {
		n, err := G.ApplyOp(&bnGradOp{opBase: newOpBase(), bn: o, which: i, shape: in[i].Shape().Clone()}, in[1], out, grad)
		if err != nil {
			return nil, err
		}
		res[i] = n
	}
	return res, nil
}

// bnGradOp: inputs (γ, y, gy); which = 0 → dx, 1 → dγ, 2 → dβ.
type bnGradOp struct {
	opBase
	bn    *bnOp
	which int
	shape tensor.Shape
}

func (o *bnGradOp) Arity() int { return 3 }
func (o *bnGradOp) Type() hm.Type {
	if o.which == 0 {
		return hm.NewFnType(tt(1), tt(4), tt(4), tt(4))
	}
	return hm.NewFnType(tt(1), tt(4), tt(4), tt(1))
}
func (o *bnGradOp) String() string                                 { return fmt.Sprintf("%vGrad%d", o.bn, o.which) }
func (o *bnGradOp) WriteHash(h hash.Hash)                          { writeHash(h, o, o.id) }
func (o *bnGradOp) Hashcode() uint32                               { return hashcode(o, o.id) }
func (o *bnGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }
func (o *bnGradOp) Do(vs ...G.Value) (G.Value, error) {
	d, err := denses(vs)
	if err != nil {
		return nil, err
	}
	gm, gy := d[0], d[2]
	s := gy.Shape()
	B, C, HW := s[0], s[1], s[2]*s[3]
	if o.bn.xhat == nil || !o.bn.xhat.Shape().Eq(s) {
		return nil, errors.New("train: batch norm gradient before its forward pass")
	}
	r := newLike(gy.Dtype(), o.shape)
	switch gys := gy.Data().(type) {
	case []float32:
		bnGradDispatch(o.which, gys, o.bn.xhat.Data().([]float32), gm.Data().([]float32), r.Data().([]float32), o.bn.invstd, o.bn.training, B, C, HW)
	case []float64:
		bnGradDispatch(o.which, gys, o.bn.xhat.Data().([]float64), gm.Data().([]float64), r.Data().([]float64), o.bn.invstd, o.bn.training, B, C, HW)
	default:
		return nil, ErrDtype
	}
	return r, nil
}

func bnGradDispatch[T float](which int, gy, xhat, gamma, r []T, invstd []float64, training bool, B, C, HW int) {
	switch which {
	case 0:
		bnBackwardData(gy, xhat, gamma, r, invstd, training, B, C, HW)
	case 1:
		bnParamGrads(gy, xhat, r, nil, B, C, HW)
	case 2:
		bnParamGrads(gy, xhat, nil, r, B, C, HW)
	}
}

// BatchNorm normalises x (B,C,H,W) per channel and applies γ, β (each (C)).
// training selects batch statistics (and updates st) or st's running
// statistics. Build one graph per mode sharing st.
func BatchNorm(x, gamma, beta *G.Node, st *BNState, training bool) (*G.Node, error) {
	return G.ApplyOp(&bnOp{opBase: newOpBase(), st: st, training: training}, x, gamma, beta)
}
