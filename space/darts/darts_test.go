package darts

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRoundTrip: the published genotypes parse and print back unchanged
// (darts-pt's range(2, 6) concat prints as [2, 3, 4, 5]).
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct{ name, s, want string }{
		{"DARTS_V1", DARTSV1, DARTSV1},
		{"DARTS_V2", DARTSV2, DARTSV2},
		{"darts_pt_s5_0", DARTSPTS50, strings.ReplaceAll(DARTSPTS50, "range(2, 6)", "[2, 3, 4, 5]")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Parse(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.String(); got != tc.want {
				t.Fatalf("round trip:\n got %s\nwant %s", got, tc.want)
			}
			g2, err := Parse(g.String())
			if err != nil || g2 != g {
				t.Fatalf("second round trip: %v %v", g2, err)
			}
		})
	}
	g := MustParse(DARTSV2)
	// DARTS_V2 by hand: normal node 3 = skip_connect from input 0 and
	// dil_conv_3x3 from node 0 (input 2); reduce pair 0 = max_pool from c_{k-2}.
	if g.Normal[6] != (Pair{SkipConnect, 0}) || g.Normal[7] != (Pair{DilConv3x3, 2}) || g.Reduce[0] != (Pair{MaxPool3x3, 0}) {
		t.Fatalf("DARTS_V2 parsed as %+v", g)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, s, want string }{
		{"empty", "", "want Genotype("},
		{"unknown op", strings.Replace(DARTSV2, "dil_conv_3x3", "conv_7x1_1x7", 1), "unknown op"},
		{"bad input", strings.Replace(DARTSV2, "('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)", 1), "input"},
		{"node 0 reads node", strings.Replace(DARTSV2, "[('sep_conv_3x3', 0)", "[('sep_conv_3x3', 2)", 1), "input"},
		{"7 pairs", strings.Replace(DARTSV2, ", ('dil_conv_3x3', 2)", "", 1), "7 pairs"},
		{"concat", strings.Replace(DARTSV2, "normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 4]", 1), "concatenates"},
		{"missing reduce", "Genotype(normal=[], normal_concat=[2, 3, 4, 5])", "pairs"},
		{"unbalanced", "Genotype(normal=[('sep_conv_3x3', 0)", "unbalanced"},
		{"huge", strings.Repeat("x", 5000), "longer than any"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.s)
			if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v, want ErrSyntax mentioning %q", err, tc.want)
			}
		})
	}
}

// TestCodeRandomMutate: codes are dense and invertible, random genotypes are
// searchable, and every neighbour differs in exactly one pair.
func TestCodeRandomMutate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	if c, ok := MustParse(DARTSV2).Code(); !ok || FromCode(c) != MustParse(DARTSV2).Canonical() {
		t.Fatal("DARTS_V2 has no code or it does not invert")
	}
	seen := map[uint64]bool{}
	for range 2000 {
		g := Random(rng)
		if !g.Searchable() || g != g.Canonical() {
			t.Fatalf("Random gave %v", g)
		}
		c, ok := g.Code()
		if !ok || c >= NumGenotypes || FromCode(c) != g {
			t.Fatalf("code %d of %v does not invert", c, g)
		}
		seen[c] = true
		nb := g.Neighbours(nil)
		if len(nb) != 120 {
			t.Fatalf("%d neighbours, want 120", len(nb))
		}
		codes := map[uint64]bool{}
		for _, n := range nb {
			nc, ok := n.Code()
			if !ok || codes[nc] || nc == c {
				t.Fatalf("neighbour %v repeated, equal to g or not searchable", n)
			}
			codes[nc] = true
			if d := pairDiff(g, n); d != 1 {
				t.Fatalf("neighbour differs in %d pairs", d)
			}
		}
		if m, _ := g.Mutate(rng).Code(); !codes[m] {
			t.Fatal("Mutate gave a non-neighbour")
		}
	}
	if len(seen) < 1999 {
		t.Fatalf("only %d distinct random genotypes of 2000", len(seen))
	}
	// Ops are uniform over the 7 non-none ops (3.5σ band).
	var count [NumOps]int
	for range 7000 {
		for _, p := range Random(rng).Normal {
			count[p.Op]++
		}
	}
	for op := 1; op < NumOps; op++ {
		if count[op] < 7680 || count[op] > 8320 {
			t.Fatalf("op %s drawn %d times of 56000, want ≈ 8000", OpNames[op], count[op])
		}
	}
	if count[None] != 0 {
		t.Fatal("Random drew none")
	}
}

func pairDiff(a, b Genotype) int {
	d := 0
	for ci := range 2 {
		x, y := a.Cells()[ci].Canonical(), b.Cells()[ci].Canonical()
		for p := range x {
			if x[p] != y[p] {
				d++
			}
		}
	}
	// Changing the input may swap the node's canonical order: count nodes.
	if d > 1 {
		nodes := 0
		for ci := range 2 {
			x, y := a.Cells()[ci].Canonical(), b.Cells()[ci].Canonical()
			for i := 0; i < NumNodes; i++ {
				if x[2*i] != y[2*i] || x[2*i+1] != y[2*i+1] {
					nodes++
					if !(x[2*i] == y[2*i] || x[2*i] == y[2*i+1] || x[2*i+1] == y[2*i] || x[2*i+1] == y[2*i+1]) {
						return 2
					}
				}
			}
		}
		return nodes
	}
	return d
}

func TestOneHot(t *testing.T) {
	g := MustParse(DARTSV2)
	x := make([]float64, Dim)
	g.OneHot(x)
	sum := 0.0
	for _, v := range x {
		sum += v
	}
	if sum != 16 {
		t.Fatalf("one-hot sums to %v, want 16", sum)
	}
	// normal node 3 dil_conv_3x3 from input 2: edge 9+2 = 11.
	if x[Edge(3, 2)*NumOps+DilConv3x3] != 1 || x[NumEdges*NumOps+Edge(0, 1)*NumOps+MaxPool3x3] != 1 {
		t.Fatal("one-hot misses DARTS_V2's pairs")
	}
	if n, i := EdgeEnds(11); n != 3 || i != 2 {
		t.Fatalf("EdgeEnds(11) = %d, %d", n, i)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{DARTSV1, DARTSV2, DARTSPTS50, "Genotype()", "Genotype(normal=[(", "Genotype(normal=[('none', 0)])"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := Parse(s)
		if err != nil {
			return
		}
		if !g.Valid() {
			t.Fatalf("Parse accepted an invalid genotype %v", g)
		}
		if g2, err := Parse(g.String()); err != nil || g2 != g {
			t.Fatalf("round trip of %q: %v", s, err)
		}
	})
}
