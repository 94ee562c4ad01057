package darts

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Op ids in the order of DARTS' PRIMITIVES (the α column order).
const (
	None = iota
	MaxPool3x3
	AvgPool3x3
	SkipConnect
	SepConv3x3
	SepConv5x5
	DilConv3x3
	DilConv5x5
	NumOps
)

// OpNames are the op names as they appear in genotypes.
var OpNames = [NumOps]string{"none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
	"sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"}

// Cell shape: 2 inputs (c_{k-2}, c_{k-1}), NumNodes intermediate nodes,
// node i has i+2 candidate inputs, NumEdges edges in all, and a genotype
// keeps 2 (op, input) pairs per node.
const (
	NumInputs = 2
	NumNodes  = 4
	NumEdges  = 14
	NumPairs  = 2 * NumNodes
)

// EdgeOffset[i] is the index of node i's first incoming edge (from input 0):
// node 0 owns edges 0-1, node 1 edges 2-4, node 2 edges 5-8, node 3 9-13.
var EdgeOffset = [NumNodes]int{0, 2, 5, 9}

// Edge returns the edge index of input j (0, 1 = the cell inputs, 2.. =
// earlier nodes) into node i.
func Edge(node, input int) int { return EdgeOffset[node] + input }

// EdgeEnds returns the node and input of an edge index.
func EdgeEnds(e int) (node, input int) {
	for i := NumNodes - 1; i >= 0; i-- {
		if e >= EdgeOffset[i] {
			return i, e - EdgeOffset[i]
		}
	}
	panic(fmt.Sprintf("darts: edge %d out of range", e))
}

// ErrSyntax marks a genotype string that does not parse or is not a valid
// genotype of this space.
var ErrSyntax = errors.New("darts: invalid genotype")

// Pair is one kept edge: the op and the input (0..node+1) it reads.
type Pair struct {
	Op, Input uint8
}

// Cell holds the 2 pairs of each node in node order (pairs 2i, 2i+1 feed
// node i), as DARTS' genotype lists do.
type Cell [NumPairs]Pair

// Genotype is a normal and a reduction cell; both concatenate nodes 2..5
// (the only concat this space has).
type Genotype struct {
	Normal, Reduce Cell
}

// OpID returns the id of an op name, or -1.
func OpID(name string) int {
	for i, n := range OpNames {
		if n == name {
			return i
		}
	}
	return -1
}

// Valid reports whether every op is known and every input is one node i
// may read (i+2 choices).
func (c Cell) Valid() bool {
	for p, pr := range c {
		if pr.Op >= NumOps || int(pr.Input) >= p/2+NumInputs {
			return false
		}
	}
	return true
}

// Valid reports whether both cells are valid.
func (g Genotype) Valid() bool { return g.Normal.Valid() && g.Reduce.Valid() }

// Cells returns the normal and reduction cell, in that order.
func (g *Genotype) Cells() [2]*Cell { return [2]*Cell{&g.Normal, &g.Reduce} }

func (c Cell) format(b *strings.Builder) {
	b.WriteByte('[')
	for p, pr := range c {
		if p > 0 {
			b.WriteString(", ")
		}
		b.WriteString("('")
		b.WriteString(OpNames[pr.Op])
		b.WriteString("', ")
		b.WriteString(strconv.Itoa(int(pr.Input)))
		b.WriteByte(')')
	}
	b.WriteByte(']')
}

// String prints the genotype in the published form, e.g. DARTS_V2:
// Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5]).
func (g Genotype) String() string {
	var b strings.Builder
	b.Grow(560)
	b.WriteString("Genotype(normal=")
	g.Normal.format(&b)
	b.WriteString(", normal_concat=[2, 3, 4, 5], reduce=")
	g.Reduce.format(&b)
	b.WriteString(", reduce_concat=[2, 3, 4, 5])")
	return b.String()
}

// maxLen bounds a genotype string (a published one is about 500 bytes).
const maxLen = 4096

// Parse reads a genotype in the published form. Spaces and newlines are
// ignored, quotes may be ' or ", an optional "name = " prefix is skipped,
// and each concat may be [2, 3, 4, 5] or range(2, 6) (any other concat is
// not this space). Each cell needs 8 pairs whose inputs node i can read.
func Parse(s string) (Genotype, error) {
	var g Genotype
	if len(s) > maxLen {
		return g, fmt.Errorf("%w: %d-byte string starting %q, longer than any genotype", ErrSyntax, len(s), s[:32])
	}
	t := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		case '"':
			return '\''
		}
		return r
	}, s)
	if i := strings.Index(t, "Genotype("); i >= 0 {
		t = t[i+len("Genotype("):]
	} else {
		return g, fmt.Errorf("%w: %q: want Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)", ErrSyntax, s)
	}
	if !strings.HasSuffix(t, ")") {
		return g, fmt.Errorf("%w: %q: missing closing ')'", ErrSyntax, s)
	}
	t = t[:len(t)-1]
	seen := map[string]bool{}
	for t != "" {
		key, rest, ok := strings.Cut(t, "=")
		if !ok {
			return g, fmt.Errorf("%w: %q: field %q has no '='", ErrSyntax, s, t)
		}
		val, after, err := splitValue(rest)
		if err != nil {
			return g, fmt.Errorf("%w: %q: field %s: %v", ErrSyntax, s, key, err)
		}
		if seen[key] {
			return g, fmt.Errorf("%w: %q: field %s given twice", ErrSyntax, s, key)
		}
		seen[key] = true
		switch key {
		case "normal", "reduce":
			c, err := parseCell(val)
			if err != nil {
				return g, fmt.Errorf("%w: %q: %s: %v", ErrSyntax, s, key, err)
			}
			if key == "normal" {
				g.Normal = c
			} else {
				g.Reduce = c
			}
		case "normal_concat", "reduce_concat":
			if val != "[2,3,4,5]" && val != "range(2,6)" {
				return g, fmt.Errorf("%w: %q: %s=%s: this space concatenates nodes [2, 3, 4, 5]", ErrSyntax, s, key, val)
			}
		default:
			return g, fmt.Errorf("%w: %q: unknown field %q", ErrSyntax, s, key)
		}
		t = after
	}
	for _, k := range []string{"normal", "normal_concat", "reduce", "reduce_concat"} {
		if !seen[k] {
			return g, fmt.Errorf("%w: %q: missing field %s", ErrSyntax, s, k)
		}
	}
	return g, nil
}

// splitValue cuts one bracketed value ([...] or range(...)) off s and the
// comma after it.
func splitValue(s string) (val, rest string, err error) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
			if depth < 0 {
				return "", "", errors.New("unbalanced brackets")
			}
		case ',':
			if depth == 0 {
				return s[:i], s[i+1:], nil
			}
		}
	}
	if depth != 0 {
		return "", "", errors.New("unbalanced brackets")
	}
	return s, "", nil
}

// parseCell reads [('op',input),...] (whitespace already removed).
func parseCell(v string) (Cell, error) {
	var c Cell
	if len(v) < 2 || v[0] != '[' || v[len(v)-1] != ']' {
		return c, fmt.Errorf("%q is not a list", v)
	}
	body := v[1 : len(v)-1]
	n := 0
	for body != "" {
		if !strings.HasPrefix(body, "('") {
			return c, fmt.Errorf("pair %d: want ('op', input) at %q", n, body)
		}
		end := strings.IndexByte(body, ')')
		if end < 0 {
			return c, fmt.Errorf("pair %d: missing ')'", n)
		}
		op, in, ok := strings.Cut(body[2:end], "',")
		if !ok {
			return c, fmt.Errorf("pair %d: want ('op', input), got %q", n, body[:end+1])
		}
		id := OpID(op)
		if id < 0 {
			return c, fmt.Errorf("pair %d: unknown op %q (ops: %s)", n, op, strings.Join(OpNames[:], ", "))
		}
		x, err := strconv.Atoi(in)
		if n >= NumPairs {
			return c, fmt.Errorf("more than %d pairs", NumPairs)
		}
		if err != nil || x < 0 || x >= n/2+NumInputs {
			return c, fmt.Errorf("pair %d (node %d): input %q, want 0..%d", n, n/2, in, n/2+NumInputs-1)
		}
		c[n] = Pair{Op: uint8(id), Input: uint8(x)}
		n++
		body = body[end+1:]
		if body != "" {
			if body[0] != ',' {
				return c, fmt.Errorf("pair %d: want ',' after it, got %q", n-1, body)
			}
			body = body[1:]
		}
	}
	if n != NumPairs {
		return c, fmt.Errorf("%d pairs, want %d (2 per node)", n, NumPairs)
	}
	return c, nil
}

// Canonical returns the cell with each node's two pairs in (input, op)
// order: nodes sum their inputs, so cells with equal canonical forms
// compute the same function.
func (c Cell) Canonical() Cell {
	for i := 0; i < NumNodes; i++ {
		a, b := c[2*i], c[2*i+1]
		if b.Input < a.Input || (b.Input == a.Input && b.Op < a.Op) {
			c[2*i], c[2*i+1] = b, a
		}
	}
	return c
}

// Canonical returns the genotype with both cells canonical.
func (g Genotype) Canonical() Genotype {
	return Genotype{Normal: g.Normal.Canonical(), Reduce: g.Reduce.Canonical()}
}

// Searchable reports whether the cell is in the space that random sampling,
// mutation and Code cover: no none op, and each node's two inputs distinct
// (what DARTS' argmax always yields).
func (c Cell) Searchable() bool {
	if !c.Valid() {
		return false
	}
	for i := 0; i < NumNodes; i++ {
		if c[2*i].Input == c[2*i+1].Input || c[2*i].Op == None || c[2*i+1].Op == None {
			return false
		}
	}
	return true
}

// Searchable reports whether both cells are searchable.
func (g Genotype) Searchable() bool { return g.Normal.Searchable() && g.Reduce.Searchable() }

// cellCodes is the number of searchable canonical cells: per node i,
// C(i+2, 2) input pairs × 7² ops (49·147·294·490).
const cellCodes = 49 * 147 * 294 * 490

// NumGenotypes is the number of searchable canonical genotypes (≈ 1.08e18).
const NumGenotypes uint64 = cellCodes * cellCodes

func (c Cell) code() uint64 {
	c = c.Canonical()
	var x uint64
	for i := NumNodes - 1; i >= 0; i-- {
		a, b := int(c[2*i].Input), int(c[2*i+1].Input)
		pairIdx := b*(b-1)/2 + a // a < b
		npairs := (i + 2) * (i + 1) / 2
		x = x*uint64(npairs) + uint64(pairIdx)
		x = x*49 + uint64((int(c[2*i].Op)-1)*7+int(c[2*i+1].Op)-1)
	}
	return x
}

func cellFromCode(x uint64) Cell {
	var c Cell
	for i := 0; i < NumNodes; i++ {
		ops := int(x % 49)
		x /= 49
		npairs := uint64((i + 2) * (i + 1) / 2)
		pairIdx := int(x % npairs)
		x /= npairs
		b := 1
		for (b+1)*b/2 <= pairIdx {
			b++
		}
		a := pairIdx - b*(b-1)/2
		c[2*i] = Pair{Op: uint8(ops/7 + 1), Input: uint8(a)}
		c[2*i+1] = Pair{Op: uint8(ops%7 + 1), Input: uint8(b)}
	}
	return c
}

// Code returns a dense code in [0, NumGenotypes) of a searchable genotype
// (equal for equal canonical forms); ok is false for others.
func (g Genotype) Code() (code uint64, ok bool) {
	if !g.Searchable() {
		return 0, false
	}
	return g.Normal.code()*cellCodes + g.Reduce.code(), true
}

// FromCode is the inverse of Code (canonical form). It panics on an
// out-of-range code.
func FromCode(x uint64) Genotype {
	if x >= NumGenotypes {
		panic(fmt.Sprintf("darts: code %d out of range", x))
	}
	return Genotype{Normal: cellFromCode(x / cellCodes), Reduce: cellFromCode(x % cellCodes)}
}

// Random returns a uniformly random searchable genotype: per node two
// distinct inputs and a non-none op on each (the random baseline of Li &
// Talwalkar and Yang et al.), in canonical form.
func Random(rng *rand.Rand) Genotype { return FromCode(rng.Uint64N(NumGenotypes)) }

// Neighbours appends to dst[:0] every searchable genotype one mutation away
// from g (one pair's op changed to another non-none op, or its input changed
// to another input that its partner does not read), in canonical form, and
// returns it. A searchable g has 120 neighbours.
func (g Genotype) Neighbours(dst []Genotype) []Genotype {
	dst = dst[:0]
	for ci := 0; ci < 2; ci++ {
		for p := 0; p < NumPairs; p++ {
			node := p / 2
			partner := p ^ 1
			for op := uint8(1); op < NumOps; op++ {
				n := g
				c := n.Cells()[ci]
				if c[p].Op == op {
					continue
				}
				c[p].Op = op
				dst = append(dst, n.Canonical())
			}
			for in := uint8(0); int(in) < node+NumInputs; in++ {
				n := g
				c := n.Cells()[ci]
				if c[p].Input == in || c[partner].Input == in {
					continue
				}
				c[p].Input = in
				dst = append(dst, n.Canonical())
			}
		}
	}
	return dst
}

// Mutate returns a uniformly random neighbour of g (see Neighbours).
func (g Genotype) Mutate(rng *rand.Rand) Genotype {
	var buf [2 * (NumPairs*(NumOps-1) + 6*2)]Genotype
	nb := g.Neighbours(buf[:0])
	return nb[rng.IntN(len(nb))]
}

// Dim is the width of the one-hot encoding: 2 cells × 14 edges × 8 ops.
const Dim = 2 * NumEdges * NumOps

// OneHot writes the encoding into dst[:Dim]: for each cell (normal first),
// each edge and each op, the number of kept pairs with that op on that edge
// (0 or 1 for a searchable genotype). Edges no pair keeps stay all zero.
func (g Genotype) OneHot(dst []float64) {
	if len(dst) < Dim {
		panic("darts: OneHot dst too short")
	}
	clear(dst[:Dim])
	for ci, c := range [2]Cell{g.Normal, g.Reduce} {
		for p, pr := range c {
			dst[ci*NumEdges*NumOps+Edge(p/2, int(pr.Input))*NumOps+int(pr.Op)]++
		}
	}
}

// Published genotypes (quark0/darts cnn/genotypes.py; ruocwang/darts-pt
// sota/cnn/genotypes.py).
const (
	DARTSV1    = "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])"
	DARTSV2    = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
	DARTSPTS50 = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('dil_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 2), ('skip_connect', 0), ('max_pool_3x3', 4)], normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), ('avg_pool_3x3', 1), ('dil_conv_5x5', 1), ('dil_conv_3x3', 2), ('avg_pool_3x3', 0), ('max_pool_3x3', 2), ('sep_conv_3x3', 2), ('skip_connect', 4)], reduce_concat=range(2, 6))"
)

// MustParse is Parse for constants; it panics on an error.
func MustParse(s string) Genotype {
	g, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return g
}
