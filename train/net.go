package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/nb201"
)

// params owns every weight tensor and batch-norm state of one network,
// keyed by a deterministic name. Graphs (train and eval) bind nodes to these
// very tensors, so an optimizer step is seen by every graph.
type params struct {
	dt     tensor.Dtype
	rng    *rand.Rand
	values map[string]*tensor.Dense
	names  []string // creation order
	bns    map[string]*BNState
	nbn    []string
}

func newParams(dt tensor.Dtype, rng *rand.Rand) *params {
	return &params{dt: dt, rng: rng, values: map[string]*tensor.Dense{}, bns: map[string]*BNState{}}
}

// get returns the named tensor, creating it with init on first use.
func (p *params) get(name string, shape []int, init func(i int) float64) *tensor.Dense {
	if t, ok := p.values[name]; ok {
		return t
	}
	t := tensor.New(tensor.Of(p.dt), tensor.WithShape(shape...))
	switch d := t.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(init(i))
		}
	case []float64:
		for i := range d {
			d[i] = init(i)
		}
	}
	p.values[name] = t
	p.names = append(p.names, name)
	return t
}

func (p *params) bn(name string, c int) *BNState {
	if s, ok := p.bns[name]; ok {
		return s
	}
	s := NewBNState(c, 0.1, 1e-5)
	p.bns[name] = s
	p.nbn = append(p.nbn, name)
	return s
}

// count returns the number of scalar parameters.
func (p *params) count() int {
	n := 0
	for _, t := range p.values {
		n += t.Shape().TotalSize()
	}
	return n
}

// netSpec describes an NB201 network.
type netSpec struct {
	Cell             nb201.Cell
	C, N             int
	InC, H, W, Class int
}

// builder assembles one graph over shared params.
type builder struct {
	g        *G.ExprGraph
	ps       *params
	training bool
	stock    bool // naive variant built only from gorgonia's stock ops (benchmark reference)
	learn    []*G.Node
	bound    map[string]*G.Node
	flops    float64 // multiply-accumulates per image, NB201's counting
}

func (b *builder) param(name string, shape []int, init func(int) float64) *G.Node {
	if n, ok := b.bound[name]; ok {
		return n
	}
	t := b.ps.get(name, shape, init)
	n := G.NewTensor(b.g, b.ps.dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
	b.bound[name] = n
	b.learn = append(b.learn, n)
	return n
}

func (b *builder) uniform(bound float64) func(int) float64 {
	return func(int) float64 { return (2*b.ps.rng.Float64() - 1) * bound }
}

func constInit(v float64) func(int) float64 { return func(int) float64 { return v } }

func (b *builder) conv(x *G.Node, name string, cin, cout, k, s, p int) (*G.Node, error) {
	w := b.param(name+".w", []int{cout, cin, k, k}, b.uniform(1/math.Sqrt(float64(cin*k*k))))
	var y *G.Node
	var err error
	if b.stock {
		y, err = G.Conv2d(x, w, tensor.Shape{k, k}, []int{p, p}, []int{s, s}, []int{1, 1})
	} else {
		y, err = Conv2D(x, w, s, p, 1)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sh := y.Shape()
	b.flops += float64(cin * k * k * cout * sh[2] * sh[3])
	return y, nil
}

func (b *builder) batchNorm(x *G.Node, name string, c int) (*G.Node, error) {
	if b.stock {
		gm := b.param(name+".stock_gamma", []int{1, c, 1, 1}, constInit(1))
		bt := b.param(name+".stock_beta", []int{1, c, 1, 1}, constInit(0))
		y, _, _, op, err := G.BatchNorm(x, gm, bt, 0.1, 1e-5)
		if err == nil && !b.training {
			op.SetTraining(false)
		}
		return y, err
	}
	gm := b.param(name+".gamma", []int{c}, constInit(1))
	bt := b.param(name+".beta", []int{c}, constInit(0))
	return BatchNorm(x, gm, bt, b.ps.bn(name, c), b.training)
}

func (b *builder) reluConvBN(x *G.Node, name string, cin, cout, k, s, p int) (*G.Node, error) {
	r, err := G.Rectify(x)
	if err != nil {
		return nil, err
	}
	c, err := b.conv(r, name+".conv", cin, cout, k, s, p)
	if err != nil {
		return nil, err
	}
	return b.batchNorm(c, name+".bn", cout)
}

func (b *builder) avgPool(x *G.Node, k, s, p int) (*G.Node, error) {
	var y *G.Node
	var err error
	if b.stock {
		y, err = G.AveragePool2D(x, tensor.Shape{k, k}, []int{p, p}, []int{s, s})
	} else {
		y, err = AvgPool(x, k, s, p, false)
	}
	// NB201's FLOP counter counts convolutions and the classifier only
	// (checked against the benchmark's cost records), so pooling adds nothing.
	return y, err
}

func (b *builder) gap(x *G.Node) (*G.Node, error) {
	if !b.stock {
		return GlobalAvgPool(x)
	}
	sh := x.Shape()
	s, err := G.Sum(G.Must(G.Sum(x, 3)), 2)
	if err != nil {
		return nil, err
	}
	return G.Mul(s, scalar(x.Dtype(), 1/float64(sh[2]*sh[3])))
}

func scalar(dt tensor.Dtype, v float64) *G.Node {
	if dt == tensor.Float32 {
		return G.NewConstant(float32(v))
	}
	return G.NewConstant(v)
}

// linear is x (B,in) · w (in,out) + b (out).
func linear(x, w, bias *G.Node) (*G.Node, error) {
	xw, err := G.Mul(x, w)
	if err != nil {
		return nil, err
	}
	b2, err := G.Reshape(bias, tensor.Shape{1, bias.Shape().TotalSize()})
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(xw, b2, nil, []byte{0})
}

// crossEntropy is the mean over the batch of −Σ onehot·log softmax(logits).
func crossEntropy(logits, onehot *G.Node) (*G.Node, error) {
	ls, err := G.LogSoftMax(logits, 1)
	if err != nil {
		return nil, err
	}
	p, err := G.HadamardProd(ls, onehot)
	if err != nil {
		return nil, err
	}
	s, err := G.Sum(p)
	if err != nil {
		return nil, err
	}
	return G.Mul(s, scalar(logits.Dtype(), -1/float64(logits.Shape()[0])))
}

// liveNodes marks the cell nodes that reach the output (node 3).
func liveNodes(c nb201.Cell) [4]bool {
	var live [4]bool
	live[3] = true
	for i := 3; i >= 1; i-- {
		if !live[i] {
			continue
		}
		for j := 0; j < i; j++ {
			if c[edgeIndex(i, j)] != 0 { // not none
				live[j] = true
			}
		}
	}
	return live
}

// edgeIndex is the position of edge j→i in nb201.Cell (node-major:
// 1←0, 2←0, 2←1, 3←0, 3←1, 3←2).
func edgeIndex(i, j int) int { return i*(i-1)/2 + j }

// cell builds an NB201 inference cell with C channels.
func (b *builder) cell(x *G.Node, name string, cell nb201.Cell, C int) (*G.Node, error) {
	live := liveNodes(cell)
	nodes := [4]*G.Node{x}
	for i := 1; i <= 3; i++ {
		var sum *G.Node
		for j := 0; j < i; j++ {
			op := cell[edgeIndex(i, j)]
			// Dead targets are still counted in params/flops (the
			// benchmark's model holds them) but not computed.
			ename := fmt.Sprintf("%s.e%d%d", name, i, j)
			var y *G.Node
			var err error
			src := nodes[j]
			if !live[i] || src == nil {
				b.countDead(ename, op, C, x.Shape())
				continue
			}
			switch nb201.OpNames[op] {
			case "none":
				continue
			case "skip_connect":
				y = src
			case "nor_conv_1x1":
				y, err = b.reluConvBN(src, ename, C, C, 1, 1, 0)
			case "nor_conv_3x3":
				y, err = b.reluConvBN(src, ename, C, C, 3, 1, 1)
			case "avg_pool_3x3":
				y, err = b.avgPool(src, 3, 1, 1)
			default:
				return nil, fmt.Errorf("train: cell %s: unknown op %d", name, op)
			}
			if err != nil {
				return nil, err
			}
			if sum == nil {
				sum = y
			} else if sum, err = G.Add(sum, y); err != nil {
				return nil, err
			}
		}
		if sum == nil && live[i] {
			// Every incoming edge is none: the node is exactly zero.
			sh := x.Shape()
			sum = G.NewTensor(b.g, x.Dtype(), 4, G.WithShape(sh...), G.WithName(fmt.Sprintf("%s.zero%d", name, i)),
				G.WithValue(tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(sh...))))
		}
		nodes[i] = sum
	}
	return nodes[3], nil
}

// countDead creates the parameters of an edge whose output is unused, so
// params and flops match the benchmark's model, which holds and runs them.
func (b *builder) countDead(name string, op uint8, C int, sh tensor.Shape) {
	hw := float64(sh[2] * sh[3])
	switch nb201.OpNames[op] {
	case "nor_conv_1x1", "nor_conv_3x3":
		k := 1
		if nb201.OpNames[op] == "nor_conv_3x3" {
			k = 3
		}
		b.ps.get(name+".conv.w", []int{C, C, k, k}, b.uniform(1/math.Sqrt(float64(C*k*k))))
		b.ps.get(name+".bn.gamma", []int{C}, constInit(1))
		b.ps.get(name+".bn.beta", []int{C}, constInit(0))
		b.ps.bn(name+".bn", C)
		b.flops += float64(C*C*k*k) * hw
	}
}

// resBlock is NB201's ResNetBasicblock with stride 2.
func (b *builder) resBlock(x *G.Node, name string, cin, cout int) (*G.Node, error) {
	a, err := b.reluConvBN(x, name+".a", cin, cout, 3, 2, 1)
	if err != nil {
		return nil, err
	}
	bb, err := b.reluConvBN(a, name+".b", cout, cout, 3, 1, 1)
	if err != nil {
		return nil, err
	}
	p, err := b.avgPool(x, 2, 2, 0)
	if err != nil {
		return nil, err
	}
	d, err := b.conv(p, name+".down", cin, cout, 1, 1, 0)
	if err != nil {
		return nil, err
	}
	return G.Add(d, bb)
}

// model is one compiled graph: inputs, outputs and its machine.
type model struct {
	g                  *G.ExprGraph
	vm                 G.VM
	x, y, logits, loss *G.Node
	learn              []*G.Node // learnables with a gradient (train graphs)
	batch              int
	flops              float64
	// prepare, if set, runs before each training step with the step's
	// rng and the fraction of training done (DARTS drop-path masks).
	prepare func(rng *rand.Rand, frac float64)
}

// errDegenerate reports an architecture whose output does not depend on
// any weight before the classifier (every path is cut by none).
var errDegenerate = errors.New("train: architecture output is constant (every path is none)")

func buildModel(ps *params, spec netSpec, batch int, training, stock bool) (*model, error) {
	return rebuilt(func() (*model, error) { return buildModelOnce(ps, spec, batch, training, stock) })
}

func buildModelOnce(ps *params, spec netSpec, batch int, training, stock bool) (*model, error) {
	if spec.H%4 != 0 || spec.W%4 != 0 {
		// The residual blocks' 2×2 average-pool shortcut and stride-2 conv
		// disagree on odd sizes (as in NB201's PyTorch model).
		return nil, fmt.Errorf("train: build: input %dx%d: sides must be multiples of 4", spec.H, spec.W)
	}
	b := &builder{g: G.NewGraph(), ps: ps, training: training, stock: stock, bound: map[string]*G.Node{}}
	dt := ps.dt
	x := G.NewTensor(b.g, dt, 4, G.WithShape(batch, spec.InC, spec.H, spec.W), G.WithName("input"),
		G.WithValue(tensor.New(tensor.Of(dt), tensor.WithShape(batch, spec.InC, spec.H, spec.W))))
	y := G.NewMatrix(b.g, dt, G.WithShape(batch, spec.Class), G.WithName("onehot"),
		G.WithValue(tensor.New(tensor.Of(dt), tensor.WithShape(batch, spec.Class))))
	h, err := b.conv(x, "stem.conv", spec.InC, spec.C, 3, 1, 1)
	if err != nil {
		return nil, fmt.Errorf("train: build: %w", err)
	}
	if h, err = b.batchNorm(h, "stem.bn", spec.C); err != nil {
		return nil, fmt.Errorf("train: build: %w", err)
	}
	c := spec.C
	for stage := 0; stage < 3; stage++ {
		if stage > 0 {
			if h, err = b.resBlock(h, fmt.Sprintf("reduce%d", stage), c, 2*c); err != nil {
				return nil, fmt.Errorf("train: build: %w", err)
			}
			c *= 2
		}
		for i := 0; i < spec.N; i++ {
			if h, err = b.cell(h, fmt.Sprintf("s%d.c%d", stage, i), spec.Cell, c); err != nil {
				return nil, fmt.Errorf("train: build: %w", err)
			}
		}
	}
	if h, err = b.batchNorm(h, "last.bn", c); err != nil {
		return nil, fmt.Errorf("train: build: %w", err)
	}
	if h, err = G.Rectify(h); err != nil {
		return nil, fmt.Errorf("train: build: %w", err)
	}
	if h, err = b.gap(h); err != nil {
		return nil, fmt.Errorf("train: build: %w", err)
	}
	fw := b.param("fc.w", []int{c, spec.Class}, b.uniform(1/math.Sqrt(float64(c))))
	fb := b.param("fc.b", []int{spec.Class}, b.uniform(1/math.Sqrt(float64(c))))
	b.flops += float64(c*spec.Class + spec.Class)
	logits, err := linear(h, fw, fb)
	if err != nil {
		return nil, fmt.Errorf("train: build: %w", err)
	}
	loss, err := crossEntropy(logits, y)
	if err != nil {
		return nil, fmt.Errorf("train: build: %w", err)
	}
	m := &model{g: b.g, x: x, y: y, logits: logits, loss: loss, batch: batch, flops: b.flops}
	if training {
		if m.learn = learnables(b.g, loss, b.learn); len(m.learn) <= 2 {
			return nil, errDegenerate
		}
	}
	if m.vm, err = compile(b.g, loss, m.learn); err != nil {
		return nil, fmt.Errorf("train: build: %w", err)
	}
	return m, nil
}

// ancestors returns the ids of every node the root depends on.
func ancestors(g *G.ExprGraph, root *G.Node) map[int64]bool {
	seen := map[int64]bool{root.ID(): true}
	stack := []int64{root.ID()}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		it := g.From(id)
		for it.Next() {
			c := it.Node().ID()
			if !seen[c] {
				seen[c] = true
				stack = append(stack, c)
			}
		}
	}
	return seen
}

// sortedNames returns the parameter names in sorted order (checkpoints).
func (p *params) sortedNames() []string {
	s := append([]string(nil), p.names...)
	sort.Strings(s)
	return s
}
