package train

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestParseIDX(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		dims []int
		data []uint8
		err  error
	}{
		{"labels", []byte{0, 0, 8, 1, 0, 0, 0, 2, 5, 7}, []int{2}, []uint8{5, 7}, nil},
		{"images", []byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 9, 8}, []int{1, 1, 2}, []uint8{9, 8}, nil},
		{"short_header", []byte{0, 0}, nil, nil, ErrTruncated},
		{"float_magic", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, nil, nil, ErrFormat},
		{"truncated_data", []byte{0, 0, 8, 1, 0, 0, 0, 3, 1}, nil, nil, ErrTruncated},
		{"zero_dim", []byte{0, 0, 8, 1, 0, 0, 0, 0}, nil, nil, ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dims, data, err := ParseIDX(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if tc.err == nil && (len(dims) != len(tc.dims) || !bytes.Equal(data, tc.data)) {
				t.Fatalf("dims %v data %v, want %v %v", dims, data, tc.dims, tc.data)
			}
		})
	}
}

func FuzzParseIDX(f *testing.F) {
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 2, 5, 7})
	f.Add([]byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		dims, data, err := ParseIDX(b)
		if err != nil {
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if len(data) != n || int(binary.BigEndian.Uint32(b)&0xff) != len(dims) {
			t.Fatalf("dims %v but %d bytes", dims, len(data))
		}
	})
}

func TestParseCIFAR10(t *testing.T) {
	rec := make([]byte, 2*CIFARRecord)
	rec[0], rec[CIFARRecord] = 3, 9
	rec[1], rec[CIFARRecord+3072] = 17, 42
	d := &Dataset{}
	if err := ParseCIFAR10(rec, d, "batch"); err != nil {
		t.Fatal(err)
	}
	if d.N != 2 || d.Labels[0] != 3 || d.Labels[1] != 9 || d.image(0)[0] != 17 || d.image(1)[3071] != 42 {
		t.Fatalf("parsed %d records, labels %v", d.N, d.Labels)
	}
	if err := ParseCIFAR10(rec[:CIFARRecord+10], &Dataset{}, "cut"); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated: %v", err)
	}
	rec[0] = 10
	if err := ParseCIFAR10(rec, &Dataset{}, "bad"); !errors.Is(err, ErrFormat) {
		t.Fatalf("label 10: %v", err)
	}
}

func FuzzParseCIFAR10(f *testing.F) {
	f.Add(make([]byte, CIFARRecord))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := &Dataset{}
		if err := ParseCIFAR10(b, d, "fuzz"); err != nil {
			return
		}
		if d.N*CIFARRecord != len(b) || len(d.Pixels) != d.N*3072 {
			t.Fatalf("%d records from %d bytes", d.N, len(b))
		}
	})
}

func TestReadIDXErrors(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, filepath.Join(dir, "img.gz"), []int{3, 2, 2}, make([]uint8, 12))
	writeIDX(t, filepath.Join(dir, "lab.gz"), []int{2}, []uint8{1, 2})
	os.WriteFile(filepath.Join(dir, "junk.gz"), []byte{0x1f, 0x8b, 1, 2, 3}, 0o644)
	for _, tc := range []struct {
		name, img, lab string
		want           error
	}{
		{"label_count", "img.gz", "lab.gz", ErrFormat},
		{"missing", "img.gz", "none.gz", ErrNoData},
		{"bad_gzip", "junk.gz", "lab.gz", ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadIDX(filepath.Join(dir, tc.img), filepath.Join(dir, tc.lab))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestAugmentation checks the seeded crop/flip/cutout: same seed, same
// batch; flips mirror rows; cutout zeroes a square.
func TestAugmentation(t *testing.T) {
	d := &Dataset{N: 1, C: 1, H: 4, W: 4, Classes: 2, Labels: []uint8{1}}
	for i := 0; i < 16; i++ {
		d.Pixels = append(d.Pixels, uint8(i*10))
	}
	norm := Norm{Mean: []float64{0}, Std: []float64{1.0 / 255}} // x = pixel value
	x := make([]float64, 16)
	y := make([]float64, 2)
	lab := make([]int, 1)
	t.Run("identity", func(t *testing.T) {
		l := newLoader(d, []int{0}, false, Augment{}, norm)
		fill(l, 0, 1, x, y, lab, nil)
		if x[5] != 50 || y[1] != 1 || lab[0] != 1 {
			t.Fatalf("x %v y %v", x, y)
		}
	})
	t.Run("flip", func(t *testing.T) {
		l := newLoader(d, []int{0}, false, Augment{Flip: true}, norm)
		for seed := uint64(0); seed < 8; seed++ {
			fill(l, 0, 1, x, y, lab, rand.New(rand.NewPCG(seed, 0)))
			if x[0] == 30 && x[3] == 0 && x[4] == 70 {
				return
			}
		}
		t.Fatal("no flipped batch in 8 seeds")
	})
	t.Run("crop_deterministic", func(t *testing.T) {
		l := newLoader(d, []int{0}, false, Augment{CropPad: 2}, norm)
		a, b := make([]float64, 16), make([]float64, 16)
		fill(l, 0, 1, a, y, lab, rand.New(rand.NewPCG(5, 5)))
		fill(l, 0, 1, b, y, lab, rand.New(rand.NewPCG(5, 5)))
		for i := range a {
			if a[i] != b[i] {
				t.Fatal("same seed gave different crops")
			}
		}
	})
	t.Run("cutout", func(t *testing.T) {
		l := newLoader(d, []int{0}, false, Augment{Cutout: 4}, norm)
		fill(l, 0, 1, x, y, lab, rand.New(rand.NewPCG(1, 2)))
		zeros := 0
		for _, v := range x {
			if v == 0 {
				zeros++
			}
		}
		if zeros < 4 { // a 4-wide square clipped at the border still covers >= 2×2
			t.Fatalf("cutout zeroed %d values", zeros)
		}
	})
}

func TestSplitIndices(t *testing.T) {
	a, b := splitIndices(100, 0.2, rand.New(rand.NewPCG(1, 1)))
	c, _ := splitIndices(100, 0.2, rand.New(rand.NewPCG(1, 1)))
	if len(a) != 80 || len(b) != 20 {
		t.Fatalf("split %d/%d, want 80/20", len(a), len(b))
	}
	seen := map[int]bool{}
	for _, i := range append(append([]int{}, a...), b...) {
		seen[i] = true
	}
	if len(seen) != 100 {
		t.Fatalf("split covers %d of 100", len(seen))
	}
	for i := range a {
		if a[i] != c[i] {
			t.Fatal("same seed, different split")
		}
	}
}
