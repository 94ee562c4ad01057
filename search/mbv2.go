package search

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/space/mbv2"
)

// MBV2 is the Single-Path NAS MobileNetV2 space (about 3.1e13 networks,
// space/mbv2) seen through a fixed number of index slots, for live
// searches, as DARTS is: slots [0, base) hold distinct uniformly random
// archs drawn from seed (the pool random draws and initial populations come
// from); slots [base, Len()) are filled in the order Mutate and Neighbours
// first reach an arch, so every mutation is a true one-layer mutation of the
// space. Class(i) = i. Safe for concurrent use.
type MBV2 struct {
	mu    sync.Mutex
	base  int
	archs []mbv2.Arch
	slot  map[int64]int32 // arch code -> slot
	x     *mat.Dense      // one-hot rows, filled with the slots
}

// NewMBV2 returns an MBV2 space of capacity slots whose first base slots
// are random archs drawn from seed. It panics unless 0 < base <= capacity.
func NewMBV2(base, capacity int, seed uint64) *MBV2 {
	if base <= 0 || base > capacity {
		panic(fmt.Sprintf("search: NewMBV2: base %d, capacity %d", base, capacity))
	}
	s := &MBV2{base: base, slot: make(map[int64]int32, base), x: mat.NewDense(capacity, mbv2.Dim, nil)}
	rng := rand.New(rand.NewPCG(seed, 0x3b72))
	for len(s.archs) < base {
		s.assign(mbv2.Sample(rng))
	}
	return s
}

// assign returns a's slot, giving it the next free one if it has none.
// The caller holds mu (or is the constructor).
func (s *MBV2) assign(a mbv2.Arch) int {
	c := a.Code()
	if i, ok := s.slot[c]; ok {
		return int(i)
	}
	i := len(s.archs)
	if i >= s.x.RawMatrix().Rows {
		panic(fmt.Sprintf("search: MBV2 space: all %d slots are used; a larger capacity is needed", i))
	}
	s.archs = append(s.archs, a)
	s.slot[c] = int32(i)
	raw := s.x.RawMatrix()
	a.OneHot(raw.Data[i*raw.Stride : i*raw.Stride+mbv2.Dim])
	return i
}

// Arch returns the arch of slot i; it panics on an empty slot.
func (s *MBV2) Arch(i int) mbv2.Arch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(s.archs) {
		panic(fmt.Sprintf("search: MBV2 space: slot %d is empty (%d filled)", i, len(s.archs)))
	}
	return s.archs[i]
}

// Filled is the number of slots holding an arch.
func (s *MBV2) Filled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.archs)
}

func (s *MBV2) Len() int        { return s.x.RawMatrix().Rows }
func (s *MBV2) Dim() int        { return mbv2.Dim }
func (s *MBV2) Class(i int) int { return i }
func (s *MBV2) NumClasses() int { return s.Len() }

// Encode writes slot i's one-hot encoding (zeros for an empty slot).
func (s *MBV2) Encode(dst []float64, i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	copy(dst[:mbv2.Dim], s.x.RawRowView(i))
}

// Matrix is the space's encoding matrix, whose rows fill as slots are
// assigned.
func (s *MBV2) Matrix() *mat.Dense { return s.x }

func (s *MBV2) Mutate(rng *rand.Rand, i int) int {
	a := s.Arch(i).Mutate(rng)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assign(a)
}

func (s *MBV2) Neighbours(dst []int, i int) []int {
	codes := s.Arch(i).Neighbours(nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	dst = dst[:0]
	for _, c := range codes {
		dst = append(dst, s.assign(mbv2.FromCode(c)))
	}
	return dst
}

// Oracle returns a live oracle over the space whose pool, what random
// draws choose from, is the base slots of random archs.
func (s *MBV2) Oracle(eval Evaluator) *Oracle {
	o := NewLiveOracle(s.Len(), eval)
	o.pool = o.pool[:s.base]
	return o
}
