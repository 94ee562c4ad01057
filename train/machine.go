package train

// Compiling graphs into tape machines. gorgonia's compiler numbers values
// by Node.Hashcode alone (gorgonia v0.9.18 analysis.go, dataflow.vn:
// uniques[n.Hashcode()], no equality check): two distinct nodes whose
// 32-bit hashes collide are compiled as one, and the consumers of the later
// read the earlier's value: a wrong value of the same shape, or a type or
// shape error at run time (the shape-(1) value in a scalar Add that a
// resumed Single-Path NAS search met once in CI; machine_test.go makes the
// supernet's first decision collide with a (1) threshold). A
// node's hash covers the ids of the custom ops below it (opSeq, a process
// counter), so whether a build collides depends on how many ops the process
// made before it (the tests run before, -run, -short, -count): with n
// nodes about n²/2 pairs over 2³² hashes, one build in 500 of the
// MobileNetV2 supernet's 4,000-node training graph. newMachine refuses such
// a graph, and rebuilt builds it again with fresh op ids.

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// errHashCollision reports a graph in which two distinct nodes share a
// hash (gorgonia would compile them as one).
var errHashCollision = errors.New("train: graph: two nodes share a hash")

// hashCollision returns errHashCollision, naming the nodes, if two nodes of
// g share a Hashcode. (Equal expressions are one node already: ExprGraph
// returns the existing node for a new one of the same hash.)
func hashCollision(g *G.ExprGraph) error {
	all := g.AllNodes()
	seen := make(map[uint32]*G.Node, len(all))
	for _, n := range all {
		h := n.Hashcode()
		if o, ok := seen[h]; ok {
			return fmt.Errorf("%w: %v %v %v and %v %v %v (hash %#x)", errHashCollision,
				o.Name(), o.Type(), o.Shape(), n.Name(), n.Type(), n.Shape(), h)
		}
		seen[h] = n
	}
	return nil
}

// learnables returns the parameters among params that loss depends on.
func learnables(g *G.ExprGraph, loss *G.Node, params []*G.Node) []*G.Node {
	reach := ancestors(g, loss)
	var learn []*G.Node
	for _, n := range params {
		if reach[n.ID()] {
			learn = append(learn, n)
		}
	}
	return learn
}

// compile adds the gradients of loss with respect to learn (none: a
// forward graph) and returns g's machine.
func compile(g *G.ExprGraph, loss *G.Node, learn []*G.Node) (G.VM, error) {
	if len(learn) > 0 {
		if _, err := G.Grad(loss, learn...); err != nil {
			return nil, fmt.Errorf("gradients: %w", err)
		}
	}
	return newMachine(g, learn)
}

// newMachine compiles g, binding dual values (gradients) to learn if any.
func newMachine(g *G.ExprGraph, learn []*G.Node) (G.VM, error) {
	if err := hashCollision(g); err != nil {
		return nil, err
	}
	if len(learn) > 0 {
		return G.NewTapeMachine(g, G.BindDualValues(learn...)), nil
	}
	return G.NewTapeMachine(g), nil
}

// rebuildTries bounds the builds of one graph. A rebuild gives every custom
// op a fresh id, so a collision involving one recurs with odds as small;
// one between nodes without custom ops below them recurs always, and the
// last error is returned.
const rebuildTries = 4

// rebuilt calls build until its graph compiles without a hash collision.
// build must be repeatable: the builders take parameters by name from
// their params, so a rebuild draws no new initial weights.
func rebuilt[M any](build func() (M, error)) (M, error) {
	for try := 1; ; try++ {
		m, err := build()
		if !errors.Is(err, errHashCollision) || try == rebuildTries {
			return m, err
		}
	}
}

// takeGrads points each ps[i].Grad at nodes[i]'s gradient (after a pass).
func takeGrads(ps []Param, nodes []*G.Node) error {
	for i, n := range nodes {
		g, err := n.Grad()
		if err != nil {
			return fmt.Errorf("train: %s: %w", n.Name(), err)
		}
		ps[i].Grad = g.(*tensor.Dense)
	}
	return nil
}
