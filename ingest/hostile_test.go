package ingest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

// The hostile corpus: generators for inputs built to drive a parser into
// unbounded time or memory. The small ones are committed under
// ../testdata/hostile (regenerate with go test ./ingest -run
// TestHostileCorpus -update-hostile); the large ones are written at test
// time. Each case must end within its time and memory limit with a clear
// error and leave the store byte-identical.

var updateHostile = flag.Bool("update-hostile", false, "rewrite ../testdata/hostile from the generators")

const hostileDir = "../testdata/hostile"

// fanoutPickle memoises one tuple and nests it levels deep in tuples that
// reference it twice: 2^levels paths through a tiny DAG.
func fanoutPickle(levels int) []byte {
	var b bytes.Buffer
	b.WriteString("\x80\x02N\x85q\x00") // (None,) -> memo 0
	for range levels {
		b.WriteString("h\x00h\x00\x86q\x00") // memo0 = (memo0, memo0)
	}
	b.WriteString(".")
	return b.Bytes()
}

// deepPickle nests n one-element tuples: (((None,),),...) with stack depth 1.
func deepPickle(n int) []byte {
	b := make([]byte, 0, n+4)
	b = append(b, "\x80\x02N"...)
	for range n {
		b = append(b, 0x85)
	}
	return append(b, '.')
}

// legacyPth wraps an object pickle in the legacy torch.save framing.
func legacyPth(obj []byte) []byte {
	var b bytes.Buffer
	magic, _ := new(big.Int).SetString(torchMagic, 16)
	le := magic.Bytes()
	for i, j := 0, len(le)-1; i < j; i, j = i+1, j-1 {
		le[i], le[j] = le[j], le[i]
	}
	b.WriteString("\x80\x02\x8a")
	b.WriteByte(byte(len(le)))
	b.Write(le)
	b.WriteString(".\x80\x02M\xe9\x03.")
	b.WriteString("\x80\x02}X\x0d\x00\x00\x00little_endian\x88s.")
	b.Write(obj)
	b.WriteString("\x80\x02].")
	return b.Bytes()
}

// bzRun is a bzip2 block repeated n times.
type bzRun struct {
	block []byte
	n     int
}

// bz2Runs is a bzip2 stream of the runs in order, each block encoded once:
// a bomb grows by a few dozen compressed bytes per copy of a 1 MB block.
func bz2Runs(runs ...bzRun) []byte {
	var w bitWriter
	w.bytes([]byte("BZh9"))
	var combined uint32
	for _, r := range runs {
		var one bitWriter
		crc := bzCRC(r.block)
		encodeBlock(&one, r.block, crc)
		for range r.n {
			combined = (combined<<1 | combined>>31) ^ crc
			for _, c := range one.buf {
				w.bits(uint64(c), 8)
			}
			w.bits(one.acc, one.nacc)
		}
	}
	w.bits(0x177245, 24)
	w.bits(0x385090, 24)
	w.bits(uint64(combined), 32)
	return w.flush()
}

// zeroBomb decompresses to mb MiB of zero bytes.
func zeroBomb(mb int) []byte { return bz2Runs(bzRun{make([]byte, 1<<20), mb}) }

// opBomb is a pickle that decompresses to mb MiB of MARK, 250 NONE,
// POP_MARK: no memory, only time, until the decoded-input limit.
func opBomb(mb int) []byte {
	unit := append(append([]byte{'('}, bytes.Repeat([]byte{'N'}, 250)...), '1')
	return bz2Runs(bzRun{[]byte("\x80\x02"), 1}, bzRun{bytes.Repeat(unit, 1<<20/len(unit)), mb})
}

// strBomb is a pickle list of n distinct 1 MiB strings, bzip2-compressed
// to a few kB per hundred strings.
func strBomb(n int) []byte {
	unit := append([]byte{'X', 0, 0, 0x10, 0}, bytes.Repeat([]byte{'a'}, 1<<20)...)
	return bz2Runs(bzRun{[]byte("\x80\x02("), 1}, bzRun{unit, n}, bzRun{[]byte("l."), 1})
}

// hostileFiles generates every committed case.
func hostileFiles() map[string][]byte {
	return map[string][]byte{
		"fanout.pickle.pbz2": bzip2Encode(fanoutPickle(40)),
		"fanout.pth":         legacyPth(fanoutPickle(40)),
		"deep.pickle.pbz2":   bzip2Encode(deepPickle(20_000_000)),
		"deep.pth":           legacyPth(deepPickle(2_000)),
	}
}

// TestHostileCorpus checks the committed files against the generators.
func TestHostileCorpus(t *testing.T) {
	for name, want := range hostileFiles() {
		p := filepath.Join(hostileDir, name)
		if *updateHostile {
			if err := os.MkdirAll(hostileDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (regenerate with -update-hostile)", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs from its generator (regenerate with -update-hostile)", p)
		}
	}
}

// peakUse runs fn and returns its wall time and peak Go heap.
func peakUse(fn func()) (time.Duration, int64) { return shared.PeakHeap(fn) }

type hostileCase struct {
	name    string
	bench   string
	path    func(t *testing.T, tmp string) string
	opt     Options
	want    error  // sentinel
	text    string // in the message
	maxTime time.Duration
	maxHeap int64
}

func committed(name string) func(*testing.T, string) string {
	return func(t *testing.T, _ string) string { return filepath.Join(hostileDir, name) }
}

// generated writes a large case at test time (too big to commit).
func generated(name string, gen func() []byte) func(*testing.T, string) string {
	return func(t *testing.T, tmp string) string {
		p := filepath.Join(tmp, name)
		if _, err := os.Stat(p); err != nil {
			if err := os.WriteFile(p, gen(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
}

var (
	strBombFile = generated("strbomb.pickle.pbz2", func() []byte { return strBomb(3000) })
	opBombFile  = generated("bomb.pickle.pbz2", func() []byte { return opBomb(1024) })
)

// bombDir is a NATS -simple directory with the real meta file and eight
// arch files that each decompress to mb MiB of zeros.
func bombDir(mb int) func(*testing.T, string) string {
	return func(t *testing.T, tmp string) string {
		dir := filepath.Join(tmp, "bomb-simple")
		os.MkdirAll(dir, 0o755)
		meta, err := os.ReadFile(shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple/"+natsMeta))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, natsMeta), meta, 0o644)
		bomb := zeroBomb(mb)
		for i := range 8 {
			os.WriteFile(filepath.Join(dir, strings.Replace("00000X.pickle.pbz2", "X", string(rune('0'+i)), 1)), bomb, 0o644)
		}
		return dir
	}
}

// longLineCSV is a recognised CSV layout whose second line is mb MiB long.
func longLineCSV(mb int) func(*testing.T, string) string {
	return func(t *testing.T, tmp string) string {
		p := filepath.Join(tmp, "long.csv")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString("index,arch_str,a\n0,")
		chunk := bytes.Repeat([]byte{'x'}, 1<<20)
		for range mb {
			f.Write(chunk)
		}
		f.WriteString(",1\n")
		return p
	}
}

var aMapping = &Mapping{Index: "index", Arch: "arch_str", HP: "200", Columns: map[string]ColumnMapping{"a": {Dataset: "cifar10", Set: "ori-test", Metric: "accuracy"}}}

func hostileCases() []hostileCase {
	const sec = time.Second
	cases := []hostileCase{
		{"fanout pbz2", index.NB201, committed("fanout.pickle.pbz2"), Options{}, ErrSchema, "", 5 * sec, 64 << 20},
		{"fanout pth", index.NB201, committed("fanout.pth"), Options{}, ErrSchema, "", 5 * sec, 64 << 20},
		{"deep pbz2", index.NB201, committed("deep.pickle.pbz2"), Options{}, ErrLimit, "nested deeper than 64", 5 * sec, 64 << 20},
		{"deep pth", index.NB201, committed("deep.pth"), Options{}, ErrLimit, "nested deeper than 64", 5 * sec, 64 << 20},
		{"string bomb", index.NB201, strBombFile, Options{Limits: Limits{PickleLive: 32 << 20}}, ErrLimit, "live budget", 10 * sec, 160 << 20},
		{"bzip2 bomb file", index.NB201, opBombFile, Options{Limits: Limits{Decoded: 8 << 20}}, ErrLimit, "exceeds 8388608 bytes", 10 * sec, 64 << 20},
		{"bzip2 bomb directory", index.NB201, bombDir(1024), Options{}, ErrLimit, "exceeds 16777216 bytes", 10 * sec, 256 << 20},
		{"long CSV line", index.NB201, longLineCSV(8), Options{Mapping: aMapping}, ErrLimit, "longer than 1048576 bytes", 5 * sec, 64 << 20},
	}
	if os.Getenv("NBQUERY_LONG") != "" {
		cases = append(cases,
			hostileCase{"string bomb, default limits", index.NB201, strBombFile, Options{}, ErrLimit, "live budget", 120 * sec, 1400 << 20},
			hostileCase{"300 MB CSV line", index.NB201, longLineCSV(300), Options{Mapping: aMapping}, ErrLimit, "longer than", 20 * sec, 64 << 20},
		)
	}
	return cases
}

// TestHostile ingests every hostile case into a populated store: each ends
// within its time and heap limit with a clear error, and the store is
// byte-identical afterwards.
func TestHostile(t *testing.T) {
	ctx := context.Background()
	storeDir := t.TempDir()
	st, err := index.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := NB201(ctx, st, shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple"), Options{}); err != nil {
		t.Fatal(err)
	}
	before := hashTree(t, storeDir)
	tmp := t.TempDir()
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path(t, tmp)
			var err error
			d, heap := peakUse(func() { _, err = NB201(ctx, st, p, tc.opt) })
			t.Logf("%v in %v, peak heap %d MiB", err, d.Round(time.Millisecond), heap>>20)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.text)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
			if d > tc.maxTime {
				t.Errorf("took %v, limit %v", d, tc.maxTime)
			}
			if heap > tc.maxHeap {
				t.Errorf("peak heap %d MiB, limit %d MiB", heap>>20, tc.maxHeap>>20)
			}
			if diff := shared.DiffTrees(before, hashTree(t, storeDir)); len(diff) > 0 {
				t.Fatalf("store changed: %v", diff)
			}
		})
	}
}

// TestHostileCancel: a cancelled context stops a pickle that would run for
// minutes within a second.
func TestHostileCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := opBombFile(t, t.TempDir())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := ingest(ctx, &discardStore{}, index.NB201, p, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 1300*time.Millisecond {
		t.Fatalf("cancel took %v", d)
	}
}
