package mbv2

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParsePrintRoundTrip(t *testing.T) {
	for _, s := range []string{
		"k3e3,k3e3,k3e3,k3e3+k3e3,k3e3,k3e3,k3e3+k3e3,k3e3,k3e3,k3e3+k3e3,k3e3,k3e3,k3e3+k3e3,k3e3,k3e3,k3e3",
		"k5e6,skip,skip,skip+k5e6,skip,skip,skip+k5e6,skip,skip,skip+k5e6,skip,skip,skip+k5e6,skip,skip,skip",
		"k3e6,k5e3,skip,k3e3+k5e6,k3e3,skip,k5e6+k3e3,k3e6,k5e3,skip+k5e3,k5e3,k3e6,skip+k5e6,k5e6,k5e6,k3e6",
	} {
		a, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := a.String(); got != s {
			t.Errorf("round trip: %q -> %q", s, got)
		}
		if b := FromCode(a.Code()); b != a {
			t.Errorf("code round trip of %q: %v", s, b)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		a := Sample(rng)
		if !a.Valid() {
			t.Fatalf("Sample gave invalid %v", a)
		}
		b, err := Parse(a.String())
		if err != nil || b != a {
			t.Fatalf("round trip of %s: %v %v", a, b, err)
		}
		if c := a.Code(); c < 0 || c >= NumArchs || FromCode(c) != a {
			t.Fatalf("code %d of %s", c, a)
		}
	}
}

func TestCodeExtremes(t *testing.T) {
	lo, hi := FromCode(0), FromCode(NumArchs-1)
	if lo.String() != "k3e3,skip,skip,skip+k3e3,skip,skip,skip+k3e3,skip,skip,skip+k3e3,skip,skip,skip+k3e3,skip,skip,skip" {
		t.Errorf("code 0 = %s", lo)
	}
	for i := range hi {
		if hi.Op(i) != K5E6 {
			t.Errorf("last code layer %d = %s", i, hi.Op(i))
		}
	}
	if NumArchs != 31250000000000 {
		t.Errorf("NumArchs = %d", NumArchs)
	}
}

func TestParseErrors(t *testing.T) {
	good := "k3e6,k5e3,skip,k3e3+k5e6,k3e3,skip,k5e6+k3e3,k3e6,k5e3,skip+k5e3,k5e3,k3e6,skip+k5e6,k5e6,k5e6,k3e6"
	for _, tc := range []struct{ name, s, want string }{
		{"empty", "", "1 stages"},
		{"four stages", good[:strings.LastIndex(good, "+")], "4 stages"},
		{"short stage", strings.Replace(good, "k3e6,k5e3,skip,k3e3", "k3e6,k5e3,skip", 1), "stage 1 has 3 layers"},
		{"unknown op", strings.Replace(good, "k5e3", "k7e3", 1), `unknown op "k7e3"`},
		{"first skip", strings.Replace(good, "k5e6,k3e3,skip", "skip,k3e3,skip", 1), "stage 2 layer 1 cannot be skip"},
		{"space", strings.Replace(good, ",", ", ", 1), `unknown op " k5e3"`},
		{"long", strings.Repeat("k3e3,", 200), "longer than any arch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.s)
			if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) = %v, want ErrSyntax containing %q", tc.s, err, tc.want)
			}
		})
	}
}

func TestMutateAndNeighbours(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var nb []int64
	for range 500 {
		a := Sample(rng)
		b := a.Mutate(rng)
		if !b.Valid() {
			t.Fatalf("Mutate(%s) = invalid %v", a, b)
		}
		diff := 0
		for i := range a {
			if a[i] != b[i] {
				diff++
			}
		}
		if diff != 1 {
			t.Fatalf("Mutate(%s) = %s: %d layers differ", a, b, diff)
		}
		nb = a.Neighbours(nb)
		if len(nb) != 5*3+15*4 {
			t.Fatalf("%d neighbours", len(nb))
		}
		seen := map[int64]bool{}
		found := false
		for _, c := range nb {
			if seen[c] || c == a.Code() {
				t.Fatalf("neighbour %d repeated or self", c)
			}
			seen[c] = true
			found = found || c == b.Code()
		}
		if !found {
			t.Fatalf("mutation %s not among the neighbours of %s", b, a)
		}
	}
}

func TestMutateUniform(t *testing.T) {
	// Every neighbour is reached with probability 1/20 · 1/(choices−1).
	a, _ := Parse("k3e6,k5e3,skip,k3e3+k5e6,k3e3,skip,k5e6+k3e3,k3e6,k5e3,skip+k5e3,k5e3,k3e6,skip+k5e6,k5e6,k5e6,k3e6")
	rng := rand.New(rand.NewPCG(5, 6))
	counts := map[int64]int{}
	const n = 150000
	for range n {
		counts[a.Mutate(rng).Code()]++
	}
	if len(counts) != 75 {
		t.Fatalf("%d distinct mutations, want 75", len(counts))
	}
	for c, k := range counts {
		b := FromCode(c)
		var layer int
		for i := range a {
			if a[i] != b[i] {
				layer = i
			}
		}
		p := 1.0 / 20 / float64(choices(layer)-1)
		if got := float64(k) / n; got < 0.85*p || got > 1.15*p {
			t.Errorf("mutation %s: frequency %.4f, want %.4f", b, got, p)
		}
	}
}

func TestOneHot(t *testing.T) {
	a, _ := Parse("k3e6,k5e3,skip,k3e3+k5e6,k3e3,skip,k5e6+k3e3,k3e6,k5e3,skip+k5e3,k5e3,k3e6,skip+k5e6,k5e6,k5e6,k3e6")
	dst := make([]float64, Dim)
	for i := range dst {
		dst[i] = 7
	}
	a.OneHot(dst)
	sum := 0.0
	for _, v := range dst {
		sum += v
	}
	if sum != Layers || dst[0*NumOps+int(K3E6)] != 1 || dst[2*NumOps+int(Skip)] != 1 || dst[19*NumOps+int(K3E6)] != 1 {
		t.Errorf("one-hot %v", dst)
	}
}

func TestMacroReference(t *testing.T) {
	bs := Reference.Blocks()
	if len(bs) != 22 {
		t.Fatalf("%d blocks", len(bs))
	}
	// supernet_macro.py block strings (in, out, stride) at width 1.
	want := [][3]int{{32, 16, 1},
		{16, 24, 2}, {24, 24, 1}, {24, 24, 1}, {24, 24, 1},
		{24, 40, 2}, {40, 40, 1}, {40, 40, 1}, {40, 40, 1},
		{40, 80, 2}, {80, 80, 1}, {80, 80, 1}, {80, 80, 1},
		{80, 96, 1}, {96, 96, 1}, {96, 96, 1}, {96, 96, 1},
		{96, 192, 2}, {192, 192, 1}, {192, 192, 1}, {192, 192, 1},
		{192, 320, 1}}
	for i, b := range bs {
		if [3]int{b.In, b.Out, b.Stride} != want[i] {
			t.Errorf("block %d = %+v, want %v", i, b, want[i])
		}
		if (i == 0 || i == 21) != (b.Layer < 0) || (b.Layer >= 0 && b.Layer != i-1) {
			t.Errorf("block %d layer %d", i, b.Layer)
		}
		// The skippable layers are exactly the residual ones.
		if b.Layer >= 0 && Skippable(b.Layer) != b.Residual() {
			t.Errorf("block %d: skippable %v, residual %v", i, Skippable(b.Layer), b.Residual())
		}
	}
	if Reference.Stem() != 32 || Reference.Head() != 1280 {
		t.Errorf("stem %d head %d", Reference.Stem(), Reference.Head())
	}
	// make_divisible at width 0.25: 40·0.25 = 10 → 8 is under 90 % → 16.
	q := Macro{Width: 0.25, Divisor: 8, StemStride: 1}
	if q.Channels(40) != 16 || q.Channels(24) != 8 || q.Channels(1280) != 320 || q.Channels(96) != 24 {
		t.Errorf("width 0.25 channels %d %d %d %d", q.Channels(40), q.Channels(24), q.Channels(1280), q.Channels(96))
	}
	if err := (Macro{Width: 0, Divisor: 8, StemStride: 1}).Validate(); err == nil {
		t.Error("width 0 validated")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("k3e6,k5e3,skip,k3e3+k5e6,k3e3,skip,k5e6+k3e3,k3e6,k5e3,skip+k5e3,k5e3,k3e6,skip+k5e6,k5e6,k5e6,k3e6")
	f.Add("k3e3,k3e3+")
	f.Add("+++++")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v is not ErrSyntax", err)
			}
			return
		}
		if !a.Valid() || a.String() != s || FromCode(a.Code()) != a {
			t.Fatalf("%q parsed to %v", s, a)
		}
	})
}
