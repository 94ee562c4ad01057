package nb201

import (
	"errors"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	for i, test := range []struct {
		s    string
		want Cell
	}{
		{"|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
			Cell{AvgPool3x3, Conv1x1, SkipConnect, Conv1x1, SkipConnect, SkipConnect}},
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
			Cell{Conv3x3, Conv3x3, AvgPool3x3, SkipConnect, Conv3x3, SkipConnect}},
		{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", Cell{}},
	} {
		c, err := Parse(test.s)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if c != test.want {
			t.Errorf("%d: Parse = %v, want %v", i, c, test.want)
		}
		if got := c.String(); got != test.s {
			t.Errorf("%d: String = %q, want %q", i, got, test.s)
		}
		if FromCode(c.Code()) != c {
			t.Errorf("%d: FromCode(Code) mismatch", i)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"",
		"|none~0|",
		"|none~0|+|none~0|none~1|+|none~0|none~1|",
		"|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
		"|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
		"none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
		"|none~0|+|none~0|none~1|+|none~0|none~1|none~2",
		"|none0|+|none~0|none~1|+|none~0|none~1|none~2|",
	} {
		if _, err := Parse(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) err = %v, want ErrSyntax", s, err)
		}
	}
}

// TestUniqueClasses checks the 6,466 isomorphism classes asserted by
// NATS-Bench's tests/api_test.py (test_12_th_issue).
func TestUniqueClasses(t *testing.T) {
	seen := map[string]int{}
	largest := 0
	for x := 0; x < NumCells; x++ {
		u := FromCode(x).UniqueStr()
		seen[u]++
		largest = max(largest, seen[u])
	}
	if len(seen) != 6466 {
		t.Errorf("unique classes = %d, want 6466", len(seen))
	}
	singles := 0
	for _, n := range seen {
		if n == 1 {
			singles++
		}
	}
	// FACTS.md: largest class 275 archs, 5116 singleton classes.
	if largest != 275 || singles != 5116 {
		t.Errorf("largest class %d, singletons %d; want 275, 5116", largest, singles)
	}
}

func TestNeighbours(t *testing.T) {
	c := FromCode(1234)
	nb := c.Neighbours(make([]int, 0, 24))
	if len(nb) != 24 {
		t.Fatalf("len = %d", len(nb))
	}
	for _, n := range nb {
		d := 0
		o := FromCode(n)
		for e := range o {
			if o[e] != c[e] {
				d++
			}
		}
		if d != 1 {
			t.Errorf("neighbour %d differs on %d edges", n, d)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")
	f.Add("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
	f.Add("||+||")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if got := c.String(); got != s {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	})
}
