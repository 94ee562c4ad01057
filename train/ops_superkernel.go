package train

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Custom ops of the Single-Path NAS superkernels (see ops.go for the
// conventions every op follows).

// ---------------------------------------------------------------- indicator

// indicatorOp: forward 1[x ≥ 0]; backward gy·σ(x)(1−σ(x)) (straight-through,
// as Single-Path NAS's stop_gradient(1[x≥0] − σ(x)) + σ(x)). gorgonia has no
// stop-gradient, so the pair is a custom op.
type indicatorOp struct {
	opBase
	grad bool // inputs (x, gy) → dx
}

func (o *indicatorOp) Arity() int {
	if o.grad {
		return 2
	}
	return 1
}
func (o *indicatorOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	if o.grad {
		return hm.NewFnType(a, a, a)
	}
	return hm.NewFnType(a, a)
}
func (o *indicatorOp) String() string {
	if o.grad {
		return "IndicatorGrad"
	}
	return "Indicator"
}
func (o *indicatorOp) WriteHash(h hash.Hash) { writeHash(h, o, o.id) }
func (o *indicatorOp) Hashcode() uint32      { return hashcode(o, o.id) }
func (o *indicatorOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	return s.Clone(), err
}
func indicatorKernel[T float](x, gy, r []T) {
	for i, v := range x {
		if gy == nil {
			if v >= 0 {
				r[i] = 1
			} else {
				r[i] = 0
			}
			continue
		}
		s := 1 / (1 + math.Exp(-float64(v)))
		r[i] = gy[i] * T(s*(1-s))
	}
}
func (o *indicatorOp) Do(vs ...G.Value) (G.Value, error) {
	switch x := vs[0].(type) {
	case *G.F64:
		r := []float64{0}
		var gy []float64
		if o.grad {
			gy = []float64{float64(*vs[1].(*G.F64))}
		}
		indicatorKernel([]float64{float64(*x)}, gy, r)
		return G.NewF64(r[0]), nil
	case *G.F32:
		r := []float32{0}
		var gy []float32
		if o.grad {
			gy = []float32{float32(*vs[1].(*G.F32))}
		}
		indicatorKernel([]float32{float32(*x)}, gy, r)
		return G.NewF32(r[0]), nil
	}
	x, err := asDense(vs[0])
	if err != nil {
		return nil, err
	}
	r := newLike(x.Dtype(), x.Shape())
	switch xs := x.Data().(type) {
	case []float32:
		var gy []float32
		if o.grad {
			gy = vs[1].(*tensor.Dense).Data().([]float32)
		}
		indicatorKernel(xs, gy, r.Data().([]float32))
	case []float64:
		var gy []float64
		if o.grad {
			gy = vs[1].(*tensor.Dense).Data().([]float64)
		}
		indicatorKernel(xs, gy, r.Data().([]float64))
	default:
		return nil, ErrDtype
	}
	return r, nil
}
func (o *indicatorOp) DiffWRT(int) []bool { return []bool{true} }
func (o *indicatorOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&indicatorOp{opBase: newOpBase(), grad: true}, in[0], grad)
	return G.Nodes{dx}, err
}

// Indicator is the straight-through step: 1[x ≥ 0] forward, σ′(x) backward.
func Indicator(x *G.Node) (*G.Node, error) {
	return G.ApplyOp(&indicatorOp{opBase: newOpBase()}, x)
}

// ---------------------------------------------------------------- mixture

// Mixture returns Σ_k softmax(α)_k · x_k for a vector α of len(xs) logits
// (a DARTS MixedOp), with gradients to α and to every x_k. Built from stock
// ops (SoftMax, Slice, Mul, Add), which are exact here.
func Mixture(alpha *G.Node, xs ...*G.Node) (*G.Node, error) {
	if alpha.Dims() != 1 || alpha.Shape()[0] != len(xs) || len(xs) == 0 {
		return nil, fmt.Errorf("train: mixture: α shape %v for %d ops", alpha.Shape(), len(xs))
	}
	sm, err := G.SoftMax(alpha)
	if err != nil {
		return nil, fmt.Errorf("train: mixture: %w", err)
	}
	var sum *G.Node
	for k, x := range xs {
		w, err := G.Slice(sm, G.S(k))
		if err != nil {
			return nil, fmt.Errorf("train: mixture: %w", err)
		}
		t, err := G.Mul(w, x)
		if err != nil {
			return nil, fmt.Errorf("train: mixture: %w", err)
		}
		if sum == nil {
			sum = t
		} else if sum, err = G.Add(sum, t); err != nil {
			return nil, fmt.Errorf("train: mixture: %w", err)
		}
	}
	return sum, nil
}
