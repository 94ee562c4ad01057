package mbv2

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Op is the choice of one searched layer.
type Op uint8

// The ops, in the order of Single-Path NAS's runtime tables (k3e3, k3e6,
// k5e3, k5e6 = runtimes[0..3]) after Skip.
const (
	Skip Op = iota
	K3E3
	K3E6
	K5E3
	K5E6
	NumOps = 5
)

// Space dimensions.
const (
	Stages         = 5
	LayersPerStage = 4
	Layers         = Stages * LayersPerStage // searched layers
	Dim            = Layers * NumOps         // OneHot width
)

// NumArchs is the size of the space: 4 choices for each stage's first
// layer, 5 for the others.
const NumArchs int64 = 1024 * 30517578125 // 4^5 · 5^15

// OpNames are the ops' names in arch strings.
var OpNames = [NumOps]string{"skip", "k3e3", "k3e6", "k5e3", "k5e6"}

// Kernel returns the depthwise kernel side of o (0 for Skip).
func (o Op) Kernel() int {
	switch o {
	case K3E3, K3E6:
		return 3
	case K5E3, K5E6:
		return 5
	}
	return 0
}

// Expansion returns the expansion ratio of o (0 for Skip).
func (o Op) Expansion() int {
	switch o {
	case K3E3, K5E3:
		return 3
	case K3E6, K5E6:
		return 6
	}
	return 0
}

func (o Op) String() string {
	if o < NumOps {
		return OpNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// OpFor returns the op with kernel k and expansion e (k3/k5, e3/e6).
func OpFor(k, e int) (Op, bool) {
	switch {
	case k == 3 && e == 3:
		return K3E3, true
	case k == 3 && e == 6:
		return K3E6, true
	case k == 5 && e == 3:
		return K5E3, true
	case k == 5 && e == 6:
		return K5E6, true
	}
	return Skip, false
}

// ErrSyntax marks an arch string that does not parse.
var ErrSyntax = errors.New("mbv2: invalid arch string")

// Arch is one network: the op of each searched layer, stage-major.
type Arch [Layers]uint8

// Skippable reports whether searched layer i may be a skip: every layer
// but the first of its stage (which changes the channels or the stride).
func Skippable(i int) bool { return i%LayersPerStage != 0 }

// choices is the number of ops layer i may take.
func choices(i int) int {
	if Skippable(i) {
		return NumOps
	}
	return NumOps - 1
}

// Op returns the op of layer i.
func (a Arch) Op(i int) Op { return Op(a[i]) }

// Valid reports whether every layer has a known op and no stage-first
// layer is a skip.
func (a Arch) Valid() bool {
	for i, o := range a {
		if o >= NumOps || (o == uint8(Skip) && !Skippable(i)) {
			return false
		}
	}
	return true
}

const maxLen = 512

// Parse reads an arch string: 5 stages separated by '+', each 4 op names
// separated by ','. The first layer of a stage cannot be skip.
func Parse(s string) (Arch, error) {
	var a Arch
	if len(s) > maxLen {
		return a, fmt.Errorf("%w: %d-byte string starting %q, longer than any arch", ErrSyntax, len(s), s[:16])
	}
	stages := strings.Split(s, "+")
	if len(stages) != Stages {
		return a, fmt.Errorf("%w: %q: %d stages, want %d separated by '+'", ErrSyntax, s, len(stages), Stages)
	}
	for si, st := range stages {
		ops := strings.Split(st, ",")
		if len(ops) != LayersPerStage {
			return a, fmt.Errorf("%w: %q: stage %d has %d layers, want %d separated by ','", ErrSyntax, s, si+1, len(ops), LayersPerStage)
		}
		for li, name := range ops {
			i := si*LayersPerStage + li
			k := -1
			for o, n := range OpNames {
				if n == name {
					k = o
				}
			}
			switch {
			case k < 0:
				return a, fmt.Errorf("%w: %q: stage %d layer %d: unknown op %q (skip, k3e3, k3e6, k5e3, k5e6)", ErrSyntax, s, si+1, li+1, name)
			case k == int(Skip) && !Skippable(i):
				return a, fmt.Errorf("%w: %q: stage %d layer 1 cannot be skip (it changes channels or stride)", ErrSyntax, s, si+1)
			}
			a[i] = uint8(k)
		}
	}
	return a, nil
}

// String formats the arch; Parse(a.String()) == a for every valid a.
func (a Arch) String() string {
	var b strings.Builder
	for i, o := range a {
		switch {
		case i == 0:
		case i%LayersPerStage == 0:
			b.WriteByte('+')
		default:
			b.WriteByte(',')
		}
		b.WriteString(Op(o).String())
	}
	return b.String()
}

// digit maps layer i's op to its mixed-radix digit (stage-first layers
// have no skip, so their digit is op−1).
func digit(i int, o uint8) int64 {
	if Skippable(i) {
		return int64(o)
	}
	return int64(o) - 1
}

// Code returns the arch's dense id in [0, NumArchs), layer 0 most
// significant. It panics on an invalid arch.
func (a Arch) Code() int64 {
	if !a.Valid() {
		panic(fmt.Sprintf("mbv2: Code of invalid arch %v", [Layers]uint8(a)))
	}
	var x int64
	for i, o := range a {
		x = x*int64(choices(i)) + digit(i, o)
	}
	return x
}

// FromCode is the inverse of Code; it panics on an out-of-range code.
func FromCode(x int64) Arch {
	if x < 0 || x >= NumArchs {
		panic(fmt.Sprintf("mbv2: code %d out of range", x))
	}
	var a Arch
	for i := Layers - 1; i >= 0; i-- {
		n := int64(choices(i))
		d := x % n
		x /= n
		if !Skippable(i) {
			d++
		}
		a[i] = uint8(d)
	}
	return a
}

// Sample draws an arch uniformly from the space.
func Sample(rng *rand.Rand) Arch {
	var a Arch
	for i := range a {
		d := rng.IntN(choices(i))
		if !Skippable(i) {
			d++
		}
		a[i] = uint8(d)
	}
	return a
}

// Mutate returns a copy of a with one uniformly chosen layer changed to a
// different allowed op, uniformly.
func (a Arch) Mutate(rng *rand.Rand) Arch {
	i := rng.IntN(Layers)
	lo := 0
	if !Skippable(i) {
		lo = 1
	}
	o := lo + rng.IntN(NumOps-lo-1)
	if o >= int(a[i]) {
		o++
	}
	a[i] = uint8(o)
	return a
}

// Neighbours appends to dst[:0] the codes of every arch one layer change
// away from a (in layer, then op order) and returns it: 5·3 + 15·4 = 75.
func (a Arch) Neighbours(dst []int64) []int64 {
	dst = dst[:0]
	for i := range a {
		lo := uint8(0)
		if !Skippable(i) {
			lo = 1
		}
		for o := lo; o < NumOps; o++ {
			if o == a[i] {
				continue
			}
			b := a
			b[i] = o
			dst = append(dst, b.Code())
		}
	}
	return dst
}

// OneHot writes the Dim-wide one-hot encoding (layer-major, op order) into
// dst.
func (a Arch) OneHot(dst []float64) {
	if len(dst) < Dim {
		panic("mbv2: OneHot dst too short")
	}
	clear(dst[:Dim])
	for i, o := range a {
		dst[i*NumOps+int(o)] = 1
	}
}
