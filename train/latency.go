package train

// The Single-Path NAS runtime model: R = base + Σ over the 20 searched
// layers of the latency of the chosen op (skip = 0), from a per-layer table
// (LatencyTable), and its differentiable form in the decisions:
//
//	R_l = d50 · [(1−d5)(1−d100)·k3e3 + (1−d5)·d100·k3e6 + d5·(1−d100)·k5e3 + d5·d100·k5e6]
//
// which equals the table entry of the decided op for hard decisions. (The
// reference's formula, rc·ratio + rc·(1−ratio)·d5 with ratio = k3e6/k5e6,
// models k3e3 as ratio·k5e3 and ignores the k3e3 column; this one uses all
// four columns.)

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"syscall"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/space/mbv2"
)

// LatencyFormat is the format tag of a latency table file.
const LatencyFormat = "nbquery-spnas-latency/1"

// LayerLatency is one searched layer's latency per op.
type LayerLatency struct {
	K3E3 float64 `json:"k3e3"`
	K3E6 float64 `json:"k3e6"`
	K5E3 float64 `json:"k5e3"`
	K5E6 float64 `json:"k5e6"`
}

// Of returns the latency of op o (0 for skip).
func (l LayerLatency) Of(o mbv2.Op) float64 {
	switch o {
	case mbv2.K3E3:
		return l.K3E3
	case mbv2.K3E6:
		return l.K3E6
	case mbv2.K5E3:
		return l.K5E3
	case mbv2.K5E6:
		return l.K5E6
	}
	return 0
}

// LatencyTable is a runtime model, stored as JSON:
//
//	{"format": "nbquery-spnas-latency/1", "unit": "ms",
//	 "device": "free text", "note": "free text",
//	 "macro": {"width": 0.25, "divisor": 8, "stem_stride": 1},
//	 "input": [1, 28, 28], "batch": 1,
//	 "base": 0.8,
//	 "layers": [{"k3e3": 0.1, "k3e6": 0.2, "k5e3": 0.15, "k5e6": 0.3}, … 20 entries]}
//
// base is the runtime of everything not searched (stem, blocks 0 and 21,
// head, classifier); layers[i] is searched layer i (stage-major); skip costs
// 0. unit is "ms" or "us"; values are kept in the file's unit. macro, input
// and batch record what was measured and are checked against a search's
// network when present.
type LatencyTable struct {
	Format string          `json:"format"`
	Unit   string          `json:"unit"`
	Device string          `json:"device,omitempty"`
	Note   string          `json:"note,omitempty"`
	Macro  *MacroJSON      `json:"macro,omitempty"`
	Input  []int           `json:"input,omitempty"`
	Batch  int             `json:"batch,omitempty"`
	Base   float64         `json:"base"`
	Layers []LayerLatency  `json:"layers"`
	Extra  json.RawMessage `json:"measured,omitempty"` // measurement details (free form)
}

// MacroJSON is mbv2.Macro in a latency file.
type MacroJSON struct {
	Width      float64 `json:"width"`
	Divisor    int     `json:"divisor"`
	StemStride int     `json:"stem_stride"`
}

// ErrLatencyTable marks a latency table file that does not parse or check.
var ErrLatencyTable = errors.New("train: invalid latency table")

// ParseLatencyTable decodes and checks a latency table (name is used in
// errors).
func ParseLatencyTable(b []byte, name string) (*LatencyTable, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var t LatencyTable
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrLatencyTable, name, err)
	}
	bad := func(format string, a ...any) (*LatencyTable, error) {
		return nil, fmt.Errorf("%w: %s: %s", ErrLatencyTable, name, fmt.Sprintf(format, a...))
	}
	if t.Format != LatencyFormat {
		return bad("format %q, want %q", t.Format, LatencyFormat)
	}
	if t.Unit != "ms" && t.Unit != "us" {
		return bad("unit %q (ms or us)", t.Unit)
	}
	if len(t.Layers) != mbv2.Layers {
		return bad("%d layers, want %d", len(t.Layers), mbv2.Layers)
	}
	ok := func(v float64) bool { return v >= 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }
	if !ok(t.Base) {
		return bad("base %v", t.Base)
	}
	for i, l := range t.Layers {
		for _, o := range []mbv2.Op{mbv2.K3E3, mbv2.K3E6, mbv2.K5E3, mbv2.K5E6} {
			if v := l.Of(o); !ok(v) || v == 0 {
				return bad("layers[%d].%s = %v (want a positive latency)", i, o, v)
			}
		}
	}
	if t.Base+t.Layers[0].K3E3 <= 0 {
		return bad("zero runtime")
	}
	return &t, nil
}

// ReadLatencyTable reads a latency table file.
func ReadLatencyTable(path string) (*LatencyTable, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("train: latency table: %w", err)
	}
	return ParseLatencyTable(b, path)
}

// Write stores the table atomically.
func (t *LatencyTable) Write(path string) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

// Predict returns the modelled runtime of a in the table's unit.
func (t *LatencyTable) Predict(a mbv2.Arch) float64 {
	r := t.Base
	for i := range a {
		r += t.Layers[i].Of(a.Op(i))
	}
	return r
}

// CheckMacro reports whether the table was measured for m (when it says).
func (t *LatencyTable) CheckMacro(m mbv2.Macro) error {
	if t.Macro == nil {
		return nil
	}
	if t.Macro.Width != m.Width || t.Macro.Divisor != m.Divisor || t.Macro.StemStride != m.StemStride {
		return fmt.Errorf("%w: measured for width %v divisor %d stem stride %d, the network has width %v divisor %d stem stride %d",
			ErrLatencyTable, t.Macro.Width, t.Macro.Divisor, t.Macro.StemStride, m.Width, m.Divisor, m.StemStride)
	}
	return nil
}

// graph builds R as a scalar node from the layers' decisions.
func (t *LatencyTable) graph(g *G.ExprGraph, dt tensor.Dtype, layers []superLayer) (*G.Node, error) {
	if len(layers) != mbv2.Layers {
		return nil, fmt.Errorf("latency: %d searched layers, want %d", len(layers), mbv2.Layers)
	}
	c := func(v float64) *G.Node { return scalar(dt, v) }
	var sum *G.Node = c(t.Base)
	for i, sl := range layers {
		l := t.Layers[i]
		// t33 + d5(t53−t33) + d100(t36−t33) + d5·d100(t56−t53−t36+t33)
		a, err := G.Mul(sl.d5, c(l.K5E3-l.K3E3))
		if err != nil {
			return nil, err
		}
		bb, err := G.Mul(sl.d100, c(l.K3E6-l.K3E3))
		if err != nil {
			return nil, err
		}
		p, err := G.Mul(sl.d5, sl.d100)
		if err != nil {
			return nil, err
		}
		cc, err := G.Mul(p, c(l.K5E6-l.K5E3-l.K3E6+l.K3E3))
		if err != nil {
			return nil, err
		}
		r := c(l.K3E3)
		for _, term := range []*G.Node{a, bb, cc} {
			if r, err = G.Add(r, term); err != nil {
				return nil, err
			}
		}
		if sl.d50 != nil {
			if r, err = G.Mul(sl.d50, r); err != nil {
				return nil, err
			}
		}
		if sum, err = G.Add(sum, r); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// MeasureConfig sets up MeasureLatency.
type MeasureConfig struct {
	Macro     mbv2.Macro
	InC, H, W int
	Classes   int
	Batch     int // images per forward pass (default 1)
	Repeats   int // timed forward passes per option (default 20); the median is kept
	Warmup    int // untimed passes first (default 3)
	Device    string
	Seed      uint64
	WallClock bool // time wall-clock instead of process CPU time
}

func (cfg MeasureConfig) withDefaults() MeasureConfig {
	if cfg.Batch <= 0 {
		cfg.Batch = 1
	}
	if cfg.Repeats <= 0 {
		cfg.Repeats = 20
	}
	if cfg.Warmup <= 0 {
		cfg.Warmup = 3
	}
	return cfg
}

// segmentTime builds a float32 eval graph of build(builder, input) on an
// input of shape (batch, c, h, w) and returns the median forward time in ms.
func segmentTime(cfg MeasureConfig, c, h, w int, build func(b *builder, x *G.Node) (*G.Node, error)) (float64, error) {
	ps := newParams(tensor.Float32, rand.New(rand.NewPCG(cfg.Seed, 9)))
	vm, err := rebuilt(func() (G.VM, error) {
		b := &builder{g: G.NewGraph(), ps: ps, bound: map[string]*G.Node{}}
		x := G.NewTensor(b.g, tensor.Float32, 4, G.WithShape(cfg.Batch, c, h, w), G.WithName("input"),
			G.WithValue(tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(cfg.Batch, c, h, w))))
		xs := x.Value().Data().([]float32)
		rng := rand.New(rand.NewPCG(cfg.Seed, 10))
		for i := range xs {
			xs[i] = float32(rng.NormFloat64())
		}
		if _, err := build(b, x); err != nil {
			return nil, err
		}
		return newMachine(b.g, nil)
	})
	if err != nil {
		return 0, err
	}
	defer vm.Close()
	return medianPass(cfg, vm)
}

// medianPass runs the machine Warmup+Repeats times and returns the median
// per-pass cost in ms: process CPU time (user+system, all threads) when
// cfg.WallClock is false, which other processes on a shared machine
// disturb far less than wall time.
func medianPass(cfg MeasureConfig, vm G.VM) (float64, error) {
	times := make([]float64, 0, cfg.Repeats)
	for k := 0; k < cfg.Warmup+cfg.Repeats; k++ {
		c0, t0 := cpuTime(), time.Now()
		if err := vm.RunAll(); err != nil {
			return 0, err
		}
		d := time.Since(t0).Seconds() * 1e3
		if !cfg.WallClock {
			d = (cpuTime() - c0) * 1e3
		}
		vm.Reset()
		if k >= cfg.Warmup {
			times = append(times, d)
		}
	}
	sort.Float64s(times)
	return times[len(times)/2], nil
}

// cpuTime is the process's user+system CPU time in seconds.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// MeasureLatency times every op of every searched layer (a one-block graph
// at that layer's input size) and the fixed parts (stem with block 0; block
// 21 with the head and classifier) as float32 forward passes in evaluation
// mode on this machine (median process CPU time per pass, or wall time with
// WallClock), and returns the table in ms. progress (may be nil)
// gets one line per layer.
func MeasureLatency(cfg MeasureConfig, progress func(string)) (*LatencyTable, error) {
	cfg = cfg.withDefaults()
	if progress == nil {
		progress = func(string) {}
	}
	m := cfg.Macro
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("train: measure: %w", err)
	}
	if cfg.InC <= 0 || cfg.H <= 0 || cfg.W <= 0 || cfg.Classes <= 0 {
		return nil, fmt.Errorf("%w: measure: input %dx%dx%d, %d classes", ErrConfig, cfg.InC, cfg.H, cfg.W, cfg.Classes)
	}
	blocks := m.Blocks()
	// Spatial size at each block's input.
	h, w := outSize(cfg.H, 3, m.StemStride, 1, 1), outSize(cfg.W, 3, m.StemStride, 1, 1)
	hs, ws := make([]int, len(blocks)+1), make([]int, len(blocks)+1)
	for i, blk := range blocks {
		hs[i], ws[i] = h, w
		h, w = (h-1)/blk.Stride+1, (w-1)/blk.Stride+1
	}
	hs[len(blocks)], ws[len(blocks)] = h, w
	t := &LatencyTable{Format: LatencyFormat, Unit: "ms", Device: cfg.Device, Batch: cfg.Batch,
		Macro: &MacroJSON{Width: m.Width, Divisor: m.Divisor, StemStride: m.StemStride}, Input: []int{cfg.InC, cfg.H, cfg.W},
		Layers: make([]LayerLatency, mbv2.Layers)}
	none := [numDec]*G.Node{}
	front, err := segmentTime(cfg, cfg.InC, cfg.H, cfg.W, func(b *builder, x *G.Node) (*G.Node, error) {
		y, err := b.conv(x, "stem", cfg.InC, m.Stem(), 3, m.StemStride, 1)
		if err == nil {
			y, err = b.batchNorm(y, "stem.bn", m.Stem())
		}
		if err == nil {
			y, err = G.Rectify(y)
		}
		if err == nil {
			y, _, err = b.mbconv(y, "b0", blocks[0], 3, blocks[0].Expand, false, none)
		}
		return y, err
	})
	if err != nil {
		return nil, fmt.Errorf("train: measure: stem: %w", err)
	}
	lastBlk := blocks[len(blocks)-1]
	back, err := segmentTime(cfg, lastBlk.In, hs[len(blocks)-1], ws[len(blocks)-1], func(b *builder, x *G.Node) (*G.Node, error) {
		y, _, err := b.mbconv(x, "b21", lastBlk, 3, lastBlk.Expand, false, none)
		if err == nil {
			y, err = b.conv(y, "head", lastBlk.Out, m.Head(), 1, 1, 0)
		}
		if err == nil {
			y, err = b.batchNorm(y, "head.bn", m.Head())
		}
		if err == nil {
			y, err = G.Rectify(y)
		}
		if err == nil {
			y, err = GlobalAvgPool(y)
		}
		if err == nil {
			fw := b.param("fc.w", []int{m.Head(), cfg.Classes}, constInit(0.01))
			fb := b.param("fc.b", []int{cfg.Classes}, constInit(0))
			y, err = linear(y, fw, fb)
		}
		return y, err
	})
	if err != nil {
		return nil, fmt.Errorf("train: measure: head: %w", err)
	}
	t.Base = front + back
	progress(fmt.Sprintf("base (stem, block 0, block 21, head): %.4f ms", t.Base))
	for i, blk := range blocks {
		if blk.Layer < 0 {
			continue
		}
		var l LayerLatency
		for _, o := range []mbv2.Op{mbv2.K3E3, mbv2.K3E6, mbv2.K5E3, mbv2.K5E6} {
			ms, err := segmentTime(cfg, blk.In, hs[i], ws[i], func(b *builder, x *G.Node) (*G.Node, error) {
				y, _, err := b.mbconv(x, "blk", blk, o.Kernel(), o.Expansion(), false, none)
				return y, err
			})
			if err != nil {
				return nil, fmt.Errorf("train: measure: layer %d %s: %w", blk.Layer, o, err)
			}
			switch o {
			case mbv2.K3E3:
				l.K3E3 = ms
			case mbv2.K3E6:
				l.K3E6 = ms
			case mbv2.K5E3:
				l.K5E3 = ms
			case mbv2.K5E6:
				l.K5E6 = ms
			}
		}
		t.Layers[blk.Layer] = l
		progress(fmt.Sprintf("layer %2d (%dx%d, %d→%d, s%d): k3e3 %.4f  k3e6 %.4f  k5e3 %.4f  k5e6 %.4f ms",
			blk.Layer, hs[i], ws[i], blk.In, blk.Out, blk.Stride, l.K3E3, l.K3E6, l.K5E3, l.K5E6))
	}
	return t, nil
}

// MeasureArch times a whole child network's forward pass (same protocol as
// MeasureLatency), to check the table's additivity.
func MeasureArch(cfg MeasureConfig, a mbv2.Arch) (float64, error) {
	cfg = cfg.withDefaults()
	ps := newParams(tensor.Float32, rand.New(rand.NewPCG(cfg.Seed, 9)))
	mm, err := buildMBV2(ps, mbSpec{Macro: cfg.Macro, Arch: &a, InC: cfg.InC, H: cfg.H, W: cfg.W, Class: cfg.Classes}, cfg.Batch, false)
	if err != nil {
		return 0, err
	}
	defer mm.vm.Close()
	return medianPass(cfg, mm.vm)
}
