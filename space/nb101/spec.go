package nb101

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// Space limits (nasbench/lib/config.py).
const (
	MaxVertices = 7 // module_vertices
	MaxEdges    = 9 // max_edges
	// NumCells is the number of computationally unique cells (README).
	NumCells = 423624
)

// Op is a vertex operation. The inner ops use the official label order of
// config.py available_ops (conv3x3-bn-relu = 0, conv1x1-bn-relu = 1,
// maxpool3x3 = 2), the label fed to the module hash.
type Op uint8

// Operations.
const (
	Conv3x3 Op = iota
	Conv1x1
	MaxPool3x3
	Input
	Output
	NumInnerOps = 3
	opUnknown   = Op(255)
)

// Op names as they appear in the benchmark files.
const (
	NameConv3x3    = "conv3x3-bn-relu"
	NameConv1x1    = "conv1x1-bn-relu"
	NameMaxPool3x3 = "maxpool3x3"
	NameInput      = "input"
	NameOutput     = "output"
)

var opNames = [...]string{NameConv3x3, NameConv1x1, NameMaxPool3x3, NameInput, NameOutput}

// String returns the official op label.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", o)
}

// ParseOp returns the Op of an official label.
func ParseOp(s string) (Op, bool) {
	switch s {
	case NameConv3x3:
		return Conv3x3, true
	case NameConv1x1:
		return Conv1x1, true
	case NameMaxPool3x3:
		return MaxPool3x3, true
	case NameInput:
		return Input, true
	case NameOutput:
		return Output, true
	}
	return opUnknown, false
}

// label is the integer label of hash_module: -1 input, -2 output, else the
// index in available_ops.
func (o Op) label() int {
	switch o {
	case Input:
		return -1
	case Output:
		return -2
	}
	return int(o)
}

// ErrOutOfDomain marks a spec outside the NAS-Bench-101 space (the official
// OutOfDomainError, plus the ValueErrors of ModelSpec's constructor). The
// wrapping error names the rule that failed.
var ErrOutOfDomain = errors.New("nb101: spec out of domain")

// Spec is a pruned, valid NAS-Bench-101 cell. Adj has bit 7*i+j set for an
// edge i->j (row-major 7x7, i<j<N); Ops[0] is Input and Ops[N-1] is Output;
// entries at N and beyond are zero.
type Spec struct {
	Adj uint64
	Ops [MaxVertices]Op
	N   uint8
}

// Edge reports whether the edge i->j is present.
func (s Spec) Edge(i, j int) bool { return s.Adj>>(uint(i)*MaxVertices+uint(j))&1 == 1 }

// NumEdges returns the number of edges.
func (s Spec) NumEdges() int { return bits.OnesCount64(s.Adj) }

// Matrix returns the N x N adjacency matrix.
func (s Spec) Matrix() [][]int {
	n := int(s.N)
	m := make([][]int, n)
	flat := make([]int, n*n)
	for i := range m {
		m[i] = flat[i*n : (i+1)*n]
		for j := i + 1; j < n; j++ {
			if s.Edge(i, j) {
				m[i][j] = 1
			}
		}
	}
	return m
}

// OpNames returns the N op labels.
func (s Spec) OpNames() []string {
	out := make([]string, s.N)
	for i := range out {
		out[i] = s.Ops[i].String()
	}
	return out
}

// AdjString returns the row-major '0'/'1' string of the matrix, as in the
// tfrecord rows.
func (s Spec) AdjString() string {
	n := int(s.N)
	b := make([]byte, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			b[i*n+j] = '0'
			if j > i && s.Edge(i, j) {
				b[i*n+j] = '1'
			}
		}
	}
	return string(b)
}

// String renders the spec as "adj=<AdjString> ops=<comma-separated labels>".
func (s Spec) String() string {
	return "adj=" + s.AdjString() + " ops=" + strings.Join(s.OpNames(), ",")
}

// NewSpec builds a spec the way nasbench's ModelSpec + _check_spec do: the
// matrix must be square, upper-triangular and 0/1 with one op per row; it is
// then pruned of vertices not on an input->output path, and the pruned cell
// must have <= 7 vertices, <= 9 edges, input first, output last and only
// conv3x3-bn-relu, conv1x1-bn-relu or maxpool3x3 inside. Any failure wraps
// ErrOutOfDomain. Matrices up to 64 vertices are accepted before pruning.
func NewSpec(matrix [][]int, ops []string) (Spec, error) {
	n := len(matrix)
	if n > 64 {
		return Spec{}, fmt.Errorf("%w: matrix has %d vertices, at most 64 accepted before pruning", ErrOutOfDomain, n)
	}
	if n != len(ops) {
		return Spec{}, fmt.Errorf("%w: length of ops (%d) must match matrix dimensions (%d)", ErrOutOfDomain, len(ops), n)
	}
	var rows [64]uint64
	for i, r := range matrix {
		if len(r) != n {
			return Spec{}, fmt.Errorf("%w: matrix must be square: row %d has %d entries, want %d", ErrOutOfDomain, i, len(r), n)
		}
		for j, v := range r {
			switch {
			case v == 0:
			case v != 1:
				return Spec{}, fmt.Errorf("%w: matrix entry [%d][%d] = %d, want 0 or 1", ErrOutOfDomain, i, j, v)
			case j <= i:
				return Spec{}, fmt.Errorf("%w: matrix must be upper triangular: entry [%d][%d] set", ErrOutOfDomain, i, j)
			default:
				rows[i] |= 1 << uint(j)
			}
		}
	}
	codes := make([]Op, n)
	for i, name := range ops {
		codes[i], _ = ParseOp(name)
	}
	return fromRows(rows[:n], codes, ops)
}

// FromParts is NewSpec for callers that already hold a row-major 0/1 string
// (the tfrecord form, dim = sqrt(len)) and op codes.
func FromParts[S ~string | ~[]byte](adj S, ops []Op) (Spec, error) {
	n := len(ops)
	if n > 64 || n*n != len(adj) {
		return Spec{}, fmt.Errorf("%w: adjacency of %d characters is not the square of %d ops", ErrOutOfDomain, len(adj), n)
	}
	var rows [64]uint64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			switch adj[i*n+j] {
			case '0':
			case '1':
				if j <= i {
					return Spec{}, fmt.Errorf("%w: matrix must be upper triangular: entry [%d][%d] set", ErrOutOfDomain, i, j)
				}
				rows[i] |= 1 << uint(j)
			default:
				return Spec{}, fmt.Errorf("%w: adjacency character %q at %d, want '0' or '1'", ErrOutOfDomain, adj[i*n+j], i*n+j)
			}
		}
	}
	return fromRows(rows[:n], ops, nil)
}

// fromRows prunes (model_spec.py _prune) and checks (api.py _check_spec).
// names, if not nil, gives the original labels for error messages.
func fromRows(rows []uint64, ops []Op, names []string) (Spec, error) {
	n := len(rows)
	if n == 0 {
		return Spec{}, fmt.Errorf("%w: provided graph is disconnected (empty matrix)", ErrOutOfDomain)
	}
	// Forward reachability from the input and backward from the output.
	// Edges only go from lower to higher index, so one pass in order suffices.
	var fromIn, toOut uint64 = 1, 1 << uint(n-1)
	for i := 0; i < n; i++ {
		if fromIn>>uint(i)&1 == 1 {
			fromIn |= rows[i]
		}
	}
	for i := n - 1; i >= 0; i-- {
		if rows[i]&toOut != 0 {
			toOut |= 1 << uint(i)
		}
	}
	keep := fromIn & toOut
	if keep>>uint(n-1)&1 == 0 || keep&1 == 0 || bits.OnesCount64(keep) < 2 {
		return Spec{}, fmt.Errorf("%w: invalid spec, provided graph is disconnected", ErrOutOfDomain)
	}
	m := bits.OnesCount64(keep)
	if m > MaxVertices {
		return Spec{}, fmt.Errorf("%w: too many vertices: %d > %d after pruning", ErrOutOfDomain, m, MaxVertices)
	}
	var s Spec
	s.N = uint8(m)
	var pos [64]int
	k := 0
	for i := 0; i < n; i++ {
		if keep>>uint(i)&1 == 1 {
			pos[i] = k
			s.Ops[k] = ops[i]
			k++
		}
	}
	edges := 0
	for i := 0; i < n; i++ {
		if keep>>uint(i)&1 == 0 {
			continue
		}
		r := rows[i] & keep
		edges += bits.OnesCount64(r)
		for r != 0 {
			j := bits.TrailingZeros64(r)
			r &= r - 1
			s.Adj |= 1 << uint(pos[i]*MaxVertices+pos[j])
		}
	}
	if edges > MaxEdges {
		return Spec{}, fmt.Errorf("%w: too many edges: %d > %d after pruning", ErrOutOfDomain, edges, MaxEdges)
	}
	name := func(i int) string {
		if names != nil {
			// i indexes the pruned spec; map back to the original label.
			k := 0
			for o := 0; o < n; o++ {
				if keep>>uint(o)&1 == 1 {
					if k == i {
						return names[o]
					}
					k++
				}
			}
		}
		return s.Ops[i].String()
	}
	if s.Ops[0] != Input {
		return Spec{}, fmt.Errorf("%w: first operation should be 'input', got %q", ErrOutOfDomain, name(0))
	}
	if s.Ops[m-1] != Output {
		return Spec{}, fmt.Errorf("%w: last operation should be 'output', got %q", ErrOutOfDomain, name(m-1))
	}
	for i := 1; i < m-1; i++ {
		if s.Ops[i] >= NumInnerOps {
			return Spec{}, fmt.Errorf("%w: unsupported op %q at vertex %d", ErrOutOfDomain, name(i), i)
		}
	}
	for i := m; i < MaxVertices; i++ {
		s.Ops[i] = 0
	}
	return s, nil
}

// IsValid reports whether matrix and ops form a valid spec (api.is_valid).
func IsValid(matrix [][]int, ops []string) bool {
	_, err := NewSpec(matrix, ops)
	return err == nil
}
