package train

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestMachineRefusesHashCollision: gorgonia compiles two distinct nodes of
// one hash as one node (here a scalar and a (1)-vector input whose names
// were chosen to collide, so the scalar's Add reads the vector); newMachine
// refuses the graph instead.
func TestMachineRefusesHashCollision(t *testing.T) {
	build := func() (*G.ExprGraph, *G.Node) {
		g := G.NewGraph()
		s := G.NewScalar(g, tensor.Float32, G.WithName("s5349"), G.WithValue(G.NewF32(2)))
		v := G.NewVector(g, tensor.Float32, G.WithShape(1), G.WithName("v591700"),
			G.WithValue(tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{5}))))
		if s.Hashcode() != v.Hashcode() {
			t.Fatalf("the inputs no longer collide: %#x, %#x", s.Hashcode(), v.Hashcode())
		}
		one := G.NewScalar(g, tensor.Float32, G.WithName("one"), G.WithValue(G.NewF32(1)))
		a := G.Must(G.Add(s, one))
		return g, G.Must(G.Add(a, G.Must(G.Sum(v))))
	}
	g, out := build()
	vm := G.NewTapeMachine(g)
	err := vm.RunAll()
	vm.Close()
	if err == nil && scalarValue(out.Value()) == 8 {
		t.Fatalf("gorgonia computed 2+1+5 = 8 despite the collision; the workaround may be dropped")
	}
	t.Logf("gorgonia with the collision: %v, %v", out.Value(), err)
	g, _ = build()
	if _, err := newMachine(g, nil); !errors.Is(err, errHashCollision) {
		t.Fatalf("newMachine: %v, want errHashCollision", err)
	}
}

// TestSupernetHashCollisionRebuilt: the process op counter is set so that
// the training supernet's first Indicator node (a custom op, hashed with its
// id) collides with an input node, the condition under which a resumed
// search once failed in CI. buildMBV2 builds it again, and one training step
// gives exactly the loss and gradients of a build without a collision.
func TestSupernetHashCollisionRebuilt(t *testing.T) {
	lt := testLatencyTable(rand.New(rand.NewPCG(8, 8)))
	spec := mbSpec{Macro: tinyMacro, InC: 1, H: 12, W: 12, Class: 3, Latency: lt}
	const B = 2
	seed := func() *params { return newParams(tensor.Float32, rand.New(rand.NewPCG(5, 5))) }

	// Find the first Indicator's id relative to the counter, and the hashes
	// of the inputs (which no op id reaches).
	base := opSeq.Load()
	probe, err := buildMBV2Once(seed(), spec, B, true)
	if err != nil {
		t.Fatal(err)
	}
	probe.vm.Close()
	children := func(n *G.Node) []*G.Node {
		var c []*G.Node
		for it := probe.g.From(n.ID()); it.Next(); {
			c = append(c, it.Node().(*G.Node))
		}
		return c
	}
	ind := children(probe.layers[0].d5)[0] // d5 = Indicator(n5 − t5)·drop
	op, ok := ind.Op().(*indicatorOp)
	if !ok {
		t.Fatalf("d5's first child is %v, not an Indicator", ind.Op())
	}
	k := op.id - base
	prefix := fmt.Sprintf("%v%v%v#", ind.Type(), ind.Shape(), op)
	var tail [5]byte
	tail[0] = 1 // one child, then its hash
	binary.LittleEndian.PutUint32(tail[1:], children(ind)[0].Hashcode())
	hashAt := func(id int64) uint32 {
		h := fnv.New32a()
		h.Write([]byte(prefix))
		h.Write(strconv.AppendInt(nil, id, 10))
		h.Write(tail[:])
		return h.Sum32()
	}
	if hashAt(op.id) != ind.Hashcode() {
		t.Fatalf("gorgonia's node hash changed form: %#x, computed %#x", ind.Hashcode(), hashAt(op.id))
	}
	inputs := map[uint32]*G.Node{}
	for _, n := range probe.g.Inputs() {
		inputs[n.Hashcode()] = n
	}
	const fnvOffset, fnvPrime = 2166136261, 16777619
	pre := uint32(fnvOffset)
	for _, c := range []byte(prefix) {
		pre = (pre ^ uint32(c)) * fnvPrime
	}
	var id int64
	var target *G.Node
	digits := make([]byte, 0, 20)
	for id = base + k + 1; target == nil; id++ {
		h := pre
		for _, c := range strconv.AppendInt(digits[:0], id, 10) {
			h = (h ^ uint32(c)) * fnvPrime
		}
		for _, c := range tail {
			h = (h ^ uint32(c)) * fnvPrime
		}
		target = inputs[h]
	}
	id--
	t.Logf("Indicator id %d collides with input %s %v %v", id, target.Name(), target.Type(), target.Shape())

	opSeq.Store(id - k)
	if _, err := buildMBV2Once(seed(), spec, B, true); !errors.Is(err, errHashCollision) {
		t.Fatalf("build at the colliding counter: %v, want errHashCollision", err)
	}
	step := func(m *mbModel) (float64, map[string][]float32) {
		t.Helper()
		defer m.vm.Close()
		rng := rand.New(rand.NewPCG(6, 6))
		for i, x := 0, m.x.Value().Data().([]float32); i < len(x); i++ {
			x[i] = float32(rng.NormFloat64())
		}
		y := m.y.Value().Data().([]float32)
		for i := 0; i < B; i++ {
			y[i*spec.Class+i%spec.Class] = 1
		}
		if err := m.setLambda(0.5); err != nil {
			t.Fatal(err)
		}
		if err := m.vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		grads := map[string][]float32{}
		for _, n := range m.learn {
			g, err := n.Grad()
			if err != nil {
				t.Fatal(err)
			}
			grads[n.Name()] = append([]float32(nil), g.Data().([]float32)...)
		}
		return scalarValue(m.loss.Value()), grads
	}
	opSeq.Store(id - k)
	m, err := buildMBV2(seed(), spec, B, true)
	if err != nil {
		t.Fatal(err)
	}
	loss, grads := step(m)
	ref, err := buildMBV2(seed(), spec, B, true)
	if err != nil {
		t.Fatal(err)
	}
	wantLoss, wantGrads := step(ref)
	if loss != wantLoss || len(grads) != len(wantGrads) {
		t.Fatalf("loss %v with %d gradients, want %v with %d", loss, len(grads), wantLoss, len(wantGrads))
	}
	for name, want := range wantGrads {
		got := grads[name]
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("gradient %s[%d] = %v, want %v", name, i, got[i], want[i])
			}
		}
	}
}
