package predictors

import (
	"fmt"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/space/nb201"
)

// NB201Dim is the width of the NB201 one-hot encoding (6 edges x 5 ops).
const NB201Dim = nb201.NumEdges * nb201.NumOps

// EncodeNB201 writes the one-hot encoding of each cell (edge-major, the op
// order of space/nb201) into row i of dst. dst must be len(cells) x NB201Dim.
func EncodeNB201(dst *mat.Dense, cells []nb201.Cell) {
	r, c := dst.Dims()
	if r != len(cells) || c != NB201Dim {
		panic(fmt.Sprintf("predictors: EncodeNB201: dst is %dx%d, want %dx%d", r, c, len(cells), NB201Dim))
	}
	raw := dst.RawMatrix()
	for i, cell := range cells {
		cell.OneHot(raw.Data[i*raw.Stride : i*raw.Stride+NB201Dim])
	}
}

// NB101 op codes in the WeakNAS / NAO layout.
const (
	NB101Input = iota
	NB101Conv1x1
	NB101Conv3x3
	NB101MaxPool3x3
	NB101Output
)

// NB101MaxVertices is the largest NB101 cell.
const NB101MaxVertices = 7

// NB101Dim is the width of the NB101 adjacency + op encoding (WEAKNAS.md 1.3).
const NB101Dim = 45

// NB101Cell is a (possibly pruned) NB101 cell: Ops[i] is the op code of
// vertex i (NB101Input first, NB101Output last, 2..7 vertices) and bit
// i*7+j of Adj is the edge i -> j (row-major 7x7, least significant bit
// first, whatever the number of vertices).
type NB101Cell struct {
	Adj uint64
	Ops []int
}

// NB101FromMatrix builds an NB101Cell from a square 0/1 adjacency matrix.
// It panics if the matrix is not square or larger than 7x7, or if ops does
// not have one entry per vertex.
func NB101FromMatrix(m [][]int, ops []int) NB101Cell {
	n := len(m)
	if n > NB101MaxVertices || len(ops) != n {
		panic(fmt.Sprintf("predictors: NB101FromMatrix: %d rows, %d ops", n, len(ops)))
	}
	var adj uint64
	for i, row := range m {
		if len(row) != n {
			panic(fmt.Sprintf("predictors: NB101FromMatrix: row %d has %d entries, want %d", i, len(row), n))
		}
		for j, v := range row {
			if v != 0 {
				adj |= 1 << (i*NB101MaxVertices + j)
			}
		}
	}
	return NB101Cell{Adj: adj, Ops: ops}
}

// Edge reports whether the cell has the edge i -> j.
func (c NB101Cell) Edge(i, j int) bool { return c.Adj>>(i*NB101MaxVertices+j)&1 != 0 }

func (c NB101Cell) check() {
	n := len(c.Ops)
	if n < 2 || n > NB101MaxVertices {
		panic(fmt.Sprintf("predictors: NB101 cell with %d vertices", n))
	}
	for _, op := range c.Ops {
		if op < NB101Input || op > NB101Output {
			panic(fmt.Sprintf("predictors: NB101 op code %d out of range", op))
		}
	}
}

// EncodeNB101 writes the 45-dim WeakNAS/NAO encoding of each cell into row i
// of dst (len(cells) x NB101Dim): for column c = 1..6 the bits Adj[0..c-1][c]
// then the one-hot [conv1x1, conv3x3, maxpool3x3, output] of Ops[c]. Columns
// at or beyond the cell's vertex count stay zero, so a pruned cell's output
// sits at column len(Ops)-1.
func EncodeNB101(dst *mat.Dense, cells []NB101Cell) {
	r, cols := dst.Dims()
	if r != len(cells) || cols != NB101Dim {
		panic(fmt.Sprintf("predictors: EncodeNB101: dst is %dx%d, want %dx%d", r, cols, len(cells), NB101Dim))
	}
	raw := dst.RawMatrix()
	for i, cell := range cells {
		cell.check()
		row := raw.Data[i*raw.Stride : i*raw.Stride+NB101Dim]
		clear(row)
		k := 0
		for c := 1; c < NB101MaxVertices; c++ {
			if c < len(cell.Ops) {
				for p := 0; p < c; p++ {
					if cell.Edge(p, c) {
						row[k+p] = 1
					}
				}
				if op := cell.Ops[c]; op != NB101Input {
					row[k+c+op-1] = 1
				}
			}
			k += c + 4
		}
	}
}

// Path encodings (BANANAS, White et al. 2021, as naszilla computes them).
//
// NB101: a path is the sequence of ops on the intermediate vertices of a
// route from the input to the output vertex; its index is
// sum_i 3^i * (op_i + 1) with conv3x3 = 0, conv1x1 = 1, maxpool3x3 = 2, so
// indices run by length first (0: the direct input->output edge; 1..3 the
// paths of length 1; ...; 364 paths of length 0..5 in all).
//
// NB201: the four routes input->output (edge 0->3; 0->1,1->3; 0->2,2->3;
// 0->1,1->2,2->3) give four paths of 1, 2, 2 and 3 ops; the index is
// offset(len) + sum_j 5^j * op_j with offsets 0, 5, 30 and naszilla's op
// order avg_pool_3x3, nor_conv_1x1, nor_conv_3x3, none, skip_connect
// (155 paths). As in naszilla, 'none' ops are not pruned.
//
// Truncation to the first k columns keeps the lowest indices, i.e. the
// shortest paths first, which is naszilla's trunc_path (default cutoffs 40
// for NB101 and 30 for NB201).
const (
	NB101PathDim = 364
	NB201PathDim = 155
)

// naszilla's op numbering for the NB201 path index, by space/nb201 op id.
var nb201PathOp = [nb201.NumOps]int{
	nb201.None:        3,
	nb201.SkipConnect: 4,
	nb201.Conv1x1:     1,
	nb201.Conv3x3:     2,
	nb201.AvgPool3x3:  0,
}

// nb201Routes lists the edges of each input->output route.
var nb201Routes = [4][]int{{3}, {0, 4}, {1, 5}, {0, 2, 5}}

// NB201PathIndices writes the path indices of c into dst[:4] and returns it.
func NB201PathIndices(dst []int, c nb201.Cell) []int {
	dst = dst[:0]
	for _, route := range nb201Routes {
		idx := 0
		switch len(route) {
		case 2:
			idx = nb201.NumOps
		case 3:
			idx = nb201.NumOps + nb201.NumOps*nb201.NumOps
		}
		p := 1
		for _, e := range route {
			idx += p * nb201PathOp[c[e]]
			p *= nb201.NumOps
		}
		dst = append(dst, idx)
	}
	return dst
}

// EncodePathNB201 writes the path encoding of each cell, truncated to the
// first cols(dst) <= NB201PathDim paths, into dst (len(cells) x k).
func EncodePathNB201(dst *mat.Dense, cells []nb201.Cell) {
	r, k := dst.Dims()
	if r != len(cells) || k > NB201PathDim {
		panic(fmt.Sprintf("predictors: EncodePathNB201: dst is %dx%d, want %d rows and at most %d columns", r, k, len(cells), NB201PathDim))
	}
	raw := dst.RawMatrix()
	var idx [4]int
	for i, c := range cells {
		row := raw.Data[i*raw.Stride : i*raw.Stride+k]
		clear(row)
		for _, p := range NB201PathIndices(idx[:0], c) {
			if p < k {
				row[p] = 1
			}
		}
	}
}

// naszilla's op numbering for the NB101 path index, by NB101 op code.
var nb101PathOp = [NB101Output + 1]int{NB101Conv3x3: 0, NB101Conv1x1: 1, NB101MaxPool3x3: 2}

// NB101PathIndices appends to dst[:0] the sorted indices of all input->output
// paths of c (with repetition if two routes carry the same op sequence, as
// naszilla does) and returns it. Pass a dst with capacity for the paths
// (at most 32 for a 7-vertex cell) to avoid allocating.
func NB101PathIndices(dst []int, c NB101Cell) []int {
	c.check()
	n := len(c.Ops)
	// idx[v] / pw[v]: partial indices and the next power of 3 for the paths
	// from the input to v, built in topological (vertex) order. A 7-vertex
	// DAG has at most 2^5 = 32 input->output paths.
	var buf [NB101MaxVertices][32]int32
	var pw [NB101MaxVertices][32]int32
	var cnt [NB101MaxVertices]int
	dst = dst[:0]
	for j := 1; j < n; j++ {
		if c.Edge(0, j) {
			buf[j][cnt[j]], pw[j][cnt[j]] = 0, 1
			cnt[j]++
		}
	}
	for i := 1; i < n-1; i++ {
		op := int32(nb101PathOp[c.Ops[i]])
		for j := i + 1; j < n; j++ {
			if !c.Edge(i, j) {
				continue
			}
			for t := 0; t < cnt[i]; t++ {
				buf[j][cnt[j]] = buf[i][t] + pw[i][t]*(op+1)
				pw[j][cnt[j]] = pw[i][t] * 3
				cnt[j]++
			}
		}
	}
	for t := 0; t < cnt[n-1]; t++ {
		dst = append(dst, int(buf[n-1][t]))
	}
	sort.Ints(dst)
	return dst
}

// EncodePathNB101 writes the path encoding of each cell, truncated to the
// first cols(dst) <= NB101PathDim paths, into dst (len(cells) x k).
func EncodePathNB101(dst *mat.Dense, cells []NB101Cell) {
	r, k := dst.Dims()
	if r != len(cells) || k > NB101PathDim {
		panic(fmt.Sprintf("predictors: EncodePathNB101: dst is %dx%d, want %d rows and at most %d columns", r, k, len(cells), NB101PathDim))
	}
	raw := dst.RawMatrix()
	var idx [32]int
	for i, c := range cells {
		row := raw.Data[i*raw.Stride : i*raw.Stride+k]
		clear(row)
		for _, p := range NB101PathIndices(idx[:0], c) {
			if p < k {
				row[p] = 1
			}
		}
	}
}

// EncodeOneHot writes a per-column one-hot encoding of categorical rows into
// dst: row i of rows holds one category per variable, variable v taking values
// in [0, card[v]), and dst (len(rows) x sum(card)) gets, for each v in order,
// card[v] columns with a 1 at the row's category.
func EncodeOneHot(dst *mat.Dense, rows [][]int, card []int) {
	width := 0
	for v, k := range card {
		if k <= 0 {
			panic(fmt.Sprintf("predictors: EncodeOneHot: card[%d] = %d", v, k))
		}
		width += k
	}
	r, c := dst.Dims()
	if r != len(rows) || c != width {
		panic(fmt.Sprintf("predictors: EncodeOneHot: dst is %dx%d, want %dx%d", r, c, len(rows), width))
	}
	raw := dst.RawMatrix()
	for i, x := range rows {
		if len(x) != len(card) {
			panic(fmt.Sprintf("predictors: EncodeOneHot: row %d has %d values, want %d", i, len(x), len(card)))
		}
		row := raw.Data[i*raw.Stride : i*raw.Stride+width]
		clear(row)
		off := 0
		for v, k := range card {
			if x[v] < 0 || x[v] >= k {
				panic(fmt.Sprintf("predictors: EncodeOneHot: row %d variable %d = %d, want [0,%d)", i, v, x[v], k))
			}
			row[off+x[v]] = 1
			off += k
		}
	}
}
