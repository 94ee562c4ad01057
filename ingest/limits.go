package ingest

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
)

// ErrLimit marks input that exceeds one of the Limits.
var ErrLimit = errors.New("ingest: input exceeds a limit")

// Limits bound the time and memory one ingest may spend on hostile input.
// The zero value of a field means its default (DefaultLimits); every
// default leaves the real benchmark files several times their need.
type Limits struct {
	// PickleDepth is the deepest nesting of containers (tuples, lists,
	// dicts, objects) the pickle readers build. The official files nest
	// about 8 deep.
	PickleDepth int
	// PickleLive caps the bytes of objects the streaming pickle VM holds
	// between two arch2infos entries (retained memo strings included). One
	// NATS entry is a few hundred kB.
	PickleLive int64
	// Decoded caps the decompressed bytes of one streamed pickle (the whole
	// .pickle.pbz2 or .pth object stream). The largest official file, the
	// 4.7 GB NAS-Bench-201 v1_1 .pth, is under a third of the default.
	Decoded int64
	// ArchFile caps the decompressed bytes of one NATS per-architecture or
	// meta file (official ones are under 2 MB).
	ArchFile int64
	// Memory is the budget for per-architecture files decoded at once: the
	// number of parallel decoders is at most Memory / (8 * ArchFile), and at
	// most GOMAXPROCS.
	Memory int64
	// CSVLine caps one physical CSV line (the official tables' longest line
	// is under 2 kB).
	CSVLine int
}

// DefaultLimits are the limits used for zero fields of Options.Limits.
var DefaultLimits = Limits{
	PickleDepth: 64,
	PickleLive:  1 << 30,
	Decoded:     16 << 30,
	ArchFile:    16 << 20,
	Memory:      1 << 30,
	CSVLine:     1 << 20,
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.PickleDepth > 0 {
		d.PickleDepth = l.PickleDepth
	}
	if l.PickleLive > 0 {
		d.PickleLive = l.PickleLive
	}
	if l.Decoded > 0 {
		d.Decoded = l.Decoded
	}
	if l.ArchFile > 0 {
		d.ArchFile = l.ArchFile
	}
	if l.Memory > 0 {
		d.Memory = l.Memory
	}
	if l.CSVLine > 0 {
		d.CSVLine = l.CSVLine
	}
	return d
}

// workers is the number of per-architecture files decoded at once.
func (l Limits) workers() int {
	n := int(l.Memory / (8 * l.ArchFile))
	return max(1, min(n, runtime.GOMAXPROCS(0)))
}

// limitReader fails with ErrLimit once more than n bytes were read.
type limitReader struct {
	r    io.Reader
	n    int64 // bytes left
	what string
	max  int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, fmt.Errorf("%w: %s exceeds %d bytes", ErrLimit, l.what, l.max)
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, fmt.Errorf("%w: %s exceeds %d bytes", ErrLimit, l.what, l.max)
	}
	return n, err
}

func newLimitReader(r io.Reader, max int64, what string) *limitReader {
	return &limitReader{r: r, n: max, max: max, what: what}
}

// lineLimitReader fails with ErrLimit on a physical line longer than max
// bytes, before encoding/csv buffers it whole.
type lineLimitReader struct {
	r    io.Reader
	max  int
	cur  int // bytes of the current line so far
	line int // 1-based line number of the current line
}

func (l *lineLimitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			l.cur = 0
			l.line++
			continue
		}
		l.cur++
		if l.cur > l.max {
			return 0, fmt.Errorf("%w: line %d is longer than %d bytes", ErrLimit, l.line, l.max)
		}
	}
	return n, err
}

// Quote renders untrusted input for an error message: Go-escaped and cut
// to about 80 bytes, with the full length noted when cut.
func Quote(s string) string {
	const max = 80
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && cut > max-4 && !runeStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("... (%d bytes)", len(s))
}

func runeStart(b byte) bool { return b&0xc0 != 0x80 }

// describe renders a decoded value for an error message without walking
// it: scalars are quoted and capped, containers give their type and size.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return Quote(x)
	case []byte:
		return fmt.Sprintf("bytes(%d)", len(x))
	case nil:
		return "None"
	case int, int64, float64, bool:
		return fmt.Sprint(x)
	}
	if s, ok := sequence(v); ok {
		return fmt.Sprintf("%T of %d items", v, len(s))
	}
	return fmt.Sprintf("%T", v)
}
