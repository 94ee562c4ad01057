package search

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/predictors"
	"github.com/nbquery/nbquery/space/nb201"
)

// Sentinel errors.
var (
	// ErrBadInput marks an invalid configuration: an empty space, a budget
	// larger than the space, no cell satisfying a constraint.
	ErrBadInput = errors.New("search: invalid input")
)

// Space is a search space whose architectures are the benchmark indices
// 0..Len()-1. Implementations are safe for concurrent use.
type Space interface {
	// Len is the number of architectures.
	Len() int
	// Dim is the width of the default (WeakNAS) encoding.
	Dim() int
	// Encode writes the encoding of architecture i into dst[:Dim()].
	Encode(dst []float64, i int)
	// Mutate returns a uniformly random architecture that differs from i
	// by one mutation (one edge or one op).
	Mutate(rng *rand.Rand, i int) int
	// Neighbours appends to dst[:0] all architectures one mutation away
	// from i and returns it.
	Neighbours(dst []int, i int) []int
	// Class returns the isomorphism class of i: equal classes mean
	// isomorphic architectures. Classes are dense in [0, NumClasses()).
	Class(i int) int
	NumClasses() int
}

// PathSpace is a Space with the BANANAS path encoding.
type PathSpace interface {
	Space
	PathDim() int
	EncodePath(dst []float64, i int)
}

// NB201 is the NAS-Bench-201 cell space in benchmark index order.
type NB201 struct {
	cells []nb201.Cell
	inv   []int32 // code -> index
	class []int32
	ncls  int
}

// NewNB201 builds the space from the nb201 code of each benchmark index
// (codes[i] = nb201.Cell.Code of index i). Every code must appear once.
func NewNB201(codes []int) (*NB201, error) {
	if len(codes) != nb201.NumCells {
		return nil, fmt.Errorf("search: nb201 space: %d codes, want %d: %w", len(codes), nb201.NumCells, ErrBadInput)
	}
	s := &NB201{cells: make([]nb201.Cell, len(codes)), inv: make([]int32, nb201.NumCells), class: make([]int32, len(codes))}
	for i := range s.inv {
		s.inv[i] = -1
	}
	ids := map[string]int32{}
	for i, c := range codes {
		if c < 0 || c >= nb201.NumCells || s.inv[c] >= 0 {
			return nil, fmt.Errorf("search: nb201 space: index %d has code %d (out of range or repeated): %w", i, c, ErrBadInput)
		}
		s.inv[c] = int32(i)
		s.cells[i] = nb201.FromCode(c)
		u := s.cells[i].UniqueStr()
		id, ok := ids[u]
		if !ok {
			id = int32(len(ids))
			ids[u] = id
		}
		s.class[i] = id
	}
	s.ncls = len(ids)
	return s, nil
}

// NB201FromBench builds the NB201 space of an ingested benchmark.
func NB201FromBench(b *index.Bench) (*NB201, error) {
	codes := make([]int, b.Len())
	for i := range codes {
		c, err := b.Code(i)
		if err != nil {
			return nil, fmt.Errorf("search: nb201 space: %w", err)
		}
		codes[i] = c
	}
	return NewNB201(codes)
}

// Cell returns the cell of index i.
func (s *NB201) Cell(i int) nb201.Cell { return s.cells[i] }

func (s *NB201) Len() int        { return len(s.cells) }
func (s *NB201) Dim() int        { return predictors.NB201Dim }
func (s *NB201) NumClasses() int { return s.ncls }
func (s *NB201) Class(i int) int { return int(s.class[i]) }

func (s *NB201) Encode(dst []float64, i int) { s.cells[i].OneHot(dst) }

func (s *NB201) Mutate(rng *rand.Rand, i int) int {
	c := s.cells[i]
	e := rng.IntN(nb201.NumEdges)
	op := uint8(rng.IntN(nb201.NumOps - 1))
	if op >= c[e] {
		op++
	}
	c[e] = op
	return int(s.inv[c.Code()])
}

func (s *NB201) Neighbours(dst []int, i int) []int {
	dst = s.cells[i].Neighbours(dst[:0])
	for j, c := range dst {
		dst[j] = int(s.inv[c])
	}
	return dst
}

func (s *NB201) PathDim() int { return predictors.NB201PathDim }

func (s *NB201) EncodePath(dst []float64, i int) {
	clear(dst[:predictors.NB201PathDim])
	var idx [4]int
	for _, p := range predictors.NB201PathIndices(idx[:0], s.cells[i]) {
		dst[p] = 1
	}
}

// EncodeAll returns the encoding of the whole space, one row per index: the
// matrix an experiment computes once and shares read-only across runs.
func EncodeAll(sp Space) *mat.Dense {
	if m, ok := sp.(interface{ Matrix() *mat.Dense }); ok {
		return m.Matrix() // a space that fills its encodings as it grows (DARTS)
	}
	X := mat.NewDense(sp.Len(), sp.Dim(), nil)
	raw := X.RawMatrix()
	for i := 0; i < sp.Len(); i++ {
		sp.Encode(raw.Data[i*raw.Stride:i*raw.Stride+raw.Cols], i)
	}
	return X
}

// EncodePathAll is EncodeAll for the path encoding.
func EncodePathAll(sp PathSpace) *mat.Dense {
	X := mat.NewDense(sp.Len(), sp.PathDim(), nil)
	raw := X.RawMatrix()
	for i := 0; i < sp.Len(); i++ {
		sp.EncodePath(raw.Data[i*raw.Stride:i*raw.Stride+raw.Cols], i)
	}
	return X
}
