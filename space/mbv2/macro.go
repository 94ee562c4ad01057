package mbv2

import "fmt"

// Block is one MBConv block of the macro layout.
type Block struct {
	In, Out, Stride int
	// Layer is the searched-layer index (0..19), or -1 for the two fixed
	// blocks (block 0: k3 e1; block 21: k3 e6).
	Layer int
	Fixed Op // the fixed op of a fixed block (block 0 has expansion 1: K3E3 with Expand 1)
	// Expand is the expansion of a fixed block (1 for block 0, 6 for block 21).
	Expand int
}

// Residual reports whether the block adds its input (stride 1, In == Out).
func (b Block) Residual() bool { return b.Stride == 1 && b.In == b.Out }

// Macro is the Single-Path NAS macro layout at a width multiplier:
// stem conv3x3 (stride StemStride) 32 → block 0 (k3 e1, 16) → 5 stages of 4
// searched layers (24 s2, 40 s2, 80 s2, 96 s1, 192 s2) → block 21 (k3 e6,
// 320) → conv1x1 1280 → GAP → FC. Channels are width·c rounded to a
// multiple of Divisor (MobileNet's make_divisible: never below Divisor, never
// more than 10% under width·c). The reference (224² ImageNet) is
// Macro{Width: 1, Divisor: 8, StemStride: 2}.
type Macro struct {
	Width      float64
	Divisor    int
	StemStride int
}

// Reference is the published layout.
var Reference = Macro{Width: 1, Divisor: 8, StemStride: 2}

// StageOut and StageStride are the searched stages' output channels and
// first-layer strides at width 1.
var (
	StageOut    = [Stages]int{24, 40, 80, 96, 192}
	StageStride = [Stages]int{2, 2, 2, 1, 2}
)

// Channels rounds width·c as MobileNet's make_divisible does.
func (m Macro) Channels(c int) int {
	d := m.Divisor
	if d <= 0 {
		d = 8
	}
	v := float64(c) * m.Width
	n := max(d, int(v+float64(d)/2)/d*d)
	if float64(n) < 0.9*v {
		n += d
	}
	return n
}

// Validate checks the multiplier, divisor and stem stride.
func (m Macro) Validate() error {
	if !(m.Width > 0 && m.Width <= 4) || m.Divisor < 1 || (m.StemStride != 1 && m.StemStride != 2) {
		return fmt.Errorf("mbv2: macro width %v, divisor %d, stem stride %d (want 0<width<=4, divisor>=1, stride 1 or 2)", m.Width, m.Divisor, m.StemStride)
	}
	return nil
}

// Stem is the stem's output channels; Head the final conv1x1's.
func (m Macro) Stem() int { return m.Channels(32) }
func (m Macro) Head() int { return m.Channels(1280) }

// Blocks returns the 22 MBConv blocks in order.
func (m Macro) Blocks() []Block {
	bs := make([]Block, 0, Layers+2)
	c := m.Channels(16)
	bs = append(bs, Block{In: m.Stem(), Out: c, Stride: 1, Layer: -1, Fixed: K3E3, Expand: 1})
	for s := 0; s < Stages; s++ {
		out := m.Channels(StageOut[s])
		for l := 0; l < LayersPerStage; l++ {
			st := 1
			if l == 0 {
				st = StageStride[s]
			}
			bs = append(bs, Block{In: c, Out: out, Stride: st, Layer: s*LayersPerStage + l})
			c = out
		}
	}
	bs = append(bs, Block{In: c, Out: m.Channels(320), Stride: 1, Layer: -1, Fixed: K3E6, Expand: 6})
	return bs
}
