package sss

import (
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for x := 0; x < NumConfigs; x += 97 {
		c := FromCode(x)
		p, err := Parse(c.String())
		if err != nil || p != c || p.Code() != x {
			t.Fatalf("code %d: %v %v %v", x, c, p, err)
		}
	}
	c, err := Parse("8:8:8:8:8")
	if err != nil || c.Code() != 0 {
		t.Errorf("8:8:8:8:8 -> %v, %v", c, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "8:8:8:8", "8:8:8:8:72", "8:8:8:8:9", "8:8:8:8:08", "a:8:8:8:8"} {
		if _, err := Parse(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v", s, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("8:16:24:32:64")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err == nil && c.String() != s {
			t.Fatalf("%q -> %q", s, c.String())
		}
	})
}
