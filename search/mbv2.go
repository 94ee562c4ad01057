package search

import (
	"math/rand/v2"

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
	slots[mbv2.Arch, int64]
}

// NewMBV2 returns an MBV2 space of capacity slots whose first base slots
// are random archs drawn from seed. It panics unless 0 < base <= capacity.
func NewMBV2(base, capacity int, seed uint64) *MBV2 {
	s := &MBV2{}
	rng := rand.New(rand.NewPCG(seed, 0x3b72))
	s.init("MBV2", base, capacity, slotSpace[mbv2.Arch, int64]{
		dim:    mbv2.Dim,
		key:    func(a mbv2.Arch) (int64, mbv2.Arch) { return a.Code(), a },
		oneHot: func(a mbv2.Arch, dst []float64) { a.OneHot(dst) },
		mutate: func(a mbv2.Arch, rng *rand.Rand) mbv2.Arch { return a.Mutate(rng) },
		neighbours: func(a mbv2.Arch) []mbv2.Arch {
			codes := a.Neighbours(nil)
			nb := make([]mbv2.Arch, len(codes))
			for k, c := range codes {
				nb[k] = mbv2.FromCode(c)
			}
			return nb
		},
	}, func() mbv2.Arch { return mbv2.Sample(rng) })
	return s
}

// Arch returns the arch of slot i; it panics on an empty slot.
func (s *MBV2) Arch(i int) mbv2.Arch { return s.item(i) }
