package train

// DARTS networks (quark0/darts cnn/model_search.py, model.py): the search
// supernet (mixed ops on all 14 edges of every cell) and the evaluation
// network of a genotype (auxiliary head and drop-path as flags), built on
// the part-1 builder and params so checkpoints, optimizers and Run serve
// both.

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/darts"
)

// dartsSpec describes a DARTS network.
type dartsSpec struct {
	Geno             *darts.Genotype // nil: the supernet
	C, Layers        int
	InC, H, W, Class int
	AuxWeight        float64 // evaluation net: auxiliary head loss weight (0 = no head)
	DropPath         float64 // evaluation net: maximum drop-path probability (0 = off)
}

// reductionAt reports whether cell i of n is a reduction cell (i = n/3 and
// 2n/3, as DARTS; for n < 3 only the distinct positions).
func reductionAt(i, n int) bool { return i == n/3 || i == 2*n/3 }

// mixInputs are the fixed (14,8) inputs M (mask) and P (projection) of the
// normal and reduction cells' projected weights W = softmax(α)⊙M + P,
// shared by every graph of one supernet.
type mixInputs struct {
	M, P [2]*tensor.Dense
}

func newMixInputs(dt tensor.Dtype) *mixInputs {
	m := &mixInputs{}
	for ct := range 2 {
		m.M[ct] = tensor.New(tensor.Of(dt), tensor.WithShape(darts.NumEdges, darts.NumOps))
		m.P[ct] = tensor.New(tensor.Of(dt), tensor.WithShape(darts.NumEdges, darts.NumOps))
	}
	m.reset()
	return m
}

// reset sets M to ones and P to zeros (W = softmax(α)).
func (m *mixInputs) reset() {
	for ct := range 2 {
		for e := range darts.NumEdges {
			for k := range darts.NumOps {
				m.set(ct, e, k, 1, 0)
			}
		}
	}
}

func (m *mixInputs) set(ct, e, k int, mv, pv float64) {
	i := e*darts.NumOps + k
	switch d := m.M[ct].Data().(type) {
	case []float32:
		d[i] = float32(mv)
		m.P[ct].Data().([]float32)[i] = float32(pv)
	case []float64:
		d[i] = mv
		m.P[ct].Data().([]float64)[i] = pv
	}
}

func (m *mixInputs) get(ct, e, k int) (mv, pv float64) {
	i := e*darts.NumOps + k
	switch d := m.M[ct].Data().(type) {
	case []float32:
		return float64(d[i]), float64(m.P[ct].Data().([]float32)[i])
	case []float64:
		return d[i], m.P[ct].Data().([]float64)[i]
	}
	return 0, 0
}

// cell builds one DARTS cell on inputs s0 (c_{k-2}, cpp channels) and s1
// (c_{k-1}, cp channels) with c channels per node; the output has 4c.
func (d *dartsBuilder) cell(s0, s1 *G.Node, name string, geno *darts.Genotype, cpp, cp, c int, red, redPrev bool) (*G.Node, error) {
	var err error
	if redPrev {
		s0, err = d.factorizedReduce(s0, name+".pre0", cpp, c)
	} else {
		s0, err = d.reluConvBN(s0, name+".pre0", cpp, c, 1, 1, 0)
	}
	if err != nil {
		return nil, err
	}
	if s1, err = d.reluConvBN(s1, name+".pre1", cp, c, 1, 1, 0); err != nil {
		return nil, err
	}
	ct := 0
	if red {
		ct = 1
	}
	states := []*G.Node{s0, s1}
	for i := range darts.NumNodes {
		var sum *G.Node
		add := func(y *G.Node) error {
			if sum == nil {
				sum = y
				return nil
			}
			sum, err = G.Add(sum, y)
			return err
		}
		if geno == nil {
			for j := 0; j < i+darts.NumInputs; j++ {
				s := 1
				if red && j < darts.NumInputs {
					s = 2
				}
				y, err := d.mixed(states[j], fmt.Sprintf("%s.e%d", name, darts.Edge(i, j)), ct, darts.Edge(i, j), c, s)
				if err != nil {
					return nil, err
				}
				if err := add(y); err != nil {
					return nil, err
				}
			}
		} else {
			cellG := geno.Cells()[ct]
			for p := 2 * i; p < 2*i+2; p++ {
				pr := cellG[p]
				s := 1
				if red && pr.Input < darts.NumInputs {
					s = 2
				}
				y, identity, err := d.op(states[pr.Input], fmt.Sprintf("%s.p%d", name, p), int(pr.Op), c, s)
				if err != nil {
					return nil, err
				}
				if d.training && !identity && d.mixW[0] == nil && d.dropOn {
					if y, err = d.dropPath(y, fmt.Sprintf("%s.p%d", name, p)); err != nil {
						return nil, err
					}
				}
				if err := add(y); err != nil {
					return nil, err
				}
			}
		}
		states = append(states, sum)
	}
	return G.Concat(1, states[darts.NumInputs:]...)
}

// auxHead is DARTS' AuxiliaryHeadCIFAR: ReLU → AvgPool 5 s3 (no padding) →
// conv1×1 128 → BN → ReLU → conv2×2 768 → BN → ReLU → Linear. On maps
// smaller than 5×5 (inputs under 20² with two reductions) the pool covers the
// whole map and the second conv is 1×1 (a documented proxy deviation).
func (d *dartsBuilder) auxHead(x *G.Node, cin, classes int) (*G.Node, error) {
	r, err := G.Rectify(x)
	if err != nil {
		return nil, err
	}
	h := x.Shape()[2]
	k := min(5, h)
	if r, err = d.avgPool(r, k, 3, 0); err != nil {
		return nil, err
	}
	if r, err = d.conv(r, "aux.c1", cin, 128, 1, 1, 0); err != nil {
		return nil, err
	}
	if r, err = d.batchNorm(r, "aux.bn1", 128); err != nil {
		return nil, err
	}
	if r, err = G.Rectify(r); err != nil {
		return nil, err
	}
	k2 := min(2, r.Shape()[2])
	if r, err = d.conv(r, "aux.c2", 128, 768, k2, 1, 0); err != nil {
		return nil, err
	}
	if r, err = d.batchNorm(r, "aux.bn2", 768); err != nil {
		return nil, err
	}
	if r, err = G.Rectify(r); err != nil {
		return nil, err
	}
	if r, err = d.gap(r); err != nil {
		return nil, err
	}
	fw := d.param("aux.fc.w", []int{768, classes}, d.uniform(1/math.Sqrt(768)))
	fb := d.param("aux.fc.b", []int{classes}, d.uniform(1/math.Sqrt(768)))
	return linear(r, fw, fb)
}

// buildDARTS builds a DARTS network over ps: the supernet when spec.Geno is
// nil (mix binds its M, P inputs), else the genotype's evaluation network.
// grad adds the backward pass (training graphs); training selects batch
// statistics in BN (also for DARTS-PT's forward-only probes).
func buildDARTS(ps *params, spec dartsSpec, mix *mixInputs, batch int, training, grad, stock bool) (*model, error) {
	return rebuilt(func() (*model, error) { return buildDARTSOnce(ps, spec, mix, batch, training, grad, stock) })
}

func buildDARTSOnce(ps *params, spec dartsSpec, mix *mixInputs, batch int, training, grad, stock bool) (*model, error) {
	if spec.C < 2 || spec.C%2 != 0 || spec.Layers < 1 {
		return nil, fmt.Errorf("%w: darts: C %d (even, >= 2), layers %d", ErrConfig, spec.C, spec.Layers)
	}
	if spec.H < 4 || spec.W < 4 {
		return nil, fmt.Errorf("%w: darts: input %dx%d, want at least 4x4", ErrConfig, spec.H, spec.W)
	}
	b := &builder{g: G.NewGraph(), ps: ps, training: training, stock: stock, bound: map[string]*G.Node{}}
	d := &dartsBuilder{builder: b, search: spec.Geno == nil, dropOn: spec.DropPath > 0}
	dt := ps.dt
	x := G.NewTensor(b.g, dt, 4, G.WithShape(batch, spec.InC, spec.H, spec.W), G.WithName("input"),
		G.WithValue(tensor.New(tensor.Of(dt), tensor.WithShape(batch, spec.InC, spec.H, spec.W))))
	y := G.NewMatrix(b.g, dt, G.WithShape(batch, spec.Class), G.WithName("onehot"),
		G.WithValue(tensor.New(tensor.Of(dt), tensor.WithShape(batch, spec.Class))))
	fail := func(err error) (*model, error) { return nil, fmt.Errorf("train: build darts: %w", err) }
	if spec.Geno == nil {
		for ct := range 2 {
			w, err := d.mixWeights(ct, mix.M[ct], mix.P[ct])
			if err != nil {
				return fail(err)
			}
			d.mixW[ct] = w
		}
	}
	cs := 3 * spec.C
	stem, err := b.conv(x, "stem.conv", spec.InC, cs, 3, 1, 1)
	if err != nil {
		return fail(err)
	}
	if stem, err = b.batchNorm(stem, "stem.bn", cs); err != nil {
		return fail(err)
	}
	s0, s1 := stem, stem
	cpp, cp, c := cs, cs, spec.C
	redPrev := false
	var aux *G.Node
	for i := range spec.Layers {
		red := reductionAt(i, spec.Layers)
		if red {
			c *= 2
		}
		out, err := d.cell(s0, s1, fmt.Sprintf("c%d", i), spec.Geno, cpp, cp, c, red, redPrev)
		if err != nil {
			return fail(err)
		}
		s0, s1 = s1, out
		cpp, cp = cp, 4*c
		redPrev = red
		if i == 2*spec.Layers/3 && spec.AuxWeight > 0 && training && grad {
			if aux, err = d.auxHead(out, cp, spec.Class); err != nil {
				return fail(err)
			}
		}
	}
	h, err := b.gap(s1)
	if err != nil {
		return fail(err)
	}
	fw := b.param("fc.w", []int{cp, spec.Class}, b.uniform(1/math.Sqrt(float64(cp))))
	fb := b.param("fc.b", []int{spec.Class}, b.uniform(1/math.Sqrt(float64(cp))))
	b.flops += float64(cp*spec.Class + spec.Class)
	logits, err := linear(h, fw, fb)
	if err != nil {
		return fail(err)
	}
	loss, err := crossEntropy(logits, y)
	if err != nil {
		return fail(err)
	}
	if aux != nil {
		al, err := crossEntropy(aux, y)
		if err != nil {
			return fail(err)
		}
		if al, err = G.Mul(al, scalar(dt, spec.AuxWeight)); err != nil {
			return fail(err)
		}
		if loss, err = G.Add(loss, al); err != nil {
			return fail(err)
		}
	}
	m := &model{g: b.g, x: x, y: y, logits: logits, loss: loss, batch: batch, flops: b.flops}
	if len(d.keep) > 0 {
		keep := d.keep
		maxDrop := spec.DropPath
		m.prepare = func(rng *rand.Rand, frac float64) {
			fillDropPath(keep, 1-maxDrop*frac, rng)
		}
	}
	if grad {
		m.learn = learnables(b.g, loss, b.learn)
	}
	if m.vm, err = compile(b.g, loss, m.learn); err != nil {
		return fail(err)
	}
	return m, nil
}

// fillDropPath draws every drop-path mask: Bernoulli(keep)/keep per sample
// (DARTS' drop_path; the probability grows as 0.2·epoch/epochs).
func fillDropPath(masks []*tensor.Dense, keep float64, rng *rand.Rand) {
	for _, t := range masks {
		switch d := t.Data().(type) {
		case []float32:
			for i := range d {
				d[i] = 0
				if rng.Float64() < keep {
					d[i] = float32(1 / keep)
				}
			}
		case []float64:
			for i := range d {
				d[i] = 0
				if rng.Float64() < keep {
					d[i] = 1 / keep
				}
			}
		}
	}
}
