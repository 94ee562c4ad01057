package nb201

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Op ids, in the order of the official str2matrix (api_201.py).
const (
	None = iota
	SkipConnect
	Conv1x1
	Conv3x3
	AvgPool3x3
	NumOps
)

// NumEdges is the number of edges of a cell; NumCells the size of the space.
const (
	NumEdges = 6
	NumCells = 15625
)

// OpNames are the operation names as they appear in arch strings.
var OpNames = [NumOps]string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}

// EdgeSrc and EdgeDst give the endpoints of each edge position.
var (
	EdgeSrc = [NumEdges]int{0, 0, 1, 0, 1, 2}
	EdgeDst = [NumEdges]int{1, 2, 2, 3, 3, 3}
)

// ErrSyntax marks an arch string that does not parse.
var ErrSyntax = errors.New("nb201: invalid arch string")

// Cell is one architecture: the op id on each edge, in edge order.
type Cell [NumEdges]uint8

// OpID returns the id of an op name, or -1.
func OpID(name string) int {
	for i, n := range OpNames {
		if n == name {
			return i
		}
	}
	return -1
}

// maxLen bounds an arch string (the longest cell string is 97 bytes).
const maxLen = 256

// Parse reads an arch string such as
// |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|.
// Node groups must list their inputs in order 0, 1, 2 as every benchmark file does.
func Parse(s string) (Cell, error) {
	var c Cell
	if len(s) > maxLen {
		// Longer than any cell: refuse without echoing it.
		return c, fmt.Errorf("%w: %d-byte string starting %q, longer than any cell", ErrSyntax, len(s), s[:32])
	}
	groups := strings.Split(s, "+")
	if len(groups) != 3 {
		return c, fmt.Errorf("%w: %q: want 3 node groups separated by '+', got %d", ErrSyntax, s, len(groups))
	}
	e := 0
	for node, g := range groups {
		if len(g) < 2 || g[0] != '|' || g[len(g)-1] != '|' {
			return c, fmt.Errorf("%w: %q: node %d group %q must start and end with '|'", ErrSyntax, s, node+1, g)
		}
		items := strings.Split(g[1:len(g)-1], "|")
		if len(items) != node+1 {
			return c, fmt.Errorf("%w: %q: node %d has %d inputs, want %d", ErrSyntax, s, node+1, len(items), node+1)
		}
		for src, it := range items {
			op, from, ok := strings.Cut(it, "~")
			if !ok || len(from) != 1 || int(from[0]-'0') != src {
				return c, fmt.Errorf("%w: %q: node %d input %q, want op~%d", ErrSyntax, s, node+1, it, src)
			}
			id := OpID(op)
			if id < 0 {
				return c, fmt.Errorf("%w: %q: unknown op %q", ErrSyntax, s, op)
			}
			c[e] = uint8(id)
			e++
		}
	}
	return c, nil
}

// String formats the cell as an arch string.
func (c Cell) String() string {
	var b strings.Builder
	b.Grow(96)
	for e := 0; e < NumEdges; e++ {
		if e == 1 || e == 3 {
			b.WriteByte('+')
		}
		if e == 0 || e == 1 || e == 3 {
			b.WriteByte('|')
		}
		b.WriteString(OpNames[c[e]])
		b.WriteByte('~')
		b.WriteByte(byte('0' + EdgeSrc[e]))
		b.WriteByte('|')
	}
	return b.String()
}

// Code returns the base-5 code of the cell (edge 0 most significant), in [0, NumCells).
func (c Cell) Code() int {
	x := 0
	for _, op := range c {
		x = x*NumOps + int(op)
	}
	return x
}

// FromCode is the inverse of Code. It panics on an out-of-range code.
func FromCode(x int) Cell {
	if x < 0 || x >= NumCells {
		panic(fmt.Sprintf("nb201: code %d out of range", x))
	}
	var c Cell
	for e := NumEdges - 1; e >= 0; e-- {
		c[e] = uint8(x % NumOps)
		x /= NumOps
	}
	return c
}

// Valid reports whether every op id is in range.
func (c Cell) Valid() bool {
	for _, op := range c {
		if op >= NumOps {
			return false
		}
	}
	return true
}

// UniqueStr returns NATS-Bench's Structure.to_unique_str(consider_zero=True):
// equal strings mean isomorphic cells (none and skip_connect understood).
func (c Cell) UniqueStr() string {
	var nodes [4]string
	nodes[0] = "0"
	e := 0
	var cur [3]string
	for node := 1; node <= 3; node++ {
		for src := 0; src < node; src++ {
			op := c[e]
			e++
			var x string
			switch {
			case op == None || nodes[src] == "#":
				x = "#"
			case op == SkipConnect:
				x = nodes[src]
			default:
				x = "(" + nodes[src] + ")@" + OpNames[op]
			}
			cur[src] = x
		}
		parts := cur[:node]
		sort.Strings(parts)
		nodes[node] = strings.Join(parts, "+")
	}
	return nodes[3]
}

// Neighbours writes into dst the codes of the 24 cells that differ from c on
// exactly one edge, in edge then op order, and returns dst[:24].
func (c Cell) Neighbours(dst []int) []int {
	dst = dst[:0]
	for e := 0; e < NumEdges; e++ {
		for op := uint8(0); op < NumOps; op++ {
			if op == c[e] {
				continue
			}
			n := c
			n[e] = op
			dst = append(dst, n.Code())
		}
	}
	return dst
}

// OneHot writes the 30-dim one-hot encoding (edge-major, 5 ops per edge) into dst.
func (c Cell) OneHot(dst []float64) {
	if len(dst) < NumEdges*NumOps {
		panic("nb201: OneHot dst too short")
	}
	clear(dst[:NumEdges*NumOps])
	for e, op := range c {
		dst[e*NumOps+int(op)] = 1
	}
}
