package nb101

import (
	"context"
	"testing"
)

func BenchmarkHash(b *testing.B) {
	s := mustSpec(b, readmeMatrix, readmeOps)
	var h Hash
	for b.Loop() {
		h = s.Hash()
	}
	if h.String() != "28cfc7874f6d200472e1a9dcd8650aa0" {
		b.Fatal(h)
	}
}

func BenchmarkNewSpecHash(b *testing.B) {
	for b.Loop() {
		s, err := NewSpec(readmeMatrix, readmeOps)
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Hash()
	}
}

func BenchmarkEnumerate(b *testing.B) {
	for b.Loop() {
		cells, err := enumerate(context.Background())
		if err != nil || len(cells) != NumCells {
			b.Fatal(len(cells), err)
		}
	}
}
