package train

import (
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// script is a Uniform that replays given draws and records the IntN bounds
// it was asked for.
type script struct {
	t     *testing.T
	f     []float64
	n     []int
	asked []int
}

func (s *script) Float64() float64 {
	if len(s.f) == 0 {
		s.t.Fatal("script: out of Float64 draws")
	}
	v := s.f[0]
	s.f = s.f[1:]
	return v
}

func (s *script) IntN(n int) int {
	if len(s.n) == 0 {
		s.t.Fatal("script: out of IntN draws")
	}
	v := s.n[0]
	s.n = s.n[1:]
	s.asked = append(s.asked, n)
	return v
}

func TestRandomResizedCropBox(t *testing.T) {
	def := [2]float64{0.08, 1}
	rat := [2]float64{3.0 / 4, 4.0 / 3}
	tooBig := func(k int) []float64 { // k tries of area 100 %, aspect 3/4
		var f []float64
		for range k {
			f = append(f, 1, 0)
		}
		return f
	}
	for _, tc := range []struct {
		name  string
		w, h  int
		f     []float64
		n     []int
		want  Box
		asked []int
	}{
		// 200×100: try 1 area 20000·0.54 = 10800, aspect 1 → 104×104 does
		// not fit; try 2 area 1600 → 40×40, top ~ U{0..60} = 7, left ~ U{0..160} = 100.
		{"second try", 200, 100, []float64{0.5, 0.5, 0, 0.5}, []int{7, 100}, Box{7, 100, 40, 40}, []int{61, 161}},
		// 200×100, area 20000·(0.08+0.92·0.25) = 6200, aspect e^{log(4/3)} = 4/3:
		// w = round(√8266.7) = round(90.92) = 91, h = round(√4650) = round(68.19) = 68.
		{"aspect", 200, 100, []float64{0.25, 1}, []int{32, 0}, Box{32, 0, 68, 91}, []int{33, 110}},
		// 100×10 (ratio 10 > 4/3): 10 failed tries, then h = 10, w = round(13.33) = 13, centred.
		{"fallback wide", 100, 10, tooBig(10), nil, Box{0, 43, 10, 13}, nil},
		// 10×100 (ratio 0.1 < 3/4): w = 10, h = round(10/0.75) = 13, top (100−13)/2 = 43.
		{"fallback tall", 10, 100, tooBig(10), nil, Box{43, 0, 13, 10}, nil},
		// 30×30 (ratio 1, in range; every try is area 900, aspect 3/4 →
		// 26×35, too tall): the whole image.
		{"fallback whole", 30, 30, tooBig(10), nil, Box{0, 0, 30, 30}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{t: t, f: tc.f, n: tc.n}
			got := RandomResizedCropBox(s, tc.w, tc.h, def, rat)
			if got != tc.want {
				t.Errorf("box %+v, want %+v", got, tc.want)
			}
			if len(s.f) != 0 || len(s.n) != 0 {
				t.Errorf("draws left over: %v %v", s.f, s.n)
			}
			if len(s.asked) != len(tc.asked) || (len(tc.asked) > 0 && (s.asked[0] != tc.asked[0] || s.asked[1] != tc.asked[1])) {
				t.Errorf("IntN bounds %v, want %v", s.asked, tc.asked)
			}
		})
	}
	// A seeded source: boxes stay inside, and accepted boxes obey the
	// scale and ratio ranges up to rounding.
	rng := rand.New(rand.NewPCG(7, 7))
	for range 5000 {
		w, h := 1+rng.IntN(300), 1+rng.IntN(300)
		b := RandomResizedCropBox(rng, w, h, def, rat)
		if b.I < 0 || b.J < 0 || b.H < 1 || b.W < 1 || b.I+b.H > h || b.J+b.W > w {
			t.Fatalf("%dx%d: box %+v outside", w, h, b)
		}
	}
}

func TestPyRoundAndEvalBoxes(t *testing.T) {
	if pyRound(2.5) != 2 || pyRound(3.5) != 4 || pyRound(-0.5) != 0 || pyRound(58.5) != 58 {
		t.Error("pyRound is not half-to-even")
	}
	// ImageNet's Resize(256) + CenterCrop(224) on a 500×375 image: 341×256,
	// left round(58.5) = 58 (half to even), top round(16) = 16.
	tr := Transform{Size: 224}
	if tr.withDefaults().Resize != 256 {
		t.Errorf("default resize %d", tr.withDefaults().Resize)
	}
	if w, h := ResizeShorter(500, 375, 256); w != 341 || h != 256 {
		t.Errorf("resize %dx%d", w, h)
	}
	if b, flip := tr.Boxes(nil, 500, 375); b != (Box{16, 58, 224, 224}) || flip {
		t.Errorf("eval box %+v %v", b, flip)
	}
	if b, _ := tr.Boxes(nil, 375, 500); b != (Box{58, 16, 224, 224}) {
		t.Errorf("portrait eval box %+v", b)
	}
}

// writeHalfJPEG writes a w×h JPEG whose columns < edge are black and the
// rest white.
func writeHalfJPEG(t *testing.T, path string, w, h, edge int) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(0)
			if x >= edge {
				v = 255
			}
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestImageFolderTransforms(t *testing.T) {
	root := t.TempDir()
	writeHalfJPEG(t, filepath.Join(root, "n02", "b.JPEG"), 64, 48, 32)
	writeHalfJPEG(t, filepath.Join(root, "n01", "a.jpg"), 64, 48, 32)
	writeHalfJPEG(t, filepath.Join(root, "n01", "c.png.txt"), 8, 8, 4) // not an image name
	fs, err := ScanImageFolder(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs.Files) != 2 || fs.Classes[0] != "n01" || fs.Labels[0] != 0 || fs.Labels[1] != 1 {
		t.Fatalf("scan: %+v", fs)
	}
	img, err := fs.Decode(0)
	if err != nil {
		t.Fatal(err)
	}
	norm := Norm{Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	const S = 16
	black, white := -0.485/0.229, (1-0.485)/0.229
	// column x of channel 0, mean over rows
	col := func(dst []float64, x int) float64 {
		s := 0.0
		for y := 0; y < S; y++ {
			s += dst[y*S+x]
		}
		return s / S
	}
	near := func(v, want float64) bool { return math.Abs(v-want) < 0.25 }
	check := func(name string, dst []float64, edge float64) {
		t.Helper()
		for x := 0; x < S; x++ {
			v := col(dst, x)
			switch {
			case float64(x)+1 < edge-0.5 && !near(v, black):
				t.Errorf("%s: column %d = %.2f, want black %.2f (edge at %.1f)", name, x, v, black, edge)
			case float64(x) > edge+0.5 && !near(v, white):
				t.Errorf("%s: column %d = %.2f, want white %.2f (edge at %.1f)", name, x, v, white, edge)
			}
		}
	}
	dst := make([]float64, 3*S*S)
	// Evaluation: 64×48 → Resize(18) = 24×18, centre crop 16 at left
	// round(4) = 4, top round(1) = 1; the edge at source x = 32 lands at
	// resized 12, crop column 8.
	ev := Transform{Size: S, Resize: 18, Norm: norm}
	box, _ := Apply(ev, img, nil, dst)
	if box != (Box{1, 4, 16, 16}) {
		t.Errorf("eval box %+v", box)
	}
	check("eval", dst, 8)
	// Training: area 3072·(0.08+0.92·0.5) = 1658.9, aspect 1 → 41×41;
	// top U{0..7} = 3, left U{0..23} = 16; flip draw 0.9 (no flip). The edge
	// at source 32 is at box column 16 of 41 → output 16·16/41 = 6.2.
	tr := Transform{Size: S, Train: true, Flip: true, Norm: norm}
	s := &script{t: t, f: []float64{0.5, 0.5, 0.9}, n: []int{3, 16}}
	box, flip := Apply(tr, img, s, dst)
	if box != (Box{3, 16, 41, 41}) || flip || len(s.asked) != 2 || s.asked[0] != 8 || s.asked[1] != 24 {
		t.Fatalf("train box %+v flip %v asked %v", box, flip, s.asked)
	}
	check("train", dst, 16.0*16/41)
	// The same box flipped (draw 0.1): the edge mirrors to 16 − 6.2, white on the left.
	s = &script{t: t, f: []float64{0.5, 0.5, 0.1}, n: []int{3, 16}}
	if _, flip := Apply(tr, img, s, dst); !flip {
		t.Fatal("no flip")
	}
	for x := 0; x < S; x++ {
		v := col(dst, x)
		if (x < 8 && !near(v, white)) || (x > 10 && !near(v, black)) {
			t.Errorf("flipped column %d = %.2f", x, v)
		}
	}
	if _, err := ScanImageFolder(filepath.Join(root, "missing"), 0); !errors.Is(err, ErrNoData) {
		t.Errorf("missing folder: %v", err)
	}
}
