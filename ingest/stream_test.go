package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nlpodyssey/gopickle/types"
)

// runBoth ingests p through the streaming path and the former whole-file
// path and returns a printable dump of each store.
func runBoth(t *testing.T, p string) (stream, whole string) {
	t.Helper()
	dump := func() string {
		g, res := runRec(t, index.NB201, p, Options{}, nil)
		res.Elapsed = 0
		return fmt.Sprintf("%v\n%+v\n%v\n%v", g.archs, res, g.src, g.frames)
	}
	stream = dump()
	wholeFiles = true
	defer func() { wholeFiles = false }()
	return stream, dump()
}

func TestStreamEquivalence(t *testing.T) {
	archs := []int{5, 0, 15624, 100, 7, 6} // unsorted on purpose
	obj, _ := synthNB201(archs)
	var od pdict
	for _, kv := range obj[1].v.(pdict) {
		hps := kv.v.(pdict)
		od = append(od, pkv{kv.k, podict{{"12", hps[0].v}, {"200", hps[1].v}}})
	}
	nats := append(pdict(nil), obj...)
	nats[1] = pkv{"arch2infos", od}
	meta := pdict{obj[0], {"arch2infos", nil}}
	dir := t.TempDir()
	for _, tc := range []struct {
		name, file string
		data       []byte
	}{
		{"legacy pth", "a.pth", legacyTorch(obj)},
		{"zip pth", "b.pth", zipTorch(obj)},
		{"nats single file", "NATS-tss-v1_0-3ffb9.pickle.pbz2", bzip2Encode(newPickle(nats))},
		{"nats meta only", "meta-only.pickle.pbz2", bzip2Encode(newPickle(meta))},
		{"nats one arch", "000007.pickle.pbz2", bzip2Encode(newPickle(od[4].v))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			s, w := runBoth(t, p)
			if s != w {
				t.Fatalf("streaming and whole-file stores differ:\nstream %.2000s\nwhole  %.2000s", s, w)
			}
		})
	}
}

// TestStreamRealRecord streams a real NATS per-arch file (memoized protocol 4)
// and compares the object with the whole-file decoder's record.
func TestStreamRealRecord(t *testing.T) {
	p := shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple/000284.pickle.pbz2")
	s, w := runBoth(t, p)
	if s != w {
		t.Fatal("streaming and whole-file stores differ")
	}
}

func TestStreamErrors(t *testing.T) {
	// top = {'meta_archs': [arch0], 'arch2infos': {0: {...}, 1: {...}}} with
	// a memoized container in entry 0 that entry 1 BINGETs.
	w := pickleW{}
	w.WriteString("\x80\x02}(")
	w.str("arch2infos")
	w.WriteString("}(K\x00}q\x05K\x01h\x05u.")
	for _, tc := range []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"released memo entry", w.Bytes(), ErrReleased, "memo index 5"},
		{"huge length", []byte("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f."), ErrFormat, "limit"},
		{"truncated", []byte("\x80\x02}(X\x01\x00\x00"), ErrFormat, "truncated"},
		{"unknown opcode", []byte("\x80\x02\xff."), ErrFormat, "0xff"},
		{"BINGET unset", []byte("\x80\x02h\x03."), ErrFormat, "never set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []any
			sink := &streamSink{start: func(any) error { return nil }, entry: func(k, v any) error { got = append(got, k); return nil }}
			_, err := newStreamVM(context.Background(), bytesReader(tc.data), Limits{}).load(sink)
			if !errors.Is(err, tc.want) || !contains(err, tc.msg) {
				t.Fatalf("err = %v, want %v with %q", err, tc.want, tc.msg)
			}
		})
	}
	t.Run("entries stream in order", func(t *testing.T) {
		var keys []any
		sink := &streamSink{start: func(any) error { return nil }, entry: func(k, v any) error {
			if _, ok := v.(*types.Dict); !ok {
				return fmt.Errorf("value %T", v)
			}
			keys = append(keys, k)
			return nil
		}}
		obj, err := newStreamVM(context.Background(), bytesReader([]byte("\x80\x02}(X\x0a\x00\x00\x00arch2infos}(K\x03}K\x01}u(K\x02}uu.")), Limits{}).load(sink)
		if err != nil || fmt.Sprint(keys) != "[3 1 2]" {
			t.Fatalf("keys %v err %v", keys, err)
		}
		a2i := obj.(*types.Dict).MustGet("arch2infos").(*types.Dict)
		if a2i.Len() != 0 {
			t.Fatalf("arch2infos kept %d values", a2i.Len())
		}
	})
}

func contains(err error, s string) bool {
	return err != nil && len(s) > 0 && strings.Contains(err.Error(), s)
}

// ---- full-size synthetic legacy .pth ----

// toP converts a decoded pickle graph back into pickleW values.
func toP(v any) any {
	switch x := v.(type) {
	case *types.Dict:
		var d pdict
		for _, e := range *x {
			d = append(d, pkv{toP(e.Key), toP(e.Value)})
		}
		return d
	case *types.OrderedDict:
		var d pdict
		eachItem(x, func(k, v any) error { d = append(d, pkv{toP(k), toP(v)}); return nil })
		return d
	case *types.List:
		l := plist{}
		for _, it := range *x {
			l = append(l, toP(it))
		}
		return l
	case *types.Tuple:
		t := ptuple{}
		for _, it := range *x {
			t = append(t, toP(it))
		}
		return t
	case nil, bool, int, float64, string, *big.Int:
		return x
	}
	panic(fmt.Sprintf("toP: %T", v))
}

// writeBigPth writes a legacy NB201 .pth with archs 0..n-1 made from the
// three real NATS tss records ('12' -> 'less', '200' -> 'full'), with
// arch2infos in SETITEMS batches of 1000 as pickle writes them.
func writeBigPth(tb testing.TB, n int) string {
	tb.Helper()
	dir := shared.Path(tb, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple")
	load := func(name string) any {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		obj, err := decodePbz2(b, maxArchPickle)
		if err != nil {
			tb.Fatal(err)
		}
		return obj
	}
	meta, _ := strMap(load(natsMeta))
	names := toP(meta["meta_archs"]).(plist)
	var tmpl []pdict
	for _, f := range []string{"000000", "000011", "000284"} {
		tmpl = append(tmpl, toP(load(f+natsExt)).(pdict))
	}
	p := filepath.Join(tb.TempDir(), "NAS-Bench-201-v1_1-096897.pth")
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	magic, _ := new(big.Int).SetString(torchMagic, 16)
	bw.Write(newPickle(magic))
	bw.Write(newPickle(1001))
	bw.Write(newPickle(pdict{{"protocol_version", 1001}, {"little_endian", true}}))
	var w pickleW
	flush := func() { bw.Write(w.Bytes()); w.Reset() }
	w.WriteString("\x80\x02}(")
	w.str("meta_archs")
	w.value(names)
	w.str("arch2infos")
	w.WriteString("}(")
	hp := map[string]string{"12": "less", "200": "full"}
	var evaluated pset
	for i := range n {
		if i > 0 && i%1000 == 0 {
			w.WriteString("u(")
		}
		var v pdict
		for _, kv := range tmpl[i%3] {
			st := append(pdict(nil), kv.v.(pdict)...)
			for j := range st {
				switch st[j].k {
				case "arch_index":
					st[j].v = i
				case "arch_str":
					st[j].v = names[i]
				}
			}
			v = append(v, pkv{hp[kv.k.(string)], st})
		}
		w.value(i)
		w.value(v)
		evaluated = append(evaluated, i)
		flush()
	}
	w.WriteString("u")
	w.str("evaluated_indexes")
	w.value(evaluated)
	w.WriteString("u.")
	flush()
	bw.Write(newPickle(plist{}))
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return p
}

// discardStore keeps only the arch list and the largest frame's size.
type discardStore struct{ maxFrame int64 }

func (s *discardStore) NewSegment(string) (segWriter, error) { return (*discardSeg)(s), nil }
func (s *discardStore) Sources(string) []index.Source        { return nil }
func (s *discardStore) Archs(string) ([]string, error) {
	return nil, fmt.Errorf("discard: %w", index.ErrNotFound)
}

type discardSeg discardStore

func (g *discardSeg) SetArchs([]string) {}
func (g *discardSeg) Write(f index.Frame) error {
	var n int64
	for _, c := range f.Columns {
		n += 8 * int64(len(c.Values))
	}
	g.maxFrame = max(g.maxFrame, n)
	return nil
}
func (g *discardSeg) Commit(index.Source) error { return nil }
func (g *discardSeg) Abort()                    {}

// peakHeap ingests p into a discarding store and returns the peak live heap
// above the starting heap (sampled every 200 µs) and the largest frame.
func peakHeap(tb testing.TB, p string, rows int) (heap, frame int64) {
	ds := &discardStore{}
	var res Result
	var err error
	_, heap = peakUse(func() { res, err = ingest(context.Background(), ds, index.NB201, p, Options{}) })
	if err != nil {
		tb.Fatal(err)
	}
	if res.Rows != rows {
		tb.Fatalf("rows %d, want %d", res.Rows, rows)
	}
	return heap, ds.maxFrame
}

// TestStreamHeapSublinear: the live heap beyond the one frame being filled
// must not grow with the number of architectures.
func TestStreamHeapSublinear(t *testing.T) {
	small := writeBigPth(t, 50)
	large := writeBigPth(t, 200)
	h50, f50 := peakHeap(t, small, 50)
	h200, f200 := peakHeap(t, large, 200)
	t.Logf("peak heap: 50 archs %d MiB (frame %d MiB), 200 archs %d MiB (frame %d MiB)", h50>>20, f50>>20, h200>>20, f200>>20)
	if r50, r200 := h50-f50, h200-f200; r200 > 2*r50+(16<<20) {
		t.Fatalf("heap beyond the frame grew from %d MiB (50 archs) to %d MiB (200 archs)", r50>>20, r200>>20)
	}
}

// TestStreamFullSize (NBQUERY_LONG=1) ingests a full-size 15,625-arch
// synthetic legacy .pth into a real store and checks peak RSS < 1 GiB.
func TestStreamFullSize(t *testing.T) {
	if os.Getenv("NBQUERY_LONG") != "1" {
		t.Skip("set NBQUERY_LONG=1")
	}
	n := 15625
	start := time.Now()
	p := writeBigPth(t, n)
	fi, _ := os.Stat(p)
	t.Logf("wrote %d MiB in %v", fi.Size()>>20, time.Since(start))
	runtime.GC()
	el, peak, _ := ingestFullDir(t, p, n)
	t.Logf("ingest %v, peak RSS %d MiB", el, peak>>20)
	if peak >= rssLimit {
		t.Fatalf("peak RSS %d MiB >= 1 GiB", peak>>20)
	}
}

// BenchmarkStreamPth ingests a 600-arch synthetic legacy .pth.
func BenchmarkStreamPth(b *testing.B) {
	p := writeBigPth(b, 600)
	var peak int64
	for b.Loop() {
		h, _ := peakHeap(b, p, 600)
		peak = max(peak, h)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peakHeap-MiB")
	b.ReportMetric(600*float64(b.N)/b.Elapsed().Seconds(), "archs/s")
}

// FuzzStream runs the streaming VM with an arch2infos sink on arbitrary
// input: it must not panic nor read past its input.
func FuzzStream(f *testing.F) {
	for _, s := range pickleSeeds() {
		f.Add(s)
	}
	f.Add([]byte("\x80\x02}(X\x0a\x00\x00\x00arch2infos}(K\x03}K\x01}u(K\x02}uu."))
	f.Add([]byte("\x80\x02}(X\x0a\x00\x00\x00arch2infos}(K\x00}q\x05K\x01h\x05u."))
	f.Fuzz(func(t *testing.T, data []byte) {
		sink := &streamSink{start: func(any) error { return nil }, entry: func(k, v any) error {
			_, _ = convertArch(v, -1)
			return nil
		}}
		vm := newStreamVM(context.Background(), bytesReader(data), Limits{})
		_, err := vm.load(sink)
		if err == nil && vm.off > int64(len(data)) {
			t.Fatalf("read %d of %d bytes", vm.off, len(data))
		}
	})
}

func bytesReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
