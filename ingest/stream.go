package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// A streaming pickle VM for the big single-file sources (NAS-Bench-201 .pth,
// NATS .pickle.pbz2). It is hand-written because gopickle has no streaming
// hook: its Unpickler materialises the whole object graph (tens of GB for the
// 4.7 GB v1_1 .pth) before returning. This VM builds the same gopickle types
// (so record.go converts its output unchanged) but hands every completed
// entry of the top-level 'arch2infos' dict to a callback and drops it: the
// dict keeps no value, and the memo entries that hold containers created
// while building that entry are released. Scalar memo entries (str, bytes,
// tuples of scalars, globals, numpy dtypes) are kept, deduplicated, because
// later entries BINGET them; a later BINGET of a released entry is an error.

// Limits on length arguments: nothing is allocated from an unchecked length.
const (
	maxStreamArg  = 64 << 20 // one str/bytes argument
	maxStreamLine = 64 << 10 // one GLOBAL line
	maxStreamMemo = 1 << 31  // memo index
	maxStreamDeep = 1 << 20  // stack and mark depth
)

// ErrReleased marks a BINGET of a memo entry released with an arch2infos entry.
var ErrReleased = errors.New("ingest: pickle memo entry was released with an earlier arch2infos entry")

// streamSink receives the arch2infos entries of a streamed pickle.
type streamSink struct {
	// start is called once when the arch2infos dict begins, with the
	// 'meta_archs' value read so far (nil if it does not precede arch2infos).
	start func(meta any) error
	// entry is called with each complete (key, value) pair in file order.
	entry func(key, val any) error
}

// streamedVal replaces an arch2infos value on the stack once handed out;
// every operation that would store it elsewhere fails.
type streamedVal struct{}

// Memo slot states (values >= memoFirst index streamVM.vals).
const (
	memoAbsent uint32 = iota
	memoReleased
	memoLive // a container of the current entry, in streamVM.live
	memoFirst
)

const memoChunk = 1 << 16

// vmeta is what the VM knows about a value on its stack or in its memo,
// computed once when the value is built so that nothing is ever walked
// again: its nesting depth (bits 0-29) and whether it is or holds a
// mutable container (metaContainer). Sharing through the memo therefore
// costs O(1) per use however often a value is referenced.
type vmeta uint32

const (
	metaContainer vmeta = 1 << 31
	metaDepth     vmeta = 1<<30 - 1
)

func (m vmeta) depth() int { return int(m & metaDepth) }

// join is the meta of a container (depth one more than its deepest item)
// whose items have the aggregated meta m; c marks a mutable container.
func (m vmeta) wrap(c bool) vmeta {
	out := m&metaContainer | (m&metaDepth + 1)
	if c {
		out |= metaContainer
	}
	return out
}

// union aggregates the metas of the items of one container.
func (m vmeta) union(o vmeta) vmeta {
	return (m|o)&metaContainer | max(m&metaDepth, o&metaDepth)
}

// memoVal is a memo entry with its meta.
type memoVal struct {
	v any
	m vmeta
}

// streamVM runs pickles one after another from one reader.
type streamVM struct {
	r    *bufio.Reader
	off  int64 // bytes consumed from r
	sink *streamSink
	ctx  context.Context
	lim  Limits

	stack []any
	smeta []vmeta // meta of stack[i]
	marks []int

	// memo: dense chunks of slot states indexed by memo id.
	memo    [][]uint32
	memoLen int
	vals    []memoVal         // retained scalar memo values
	strIdx  map[string]uint32 // dedup of retained strings / scalar tuples
	live    map[int]memoVal   // container memo entries, released per entry
	since   []int             // memo ids set since the last release point
	a2i     any               // the arch2infos dict once seen
	top     any               // stack[0] of the current pickle
	meta    any
	started bool
	// Streamed counts the arch2infos entries handed to the sink.
	streamed int

	// Budget: bytes of objects built since the last release point, and of
	// retained memo values; their sum stays within lim.PickleLive.
	liveBytes, keptBytes int64
	ops                  int // opcodes run, for the periodic context check
}

// newStreamVM reads pickles from r within lim (zero fields: defaults);
// ctx is observed every few thousand opcodes and before every large read.
func newStreamVM(ctx context.Context, r io.Reader, lim Limits) *streamVM {
	lim = lim.withDefaults()
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<16)
	}
	return &streamVM{r: br, ctx: ctx, lim: lim}
}

func (vm *streamVM) fail(at int64, format string, args ...any) error {
	return atOffset(at, fmt.Errorf("%w: pickle: %s at offset %d", ErrFormat, fmt.Sprintf(format, args...), at))
}

// atEOF reports whether the reader has no more bytes.
func (vm *streamVM) atEOF() bool {
	_, err := vm.r.Peek(1)
	return err == io.EOF
}

func (vm *streamVM) readByte() (byte, error) {
	b, err := vm.r.ReadByte()
	if err != nil {
		return 0, vm.ioErr(err)
	}
	vm.off++
	return b, nil
}

func (vm *streamVM) ioErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return vm.fail(vm.off, "truncated, no STOP opcode")
	}
	if errors.Is(err, ErrLimit) {
		return atOffset(vm.off, fmt.Errorf("pickle: read at offset %d: %w", vm.off, err))
	}
	return atOffset(vm.off, fmt.Errorf("%w: pickle: read at offset %d: %v", ErrFormat, vm.off, err))
}

// read returns the next n bytes in a fresh slice; n is checked first,
// against the argument limit and the live-object budget.
func (vm *streamVM) read(n uint64) ([]byte, error) {
	if n > maxStreamArg {
		return nil, vm.fail(vm.off, "argument of %d bytes exceeds the %d-byte limit", n, maxStreamArg)
	}
	if err := vm.charge(int64(n), vm.off); err != nil {
		return nil, err
	}
	if n >= 1<<16 {
		if err := vm.ctx.Err(); err != nil {
			return nil, err
		}
	}
	if n > 1<<16 {
		// Grow with the data actually read, so that a short input claiming
		// a long argument costs what it holds, not what it claims.
		var bb bytes.Buffer
		m, err := io.CopyN(&bb, vm.r, int64(n))
		vm.off += m
		if err != nil {
			return nil, vm.ioErr(err)
		}
		return bb.Bytes(), nil
	}
	buf := make([]byte, n)
	m, err := io.ReadFull(vm.r, buf)
	vm.off += int64(m)
	if err != nil {
		return nil, vm.ioErr(err)
	}
	return buf, nil
}

// charge adds n bytes to the live-object budget.
func (vm *streamVM) charge(n int64, at int64) error {
	vm.liveBytes += n
	if vm.liveBytes+vm.keptBytes > vm.lim.PickleLive {
		return atOffset(at, fmt.Errorf("%w: pickle: objects built at offset %d exceed the %d-byte live budget (--max-pickle-live)", ErrLimit, at, vm.lim.PickleLive))
	}
	return nil
}

func (vm *streamVM) fixed(n int) ([]byte, error) {
	var b [8]byte
	m, err := io.ReadFull(vm.r, b[:n])
	vm.off += int64(m)
	if err != nil {
		return nil, vm.ioErr(err)
	}
	return b[:n], nil
}

func (vm *streamVM) line() (string, error) {
	var sb strings.Builder
	for {
		c, err := vm.readByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return sb.String(), nil
		}
		if sb.Len() >= maxStreamLine {
			return "", vm.fail(vm.off, "line longer than %d bytes", maxStreamLine)
		}
		sb.WriteByte(c)
	}
}

func (vm *streamVM) length(n int) (uint64, error) {
	b, err := vm.fixed(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 4:
		return uint64(binary.LittleEndian.Uint32(b)), nil
	}
	return binary.LittleEndian.Uint64(b), nil
}

// ---- stack ----

// push pushes a scalar (depth 0, no container).
func (vm *streamVM) push(v any, at int64) error { return vm.pushM(v, 0, at) }

// pushM pushes v with its meta, checking the depth limit.
func (vm *streamVM) pushM(v any, m vmeta, at int64) error {
	if len(vm.stack) >= maxStreamDeep {
		return vm.fail(at, "stack deeper than %d", maxStreamDeep)
	}
	if m.depth() > vm.lim.PickleDepth {
		return atOffset(at, fmt.Errorf("%w: pickle: containers nested deeper than %d at offset %d (--max-pickle-depth)", ErrLimit, vm.lim.PickleDepth, at))
	}
	vm.stack = append(vm.stack, v)
	vm.smeta = append(vm.smeta, m)
	return vm.watch(at)
}

// pushContainer pushes a new container built from items with aggregated
// meta m, charging its size to the budget.
func (vm *streamVM) pushContainer(v any, m vmeta, n int, mutable bool, at int64) error {
	if err := vm.charge(48+16*int64(n), at); err != nil {
		return err
	}
	return vm.pushM(v, m.wrap(mutable), at)
}

func (vm *streamVM) base() int {
	if len(vm.marks) > 0 {
		return vm.marks[len(vm.marks)-1]
	}
	return 0
}

func (vm *streamVM) pop(at int64) (any, error) {
	v, _, err := vm.popM(at)
	return v, err
}

func (vm *streamVM) popM(at int64) (any, vmeta, error) {
	if len(vm.stack) <= vm.base() {
		return nil, 0, vm.fail(at, "stack underflow")
	}
	n := len(vm.stack) - 1
	v, m := vm.stack[n], vm.smeta[n]
	vm.stack[n] = nil
	vm.stack, vm.smeta = vm.stack[:n], vm.smeta[:n]
	return v, m, nil
}

func (vm *streamVM) last(at int64) (any, error) {
	if len(vm.stack) <= vm.base() {
		return nil, vm.fail(at, "stack underflow")
	}
	return vm.stack[len(vm.stack)-1], nil
}

// grow records that the object on top of the stack now also holds items
// with aggregated meta m (APPEND, SETITEM, ADDITEMS, BUILD), charging
// their slots to the budget.
func (vm *streamVM) grow(m vmeta, n int, at int64) error {
	if err := vm.charge(16*int64(n), at); err != nil {
		return err
	}
	top := len(vm.smeta) - 1
	nm := vm.smeta[top].union(m.wrap(true))
	if nm.depth() > vm.lim.PickleDepth {
		return atOffset(at, fmt.Errorf("%w: pickle: containers nested deeper than %d at offset %d (--max-pickle-depth)", ErrLimit, vm.lim.PickleDepth, at))
	}
	vm.smeta[top] = nm
	return nil
}

// popMark pops the items above the topmost mark (a copy) and the mark.
func (vm *streamVM) popMark(at int64) ([]any, error) {
	items, _, err := vm.popMarkM(at)
	return items, err
}

// popMarkM is popMark that also returns the union of the items' metas.
func (vm *streamVM) popMarkM(at int64) ([]any, vmeta, error) {
	if len(vm.marks) == 0 {
		return nil, 0, vm.fail(at, "no MARK on the stack")
	}
	m := vm.marks[len(vm.marks)-1]
	vm.marks = vm.marks[:len(vm.marks)-1]
	items := append([]any(nil), vm.stack[m:]...)
	var u vmeta
	for _, x := range vm.smeta[m:] {
		u = u.union(x)
	}
	clear(vm.stack[m:])
	vm.stack, vm.smeta = vm.stack[:m], vm.smeta[:m]
	return items, u, nil
}

// livesOnly fails if a streamed-out value would be stored again.
func (vm *streamVM) livesOnly(at int64, items ...any) error {
	for _, it := range items {
		if _, ok := it.(streamedVal); ok {
			return vm.fail(at, "use of an arch2infos value that was already streamed out")
		}
	}
	return nil
}

// ---- memo: stream_memo.go ----

// ---- the VM ----

// load runs one pickle to its STOP and returns its object.
// sink, if not nil, receives the arch2infos entries of this pickle.
func (vm *streamVM) load(sink *streamSink) (any, error) {
	vm.stack, vm.smeta, vm.marks = vm.stack[:0], vm.smeta[:0], vm.marks[:0]
	vm.memo, vm.memoLen, vm.vals, vm.strIdx, vm.live, vm.since = nil, 0, nil, nil, nil, nil
	vm.top, vm.a2i, vm.meta, vm.started, vm.streamed, vm.sink = nil, nil, nil, false, 0, sink
	vm.liveBytes, vm.keptBytes = 0, 0
	for {
		at := vm.off
		if vm.ops++; vm.ops&0xfff == 0 {
			if err := vm.ctx.Err(); err != nil {
				return nil, err
			}
		}
		op, err := vm.readByte()
		if err != nil {
			return nil, err
		}
		done, v, err := vm.step(op, at)
		if err != nil {
			return nil, err
		}
		if done {
			vm.stack, vm.smeta = vm.stack[:0], vm.smeta[:0]
			return v, nil
		}
	}
}

func (vm *streamVM) step(op byte, at int64) (done bool, result any, err error) {
	pushArg := func(n int, f func([]byte) any) error {
		b, err := vm.fixed(n)
		if err != nil {
			return err
		}
		return vm.push(f(b), at)
	}
	switch op {
	case 0x80: // PROTO
		b, err := vm.readByte()
		if err != nil {
			return false, nil, err
		}
		if b > 5 {
			return false, nil, vm.fail(at, "unsupported protocol %d", b)
		}
	case 0x95: // FRAME: only a grouping hint for a streaming reader
		_, err = vm.fixed(8)
	case '.': // STOP
		v, err := vm.pop(at)
		if err != nil {
			return false, nil, err
		}
		if err := vm.livesOnly(at, v); err != nil {
			return false, nil, err
		}
		return true, v, nil
	case '(': // MARK
		if len(vm.marks) >= maxStreamDeep {
			return false, nil, vm.fail(at, "marks deeper than %d", maxStreamDeep)
		}
		if vm.a2i != nil && len(vm.stack) > 0 && vm.stack[len(vm.stack)-1] == vm.a2i {
			vm.release() // a new batch into arch2infos starts clean
		}
		vm.marks = append(vm.marks, len(vm.stack))
	case '0': // POP
		if len(vm.marks) > 0 && vm.marks[len(vm.marks)-1] == len(vm.stack) {
			_, err = vm.popMark(at)
		} else {
			_, err = vm.pop(at)
		}
	case '1': // POP_MARK
		_, err = vm.popMark(at)
	case '2': // DUP
		var v any
		if v, err = vm.last(at); err == nil {
			err = vm.pushM(v, vm.smeta[len(vm.smeta)-1], at)
		}
	case 'N':
		err = vm.push(nil, at)
	case 0x88:
		err = vm.push(true, at)
	case 0x89:
		err = vm.push(false, at)
	case 'J':
		err = pushArg(4, func(b []byte) any { return int(int32(binary.LittleEndian.Uint32(b))) })
	case 'K':
		err = pushArg(1, func(b []byte) any { return int(b[0]) })
	case 'M':
		err = pushArg(2, func(b []byte) any { return int(binary.LittleEndian.Uint16(b)) })
	case 'G':
		err = pushArg(8, func(b []byte) any { return math.Float64frombits(binary.BigEndian.Uint64(b)) })
	case 0x8a, 0x8b: // LONG1, LONG4
		n, err := vm.length(map[byte]int{0x8a: 1, 0x8b: 4}[op])
		if err != nil {
			return false, nil, err
		}
		if op == 0x8b && int32(n) < 0 {
			return false, nil, vm.fail(at, "negative LONG4 length")
		}
		b, err := vm.read(n)
		if err != nil {
			return false, nil, err
		}
		if len(b) == 0 {
			err = vm.push(0, at)
		} else {
			err = vm.push(decodeLongLE(b), at)
		}
	case 'X', 0x8c, 0x8d, 'T', 'U', 'B', 'C', 0x8e: // counted str / bytes
		size := map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8, 'T': 4, 'U': 1, 'B': 4, 'C': 1, 0x8e: 8}[op]
		n, err := vm.length(size)
		if err != nil {
			return false, nil, err
		}
		if op == 'T' && int32(n) < 0 {
			return false, nil, vm.fail(at, "negative BINSTRING length")
		}
		b, err := vm.read(n)
		if err != nil {
			return false, nil, err
		}
		switch op {
		case 'B', 'C', 0x8e:
			err = vm.push(b, at)
		default:
			err = vm.push(string(b), at)
		}
	case ')':
		err = vm.pushContainer(types.NewTupleFromSlice([]any{}), 0, 0, false, at)
	case 't', 'l', 'd', 0x91: // TUPLE, LIST, DICT, FROZENSET
		items, m, err := vm.popMarkM(at)
		if err != nil {
			return false, nil, err
		}
		if err := vm.livesOnly(at, items...); err != nil {
			return false, nil, err
		}
		var v any
		switch op {
		case 't':
			v = types.NewTupleFromSlice(items)
		case 'l':
			v = types.NewListFromSlice(items)
		case 0x91:
			for _, it := range items {
				if !hashable(it) {
					return false, nil, vm.fail(at, "unhashable frozenset element %T", it)
				}
			}
			v = types.NewFrozenSetFromSlice(items)
		case 'd':
			if len(items)%2 != 0 {
				return false, nil, vm.fail(at, "DICT with an odd number of items")
			}
			d := types.NewDict()
			for i := 0; i < len(items); i += 2 {
				d.Set(items[i], items[i+1])
			}
			v = d
		}
		err = vm.pushContainer(v, m, len(items), op != 't', at)
	case 0x85, 0x86, 0x87: // TUPLE1-3
		n := int(op - 0x84)
		items := make([]any, n)
		var m vmeta
		for i := n - 1; i >= 0; i-- {
			var im vmeta
			if items[i], im, err = vm.popM(at); err != nil {
				return false, nil, err
			}
			m = m.union(im)
		}
		if err := vm.livesOnly(at, items...); err != nil {
			return false, nil, err
		}
		err = vm.pushContainer(types.NewTupleFromSlice(items), m, n, false, at)
	case ']':
		err = vm.pushContainer(types.NewList(), 0, 0, true, at)
	case '}':
		err = vm.pushContainer(types.NewDict(), 0, 0, true, at)
	case 0x8f:
		err = vm.pushContainer(types.NewSet(), 0, 0, true, at)
	case 'a', 'e': // APPEND, APPENDS
		items, m, err := vm.popItems(at, op == 'a', 1)
		if err != nil {
			return false, nil, err
		}
		if err := vm.livesOnly(at, items...); err != nil {
			return false, nil, err
		}
		obj, err := vm.last(at)
		if err != nil {
			return false, nil, err
		}
		l, ok := obj.(types.ListAppender)
		if !ok {
			return false, nil, vm.fail(at, "APPEND to %T", obj)
		}
		if err := vm.grow(m, len(items), at); err != nil {
			return false, nil, err
		}
		for _, it := range items {
			l.Append(it)
		}
	case 's', 'u': // SETITEM, SETITEMS
		items, m, err := vm.popItems(at, op == 's', 2)
		if err != nil {
			return false, nil, err
		}
		if len(items)%2 != 0 {
			return false, nil, vm.fail(at, "SETITEMS with an odd number of items")
		}
		obj, err := vm.last(at)
		if err != nil {
			return false, nil, err
		}
		if vm.a2i != nil && obj == vm.a2i {
			for i := 0; i < len(items); i += 2 {
				if _, ok := items[i+1].(streamedVal); ok {
					continue
				}
				vm.stack = append(vm.stack, items[i], items[i+1])
				vm.smeta = append(vm.smeta, 0, 0)
				err := vm.emit(len(vm.stack)-2, at)
				vm.stack, vm.smeta = vm.stack[:len(vm.stack)-2], vm.smeta[:len(vm.smeta)-2]
				if err != nil {
					return false, nil, err
				}
			}
			vm.release()
			return false, nil, nil
		}
		if err := vm.livesOnly(at, items...); err != nil {
			return false, nil, err
		}
		d, ok := obj.(types.DictSetter)
		if !ok {
			return false, nil, vm.fail(at, "SETITEM on %T", obj)
		}
		if err := vm.grow(m, len(items), at); err != nil {
			return false, nil, err
		}
		for i := 0; i < len(items); i += 2 {
			if _, ok := d.(*types.OrderedDict); ok && !mapKey(items[i]) {
				return false, nil, vm.fail(at, "unhashable OrderedDict key %T", items[i])
			}
			d.Set(items[i], items[i+1])
		}
	case 0x90: // ADDITEMS
		items, m, err := vm.popMarkM(at)
		if err != nil {
			return false, nil, err
		}
		if err := vm.livesOnly(at, items...); err != nil {
			return false, nil, err
		}
		obj, err := vm.last(at)
		if err != nil {
			return false, nil, err
		}
		s, ok := obj.(types.SetAdder)
		if !ok {
			return false, nil, vm.fail(at, "ADDITEMS to %T", obj)
		}
		if err := vm.grow(m, len(items), at); err != nil {
			return false, nil, err
		}
		for _, it := range items {
			if !mapKey(it) {
				return false, nil, vm.fail(at, "unhashable set element %T", it)
			}
			s.Add(it)
		}
	case 'c': // GLOBAL
		mod, err := vm.line()
		if err != nil {
			return false, nil, err
		}
		name, err := vm.line()
		if err != nil {
			return false, nil, err
		}
		err = vm.global(mod, name, at)
	case 0x93: // STACK_GLOBAL
		name, err := vm.pop(at)
		if err != nil {
			return false, nil, err
		}
		mod, err := vm.pop(at)
		if err != nil {
			return false, nil, err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return false, nil, vm.fail(at, "STACK_GLOBAL of %T %T", mod, name)
		}
		err = vm.global(ms, ns, at)
	case 'R', 0x81: // REDUCE, NEWOBJ
		args, am, err := vm.popM(at)
		if err != nil {
			return false, nil, err
		}
		fn, err := vm.pop(at)
		if err != nil {
			return false, nil, err
		}
		t, ok := args.(*types.Tuple)
		if !ok {
			return false, nil, vm.fail(at, "REDUCE arguments %T, want tuple", args)
		}
		// The tuple's items were checked by livesOnly when it was built.
		var v any
		if op == 'R' {
			c, ok := fn.(types.Callable)
			if !ok {
				return false, nil, vm.fail(at, "REDUCE of %T", fn)
			}
			v, err = c.Call(*t...)
		} else {
			c, ok := fn.(types.PyNewable)
			if !ok {
				return false, nil, vm.fail(at, "NEWOBJ of %T", fn)
			}
			v, err = c.PyNew(*t...)
		}
		if err != nil {
			return false, nil, atOffset(at, fmt.Errorf("%w: pickle: %v at offset %d", ErrFormat, err, at))
		}
		// The result may hold the arguments: it is as deep as they are.
		err = vm.pushContainer(v, am, t.Len(), isContainer(v), at)
	case 'b': // BUILD
		state, sm, err := vm.popM(at)
		if err != nil {
			return false, nil, err
		}
		if err := vm.livesOnly(at, state); err != nil {
			return false, nil, err
		}
		inst, err := vm.last(at)
		if err != nil {
			return false, nil, err
		}
		n := 1
		if sq, ok := sequence(state); ok {
			n = len(sq)
		} else if d, ok := state.(*types.Dict); ok {
			n = d.Len()
		}
		if err := vm.grow(sm, n, at); err != nil {
			return false, nil, err
		}
		err = build(inst, state)
		if err != nil {
			err = vm.fail(at, "BUILD: %v", err)
		}
	case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
		var id int
		switch op {
		case 'q':
			n, e := vm.length(1)
			id, err = int(n), e
		case 'r':
			n, e := vm.length(4)
			id, err = int(n), e
		default:
			id = vm.memoLen
		}
		if err != nil {
			return false, nil, err
		}
		v, err := vm.last(at)
		if err != nil {
			return false, nil, err
		}
		err = vm.put(id, v, vm.smeta[len(vm.smeta)-1], at)
	case 'h', 'j': // BINGET, LONG_BINGET
		n, err := vm.length(map[byte]int{'h': 1, 'j': 4}[op])
		if err != nil {
			return false, nil, err
		}
		v, m, err := vm.get(int(n), at)
		if err != nil {
			return false, nil, err
		}
		err = vm.pushM(v, m, at)
	case 'P', 'Q':
		return false, nil, atOffset(at, fmt.Errorf("%w: pickle: persistent id at offset %d (tensor storages are not supported)", ErrSchema, at))
	default:
		return false, nil, vm.fail(at, "unsupported opcode 0x%02x", op)
	}
	return false, nil, err
}
