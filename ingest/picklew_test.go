package ingest

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
)

// A small protocol-2 pickle writer for building synthetic benchmark files at
// test time, mimicking what torch.save / pickle.dump emit for NB201 objects.

type (
	pkv    struct{ k, v any }
	pdict  []pkv // dict, insertion order
	podict []pkv // collections.OrderedDict
	plist  []any
	ptuple []any
	pset   []any   // __builtin__.set([...]) as protocol 2 writes it
	npf64  float64 // numpy.float64 scalar
)

type pickleW struct{ bytes.Buffer }

func newPickle(v any) []byte {
	var w pickleW
	w.WriteString("\x80\x02")
	w.value(v)
	w.WriteByte('.')
	return w.Bytes()
}

func (w *pickleW) global(mod, name string) { fmt.Fprintf(w, "c%s\n%s\n", mod, name) }

func (w *pickleW) str(s string) {
	w.WriteByte('X')
	binary.Write(w, binary.LittleEndian, uint32(len(s)))
	w.WriteString(s)
}

func (w *pickleW) value(v any) {
	switch x := v.(type) {
	case nil:
		w.WriteByte('N')
	case bool:
		if x {
			w.WriteByte(0x88)
		} else {
			w.WriteByte(0x89)
		}
	case int:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			w.WriteByte('J')
			binary.Write(w, binary.LittleEndian, int32(x))
		} else {
			w.bigInt(big.NewInt(int64(x)))
		}
	case *big.Int:
		w.bigInt(x)
	case float64:
		w.WriteByte('G')
		binary.Write(w, binary.BigEndian, math.Float64bits(x))
	case string:
		w.str(x)
	case npf64:
		w.global("numpy.core.multiarray", "scalar")
		w.global("numpy", "dtype")
		w.value(ptuple{"f8", false, true})
		w.WriteByte('R')
		w.value(ptuple{3, "<", nil, nil, nil, -1, -1, 0})
		w.WriteByte('b')
		var raw [8]byte
		binary.LittleEndian.PutUint64(raw[:], math.Float64bits(float64(x)))
		// protocol 2 spells bytes as _codecs.encode(latin-1 text, 'latin1')
		runes := make([]rune, 8)
		for i, c := range raw {
			runes[i] = rune(c)
		}
		w.global("_codecs", "encode")
		w.value(ptuple{string(runes), "latin1"})
		w.WriteByte('R')
		w.WriteByte(0x86) // TUPLE2
		w.WriteByte('R')
	case ptuple:
		w.WriteByte('(')
		for _, it := range x {
			w.value(it)
		}
		w.WriteByte('t')
	case plist:
		w.WriteByte(']')
		if len(x) > 0 {
			w.WriteByte('(')
			for _, it := range x {
				w.value(it)
			}
			w.WriteByte('e')
		}
	case pset:
		w.global("__builtin__", "set")
		w.value(ptuple{plist(x)})
		w.WriteByte('R')
	case pdict:
		w.WriteByte('}')
		w.items(x)
	case podict:
		w.global("collections", "OrderedDict")
		w.WriteByte(')')
		w.WriteByte('R')
		w.items(x)
	default:
		panic(fmt.Sprintf("pickleW: %T", v))
	}
}

func (w *pickleW) items(kvs []pkv) {
	if len(kvs) == 0 {
		return
	}
	w.WriteByte('(')
	for _, kv := range kvs {
		w.value(kv.k)
		w.value(kv.v)
	}
	w.WriteByte('u')
}

// bigInt writes LONG1 (little-endian two's complement).
func (w *pickleW) bigInt(x *big.Int) {
	b := x.Bytes() // big-endian magnitude
	le := make([]byte, len(b)+1)
	for i, c := range b {
		le[len(b)-1-i] = c
	}
	if x.Sign() < 0 {
		panic("negative big ints not needed")
	}
	if len(le) > 1 && le[len(le)-1] == 0 && le[len(le)-2]&0x80 == 0 {
		le = le[:len(le)-1]
	}
	w.WriteByte(0x8a)
	w.WriteByte(byte(len(le)))
	w.Write(le)
}

// legacyTorch wraps obj in torch's legacy (non-zip) container.
func legacyTorch(obj any) []byte {
	magic, _ := new(big.Int).SetString("1950a86a20f9469cfc6c", 16)
	var out []byte
	out = append(out, newPickle(magic)...)
	out = append(out, newPickle(1001)...)
	out = append(out, newPickle(pdict{{"protocol_version", 1001}, {"little_endian", true},
		{"type_sizes", pdict{{"short", 2}, {"int", 4}, {"long", 4}}}})...)
	out = append(out, newPickle(obj)...)
	out = append(out, newPickle(plist{})...)
	return out
}

// zipTorch wraps obj in torch's zip container (entries stored, as torch does).
func zipTorch(obj any) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{{"archive/data.pkl", newPickle(obj)}, {"archive/version", []byte("3\n")}} {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			panic(err)
		}
		f.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
