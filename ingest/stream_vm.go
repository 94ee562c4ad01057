package ingest

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nlpodyssey/gopickle/types"
)

// The streaming pickle VM's interpreter loop (see stream.go for its state).

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
