package nb101

import (
	"errors"
	"strings"
	"testing"
)

// FuzzFromParts feeds arbitrary adjacency strings and op lists to the spec
// parser: it must never panic, must reject with ErrOutOfDomain, and an
// accepted spec must round-trip through NewSpec with the same hash.
func FuzzFromParts(f *testing.F) {
	f.Add("0100110001000000010010000010000001000000010000000", "input,conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,conv1x1-bn-relu,output")
	f.Add("0100", "input,output")
	f.Add("0110", "input,output")
	f.Add("010001000", "input,conv5x5,output")
	f.Fuzz(func(t *testing.T, adj, opList string) {
		var ops []Op
		for _, name := range strings.Split(opList, ",") {
			o, _ := ParseOp(name)
			ops = append(ops, o)
		}
		s, err := FromParts(adj, ops)
		if err != nil {
			if !errors.Is(err, ErrOutOfDomain) {
				t.Fatalf("error %v does not wrap ErrOutOfDomain", err)
			}
			return
		}
		if s.N < 2 || s.N > MaxVertices || s.NumEdges() > MaxEdges {
			t.Fatalf("accepted spec out of limits: %v", s)
		}
		again, err := NewSpec(s.Matrix(), s.OpNames())
		if err != nil || again != s || again.Hash() != s.Hash() {
			t.Fatalf("round trip of %v: %v, %v", s, again, err)
		}
	})
}

// FuzzParseHash: ParseHash accepts exactly 32 hex digits and round-trips.
func FuzzParseHash(f *testing.F) {
	f.Add("28cfc7874f6d200472e1a9dcd8650aa0")
	f.Add("28CFC7874F6D200472E1A9DCD8650AA0")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err != nil {
			if !errors.Is(err, ErrHashSyntax) {
				t.Fatalf("error %v does not wrap ErrHashSyntax", err)
			}
			return
		}
		if h.String() != strings.ToLower(s) {
			t.Fatalf("ParseHash(%q).String() = %s", s, h)
		}
	})
}
