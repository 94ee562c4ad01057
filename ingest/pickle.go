package ingest

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// maxArchPickle caps the decompressed size of one NATS per-architecture or
// meta file (real ones are under 2 MB) so that a corrupt or hostile bzip2
// stream cannot exhaust memory.
const maxArchPickle = 256 << 20

// readBzip2 decompresses a whole bzip2 stream, failing past limit bytes.
// Errors carry the compressed offset the decoder had reached.
func readBzip2(data []byte, limit int64) ([]byte, error) {
	br := bytes.NewReader(data)
	r := bzip2.NewReader(br)
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	if err != nil {
		off := int64(len(data)) - int64(br.Len())
		return nil, atOffset(off, fmt.Errorf("%w: bzip2: %v (compressed offset %d)", ErrFormat, err, off))
	}
	if n > limit {
		return nil, fmt.Errorf("%w: bzip2: decompressed size exceeds %d bytes (--max-arch-file)", ErrLimit, limit)
	}
	return buf.Bytes(), nil
}

// opArg describes the argument of a pickle opcode for scanPickle.
type opArg int8

const (
	argNone  opArg = iota
	argFixed       // fixed-size argument of n bytes
	argLine        // one newline-terminated line
	argLine2       // two lines (GLOBAL, INST)
	argLen1        // 1-byte length then data
	argLen4        // 4-byte little-endian length then data
	argLen8        // 8-byte little-endian length then data
	argFrame       // FRAME: 8-byte length of the following frame
)

type opInfo struct {
	arg opArg
	n   int
}

// pickleOps lists every opcode of protocols 0-5 (CPython Lib/pickletools.py).
var pickleOps = func() [256]*opInfo {
	var t [256]*opInfo
	set := func(ops string, a opArg, n int) {
		for i := 0; i < len(ops); i++ {
			t[ops[i]] = &opInfo{a, n}
		}
	}
	set("(.012NQRabdelostu)}]\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98", argNone, 0)
	set("FILPSVgp", argLine, 0)
	set("ci", argLine2, 0)
	set("J", argFixed, 4)
	set("K", argFixed, 1)
	set("M", argFixed, 2)
	set("G", argFixed, 8)
	set("hq\x80\x82", argFixed, 1)
	set("jr\x84", argFixed, 4)
	set("\x83", argFixed, 2)
	set("UC\x8a\x8c", argLen1, 0)
	set("TXB\x8b", argLen4, 0)
	set("\x8d\x8e\x96", argLen8, 0)
	set("\x95", argFrame, 0)
	return t
}()

// scanPickle walks one pickle opcode stream starting at data[0] without
// building objects and returns the offset just after its STOP opcode. It
// rejects unknown opcodes and any length argument that runs past the end of
// data. gopickle allocates length-prefixed arguments before reading them, so
// this check is what keeps a corrupt file from allocating gigabytes; it is
// hand-written because no Go library offers a pickle opcode walker.
func scanPickle(data []byte) (int, error) {
	p := 0
	remaining := func() int { return len(data) - p }
	for p < len(data) {
		at := p
		op := data[p]
		p++
		info := pickleOps[op]
		if info == nil {
			return at, atOffset(int64(at), fmt.Errorf("%w: pickle: unknown opcode 0x%02x at offset %d", ErrFormat, op, at))
		}
		if op == '.' {
			return p, nil
		}
		var n uint64
		switch info.arg {
		case argNone:
			continue
		case argFixed:
			n = uint64(info.n)
		case argLine, argLine2:
			lines := 1
			if info.arg == argLine2 {
				lines = 2
			}
			for range lines {
				i := bytes.IndexByte(data[p:], '\n')
				if i < 0 {
					return at, atOffset(int64(at), fmt.Errorf("%w: pickle: unterminated argument of opcode 0x%02x at offset %d", ErrFormat, op, at))
				}
				p += i + 1
			}
			continue
		case argLen1:
			if remaining() < 1 {
				return at, truncated(op, at)
			}
			n = uint64(data[p])
			p++
		case argLen4:
			if remaining() < 4 {
				return at, truncated(op, at)
			}
			v := binary.LittleEndian.Uint32(data[p:])
			if op == 'T' || op == '\x8b' { // signed lengths
				if int32(v) < 0 {
					return at, atOffset(int64(at), fmt.Errorf("%w: pickle: negative length for opcode 0x%02x at offset %d", ErrFormat, op, at))
				}
			}
			n = uint64(v)
			p += 4
		case argLen8, argFrame:
			if remaining() < 8 {
				return at, truncated(op, at)
			}
			n = binary.LittleEndian.Uint64(data[p:])
			p += 8
			if info.arg == argFrame {
				// A frame only groups the opcodes that follow; check its
				// length and keep scanning inside it.
				if n > uint64(remaining()) {
					return at, truncated(op, at)
				}
				continue
			}
		}
		if n > uint64(remaining()) {
			return at, truncated(op, at)
		}
		p += int(n)
	}
	return len(data), atOffset(int64(len(data)), fmt.Errorf("%w: pickle: truncated, no STOP opcode before offset %d", ErrFormat, len(data)))
}

func truncated(op byte, at int) error {
	return atOffset(int64(at), fmt.Errorf("%w: pickle: truncated argument of opcode 0x%02x at offset %d", ErrFormat, op, at))
}

// unpickle decodes the single pickle that starts at data[0] and returns the
// object and the offset after it. It validates the stream with scanPickle
// first and turns a panic inside gopickle (possible on malformed input, e.g.
// an unhashable dict key) into an ErrFormat error.
func unpickle(data []byte) (obj any, end int, err error) {
	end, err = scanPickle(data)
	if err != nil {
		return nil, end, err
	}
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("%w: pickle: decoder failed: %v", ErrFormat, r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data[:end]))
	u.FindClass = findClass
	u.PersistentLoad = func(id any) (any, error) {
		return nil, fmt.Errorf("%w: pickle: persistent id %v (tensor storages are not supported)", ErrSchema, id)
	}
	obj, err = u.Load()
	if err != nil {
		return nil, end, fmt.Errorf("%w: pickle: %v", ErrFormat, err)
	}
	return obj, end, nil
}

// findClass resolves the globals that appear in the benchmark pickles.
// collections.OrderedDict and a few builtins are handled by gopickle itself.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "numpy.dtype":
		return callable(func(args ...any) (any, error) {
			if len(args) < 1 {
				return nil, fmt.Errorf("numpy.dtype: no arguments")
			}
			s, ok := args[0].(string)
			if !ok {
				return nil, fmt.Errorf("numpy.dtype: argument %T", args[0])
			}
			return &npDtype{str: s, order: '<'}, nil
		}), nil
	case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
		return callable(npScalar), nil
	case "__builtin__.set", "builtins.set":
		return callable(func(args ...any) (any, error) {
			s := types.NewSet()
			if len(args) == 0 {
				return s, nil
			}
			items, ok := sequence(args[0])
			if !ok {
				return nil, fmt.Errorf("set: argument %T", args[0])
			}
			for _, it := range items {
				if !hashable(it) {
					return nil, fmt.Errorf("set: unhashable element %T", it)
				}
				s.Add(it)
			}
			return s, nil
		}), nil
	case "_codecs.encode":
		// Protocol-2 pickles spell bytes as _codecs.encode(str, 'latin1').
		return callable(func(args ...any) (any, error) {
			if len(args) < 1 {
				return nil, fmt.Errorf("_codecs.encode: no arguments")
			}
			s, ok := args[0].(string)
			if !ok {
				return nil, fmt.Errorf("_codecs.encode: argument %T", args[0])
			}
			if len(args) > 1 {
				if enc, _ := args[1].(string); enc != "latin1" && enc != "latin-1" {
					return nil, fmt.Errorf("_codecs.encode: encoding %v", args[1])
				}
			}
			b := make([]byte, 0, len(s))
			for _, r := range s {
				if r > 0xff {
					return nil, fmt.Errorf("_codecs.encode: rune %U is not latin-1", r)
				}
				b = append(b, byte(r))
			}
			return b, nil
		}), nil
	}
	return nil, fmt.Errorf("%w: pickle: unsupported global %s.%s", ErrSchema, module, name)
}

type callable func(args ...any) (any, error)

func (c callable) Call(args ...any) (any, error) { return c(args...) }

// npDtype is a numpy dtype such as 'f8' with its byte order from __setstate__.
type npDtype struct {
	str   string
	order byte
}

// PySetState takes numpy's dtype state tuple (version, byteorder, ...).
func (d *npDtype) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok || t.Len() < 2 {
		return fmt.Errorf("numpy.dtype: state %T", state)
	}
	if s, ok := t.Get(1).(string); ok && len(s) == 1 {
		d.order = s[0]
	}
	return nil
}

// npScalar implements numpy.core.multiarray.scalar(dtype, raw bytes).
func npScalar(args ...any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("numpy scalar: %d arguments", len(args))
	}
	d, ok := args[0].(*npDtype)
	if !ok {
		return nil, fmt.Errorf("numpy scalar: dtype %T", args[0])
	}
	var raw []byte
	switch b := args[1].(type) {
	case []byte:
		raw = b
	case string: // protocol 0/1 may keep bytes as str
		raw = []byte(b)
	default:
		return nil, fmt.Errorf("numpy scalar: data %T", args[1])
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if d.order == '>' {
		bo = binary.BigEndian
	}
	kind := strings.TrimLeft(d.str, "<>=|")
	size := 0
	if len(kind) > 1 {
		size, _ = strconv.Atoi(kind[1:])
	}
	if size <= 0 || size != len(raw) {
		return nil, fmt.Errorf("numpy scalar: dtype %q with %d bytes", d.str, len(raw))
	}
	switch {
	case kind[0] == 'f' && size == 8:
		return math.Float64frombits(bo.Uint64(raw)), nil
	case kind[0] == 'f' && size == 4:
		return float64(math.Float32frombits(bo.Uint32(raw))), nil
	case kind[0] == 'i' || kind[0] == 'u':
		var u uint64
		switch size {
		case 1:
			u = uint64(raw[0])
		case 2:
			u = uint64(bo.Uint16(raw))
		case 4:
			u = uint64(bo.Uint32(raw))
		case 8:
			u = bo.Uint64(raw)
		default:
			return nil, fmt.Errorf("numpy scalar: dtype %q", d.str)
		}
		if kind[0] == 'i' {
			shift := 64 - 8*uint(size)
			return int(int64(u<<shift) >> shift), nil
		}
		if u > math.MaxInt64 {
			return nil, fmt.Errorf("numpy scalar: %d overflows int", u)
		}
		return int(u), nil
	case kind[0] == 'b' && size == 1:
		return raw[0] != 0, nil
	}
	return nil, fmt.Errorf("numpy scalar: unsupported dtype %q", d.str)
}

// hashable reports whether v can be a Go map key (gopickle's Set and
// OrderedDict panic on unhashable keys).
func hashable(v any) bool {
	switch v.(type) {
	case []byte, types.List, types.Tuple, types.Dict:
		return false
	}
	return true
}

// ---- conversion helpers from gopickle's object graph ----

var errType = errors.New("wrong type")

// sequence returns the items of a list, tuple or set (sets in no particular order).
func sequence(v any) ([]any, bool) {
	switch s := v.(type) {
	case *types.List:
		return *s, true
	case *types.Tuple:
		return *s, true
	case *types.Set:
		out := make([]any, 0, s.Len())
		for k := range *s {
			out = append(out, k)
		}
		return out, true
	case *types.FrozenSet:
		out := make([]any, 0, len(*s))
		for k := range *s {
			out = append(out, k)
		}
		return out, true
	}
	return nil, false
}

// eachItem calls fn for every key/value pair of a dict or OrderedDict, in
// insertion order. Duplicate keys in a plain Dict are visited twice; callers
// that build maps keep the last, as Python does.
func eachItem(v any, fn func(k, v any) error) error {
	switch d := v.(type) {
	case *types.Dict:
		for _, e := range *d {
			if err := fn(e.Key, e.Value); err != nil {
				return err
			}
		}
		return nil
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			if err := fn(e.Key, e.Value); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: want dict, got %T", errType, v)
}

// strMap converts a dict with string keys into a Go map (last duplicate wins).
func strMap(v any) (map[string]any, error) {
	m := make(map[string]any)
	err := eachItem(v, func(k, val any) error {
		s, ok := k.(string)
		if !ok {
			return fmt.Errorf("%w: dict key %T, want str", errType, k)
		}
		m[s] = val
		return nil
	})
	return m, err
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	}
	return 0, false
}

// asInt accepts ints and decimal strings such as NATS's '0777' seeds.
func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		n, err := strconv.Atoi(x)
		return n, err == nil
	}
	return 0, false
}
