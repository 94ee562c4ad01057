package ingest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

func TestProgress(t *testing.T) {
	t.Run("silent under a second", func(t *testing.T) {
		var buf bytes.Buffer
		p := newProgress(&buf, "/x/cifar10_avg.csv")
		p.setTotal(10)
		p.add(10)
		p.finish()
		if buf.Len() != 0 {
			t.Fatalf("printed %q", buf.String())
		}
	})
	t.Run("bar after a second", func(t *testing.T) {
		var buf bytes.Buffer
		p := newProgress(&buf, "/x/dir")
		p.start = time.Now().Add(-2 * time.Second)
		p.setTotal(10)
		p.add(4)
		p.add(6)
		p.finish()
		if !strings.Contains(buf.String(), "ingest dir") || !strings.Contains(buf.String(), "10/10") {
			t.Fatalf("printed %q", buf.String())
		}
	})
	t.Run("nil writer", func(t *testing.T) {
		p := newProgress(nil, "x")
		p.start = time.Now().Add(-2 * time.Second)
		p.setTotal(1)
		p.add(1)
		p.finish()
	})
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rs := &recStore{}
	_, err := ingest(ctx, rs, index.NB201, shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple"), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if len(rs.segs) != 1 || rs.segs[0].committed || !rs.segs[0].aborted {
		t.Fatal("segment must be aborted")
	}
}

func TestScanPickle(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		end  int
		err  bool
	}{
		{"empty dict", "\x80\x02}.", 4, false},
		{"two pickles", "\x80\x02K\x01.\x80\x02K\x02.", 5, false},
		{"frame", "\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x01.", 14, false},
		{"frame past the end", "\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00K\x01.", 0, true},
		{"huge BINUNICODE8", "\x80\x04\x8d\x00\x00\x00\x00\x01\x00\x00\x00.", 0, true},
		{"negative BINSTRING", "T\xff\xff\xff\xff.", 0, true},
		{"unterminated GLOBAL", "cnumpy\ndtype", 0, true},
		{"unknown opcode", "\x80\x02\xff.", 0, true},
		{"no STOP", "\x80\x02K\x01", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			end, err := scanPickle([]byte(tc.in))
			if (err != nil) != tc.err || (!tc.err && end != tc.end) {
				t.Fatalf("end %d err %v", end, err)
			}
			if err != nil && !errors.Is(err, ErrFormat) {
				t.Fatalf("err %v is not ErrFormat", err)
			}
		})
	}
}
