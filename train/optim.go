package train

import (
	"errors"
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// Own optimizers with PyTorch semantics. gorgonia's solvers are not used:
// Momentum's L2 decay is computed from the velocity, so it does nothing (bug
// 5), their state is unexported so it cannot be checkpointed and the learning
// rate cannot be changed by a schedule (bug 8).

// Param is one learnable tensor and its gradient (same shape and dtype).
type Param struct {
	Name  string
	Value *tensor.Dense
	Grad  *tensor.Dense
}

// OptState is an optimizer's checkpointable state: per parameter name, its
// buffers (momentum, first/second moments) in float64.
type OptState struct {
	Kind    string
	Steps   int64
	Buffers map[string][][]float64
}

// Optimizer updates parameters in place from their gradients and zeroes the
// gradients afterwards.
type Optimizer interface {
	Step(ps []Param, lr float64) error
	State() OptState
	SetState(OptState) error
}

// ErrOptState reports a checkpointed state that does not fit the optimizer.
var ErrOptState = errors.New("train: optimizer state does not match")

type optBase struct {
	kind  string
	nbuf  int
	steps int64
	bufs  map[string][][]float64
}

func (o *optBase) buffers(p Param) ([][]float64, bool) {
	if o.bufs == nil {
		o.bufs = map[string][][]float64{}
	}
	b, ok := o.bufs[p.Name]
	if !ok {
		b = make([][]float64, o.nbuf)
		n := p.Value.Shape().TotalSize()
		for i := range b {
			b[i] = make([]float64, n)
		}
		o.bufs[p.Name] = b
	}
	return b, ok
}

func (o *optBase) State() OptState {
	c := make(map[string][][]float64, len(o.bufs))
	for k, v := range o.bufs {
		vv := make([][]float64, len(v))
		for i := range v {
			vv[i] = append([]float64(nil), v[i]...)
		}
		c[k] = vv
	}
	return OptState{Kind: o.kind, Steps: o.steps, Buffers: c}
}

func (o *optBase) SetState(s OptState) error {
	if s.Kind != o.kind {
		return fmt.Errorf("%w: checkpoint has %q, optimizer is %q", ErrOptState, s.Kind, o.kind)
	}
	for k, v := range s.Buffers {
		if len(v) != o.nbuf {
			return fmt.Errorf("%w: %s has %d buffers, want %d", ErrOptState, k, len(v), o.nbuf)
		}
	}
	o.steps = s.Steps
	o.bufs = s.Buffers
	return nil
}

// apply runs f over every element as float64 and writes the new weight back.
func apply(p Param, f func(i int, w, g float64) float64) error {
	switch w := p.Value.Data().(type) {
	case []float32:
		g, ok := p.Grad.Data().([]float32)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("train: optimizer: %s: gradient does not match the weight", p.Name)
		}
		for i := range w {
			w[i] = float32(f(i, float64(w[i]), float64(g[i])))
			g[i] = 0
		}
	case []float64:
		g, ok := p.Grad.Data().([]float64)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("train: optimizer: %s: gradient does not match the weight", p.Name)
		}
		for i := range w {
			w[i] = f(i, w[i], g[i])
			g[i] = 0
		}
	default:
		return ErrDtype
	}
	return nil
}

// SGD is PyTorch's torch.optim.SGD (dampening 0): g += wd·w; b = μb + g
// (b = g on the first step); w −= lr·(g + μb) with Nesterov, else lr·b.
type SGD struct {
	Momentum, WeightDecay float64
	Nesterov              bool
	optBase
}

// NewSGD returns SGD with momentum, optional Nesterov and coupled weight decay.
func NewSGD(momentum, weightDecay float64, nesterov bool) *SGD {
	return &SGD{Momentum: momentum, WeightDecay: weightDecay, Nesterov: nesterov, optBase: optBase{kind: "sgd", nbuf: 1}}
}

func (o *SGD) Step(ps []Param, lr float64) error {
	for _, p := range ps {
		b, seen := o.buffers(p)
		buf := b[0]
		err := apply(p, func(i int, w, g float64) float64 {
			g += o.WeightDecay * w
			if o.Momentum != 0 {
				if seen {
					buf[i] = o.Momentum*buf[i] + g
				} else {
					buf[i] = g
				}
				if o.Nesterov {
					g += o.Momentum * buf[i]
				} else {
					g = buf[i]
				}
			}
			return w - lr*g
		})
		if err != nil {
			return err
		}
	}
	o.steps++
	return nil
}

// Adam is torch.optim.Adam (coupled L2) or, with Decoupled, AdamW.
type Adam struct {
	Beta1, Beta2, Eps, WeightDecay float64
	Decoupled                      bool
	optBase
}

// NewAdam returns Adam with PyTorch defaults for zero arguments
// (β1 0.9, β2 0.999, ε 1e-8).
func NewAdam(beta1, beta2, eps, weightDecay float64, decoupled bool) *Adam {
	if beta1 == 0 {
		beta1 = 0.9
	}
	if beta2 == 0 {
		beta2 = 0.999
	}
	if eps == 0 {
		eps = 1e-8
	}
	return &Adam{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay, Decoupled: decoupled, optBase: optBase{kind: "adam", nbuf: 2}}
}

func (o *Adam) Step(ps []Param, lr float64) error {
	t := float64(o.steps + 1)
	c1, c2 := 1-math.Pow(o.Beta1, t), 1-math.Pow(o.Beta2, t)
	for _, p := range ps {
		b, _ := o.buffers(p)
		m, v := b[0], b[1]
		err := apply(p, func(i int, w, g float64) float64 {
			if o.Decoupled {
				w -= lr * o.WeightDecay * w
			} else {
				g += o.WeightDecay * w
			}
			m[i] = o.Beta1*m[i] + (1-o.Beta1)*g
			v[i] = o.Beta2*v[i] + (1-o.Beta2)*g*g
			return w - lr*(m[i]/c1)/(math.Sqrt(v[i]/c2)+o.Eps)
		})
		if err != nil {
			return err
		}
	}
	o.steps++
	return nil
}

// RMSProp is torch.optim.RMSprop (not centered): s = αs + (1−α)g²;
// with momentum b = μb + g/(√s+ε), w −= lr·b; else w −= lr·g/(√s+ε).
type RMSProp struct {
	Alpha, Eps, Momentum, WeightDecay float64
	optBase
}

// NewRMSProp returns RMSProp; zero alpha/eps mean PyTorch's 0.99/1e-8.
func NewRMSProp(alpha, eps, momentum, weightDecay float64) *RMSProp {
	if alpha == 0 {
		alpha = 0.99
	}
	if eps == 0 {
		eps = 1e-8
	}
	return &RMSProp{Alpha: alpha, Eps: eps, Momentum: momentum, WeightDecay: weightDecay, optBase: optBase{kind: "rmsprop", nbuf: 2}}
}

func (o *RMSProp) Step(ps []Param, lr float64) error {
	for _, p := range ps {
		b, _ := o.buffers(p)
		sq, buf := b[0], b[1]
		err := apply(p, func(i int, w, g float64) float64 {
			g += o.WeightDecay * w
			sq[i] = o.Alpha*sq[i] + (1-o.Alpha)*g*g
			d := g / (math.Sqrt(sq[i]) + o.Eps)
			if o.Momentum != 0 {
				buf[i] = o.Momentum*buf[i] + d
				d = buf[i]
			}
			return w - lr*d
		})
		if err != nil {
			return err
		}
	}
	o.steps++
	return nil
}

// ClipGradNorm scales all gradients so their global L2 norm is at most
// maxNorm (torch.nn.utils.clip_grad_norm_) and returns the norm before.
func ClipGradNorm(ps []Param, maxNorm float64) float64 {
	var ss float64
	for _, p := range ps {
		switch g := p.Grad.Data().(type) {
		case []float32:
			for _, v := range g {
				ss += float64(v) * float64(v)
			}
		case []float64:
			for _, v := range g {
				ss += v * v
			}
		}
	}
	norm := math.Sqrt(ss)
	if scale := maxNorm / (norm + 1e-6); scale < 1 {
		for _, p := range ps {
			switch g := p.Grad.Data().(type) {
			case []float32:
				for i := range g {
					g[i] *= float32(scale)
				}
			case []float64:
				for i := range g {
					g[i] *= scale
				}
			}
		}
	}
	return norm
}

// Schedule maps an iteration (0-based) to a learning rate.
type Schedule interface {
	LR(iter int) float64
}

// CosineLR anneals from Base to Min over Total iterations
// (torch CosineAnnealingLR evaluated per iteration).
type CosineLR struct {
	Base, Min float64
	Total     int
}

func (s CosineLR) LR(iter int) float64 {
	if s.Total <= 0 || iter >= s.Total {
		return s.Min
	}
	return s.Min + (s.Base-s.Min)*(1+math.Cos(math.Pi*float64(iter)/float64(s.Total)))/2
}

// StepLR multiplies Base by Gamma every StepSize iterations.
type StepLR struct {
	Base, Gamma float64
	StepSize    int
}

func (s StepLR) LR(iter int) float64 {
	if s.StepSize <= 0 {
		return s.Base
	}
	return s.Base * math.Pow(s.Gamma, float64(iter/s.StepSize))
}

// ConstLR is a constant learning rate.
type ConstLR float64

func (s ConstLR) LR(int) float64 { return float64(s) }
