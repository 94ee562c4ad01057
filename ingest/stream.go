package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
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
