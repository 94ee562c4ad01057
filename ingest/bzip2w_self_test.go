package ingest

import (
	"bytes"
	"compress/bzip2"
	"io"
	"math/rand/v2"
	"testing"
)

func TestBzip2Encode(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := make([]byte, 5000)
	for i := range rnd {
		rnd[i] = byte(r.IntN(7))
	}
	big := make([]byte, 120_000)
	for i := range big {
		big[i] = byte(r.IntN(200))
	}
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"one byte", []byte{'a'}},
		{"text", []byte("hello, hello, hello world\n")},
		{"runs", bytes.Repeat([]byte{0, 0, 0, 0, 0, 0, 0, 1}, 300)},
		{"long run", bytes.Repeat([]byte{7}, 1000)},
		{"random small alphabet", rnd},
		{"several blocks", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(bzip2Encode(tc.in))))
			if err != nil || !bytes.Equal(got, tc.in) {
				t.Fatalf("round trip: %v, %d bytes back of %d", err, len(got), len(tc.in))
			}
		})
	}
}
