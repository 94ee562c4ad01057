package ingest

// The streaming VM's memo (slots, scalar retention, release with each
// arch2infos entry) and the watcher that hands entries to the sink; split
// from stream.go along that seam.

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

func (vm *streamVM) slot(id int) *uint32 {
	c := id / memoChunk
	for len(vm.memo) <= c {
		vm.memo = append(vm.memo, nil)
	}
	if vm.memo[c] == nil {
		vm.memo[c] = make([]uint32, memoChunk)
	}
	return &vm.memo[c][id%memoChunk]
}

func (vm *streamVM) put(id int, v any, m vmeta, at int64) error {
	if id < 0 || id >= maxStreamMemo {
		return vm.fail(at, "memo index %d outside 0..%d", id, maxStreamMemo-1)
	}
	if err := vm.livesOnly(at, v); err != nil {
		return err
	}
	if id >= vm.memoLen {
		// New memo chunks are charged: a far memo index costs its chunk.
		if err := vm.charge(4*int64(id-vm.memoLen+1), at); err != nil {
			return err
		}
	}
	s := vm.slot(id)
	if *s == memoLive {
		delete(vm.live, id)
	}
	if m&metaContainer != 0 {
		if vm.live == nil {
			vm.live = map[int]memoVal{}
		}
		vm.live[id] = memoVal{v, m}
		*s = memoLive
	} else {
		i, err := vm.retain(v, m, at)
		if err != nil {
			return err
		}
		*s = i
	}
	if vm.a2i != nil {
		vm.since = append(vm.since, id)
	}
	vm.memoLen = max(vm.memoLen, id+1)
	return nil
}

// maxDedupTuple is the longest tuple retain deduplicates; longer ones are
// kept as they are, so that a memo put never costs more than O(this).
const maxDedupTuple = 16

// retain stores a scalar memo value, deduplicating strings and short
// scalar tuples; what it keeps is charged to the budget for good.
func (vm *streamVM) retain(v any, m vmeta, at int64) (uint32, error) {
	var k string
	switch x := v.(type) {
	case string:
		k = "s" + x
	case *types.Tuple:
		if x.Len() <= maxDedupTuple {
			if sk, ok := scalarKey(x); ok {
				k = "t" + sk
			}
		}
	}
	if k != "" {
		if i, ok := vm.strIdx[k]; ok {
			return i, nil
		}
	}
	vm.keptBytes += 32 + int64(len(k))
	if err := vm.charge(0, at); err != nil {
		return 0, err
	}
	vm.vals = append(vm.vals, memoVal{v, m})
	i := uint32(len(vm.vals)-1) + memoFirst
	if k != "" {
		if vm.strIdx == nil {
			vm.strIdx = map[string]uint32{}
		}
		vm.strIdx[k] = i
	}
	return i, nil
}

// scalarKey encodes a tuple of str/int/float/bool/None for deduplication.
func scalarKey(t *types.Tuple) (string, bool) {
	var sb strings.Builder
	for _, it := range *t {
		switch x := it.(type) {
		case string:
			fmt.Fprintf(&sb, "s%d:%s", len(x), x)
		case int:
			fmt.Fprintf(&sb, "i%d;", x)
		case float64:
			fmt.Fprintf(&sb, "f%x;", math.Float64bits(x))
		case bool:
			fmt.Fprintf(&sb, "b%t;", x)
		case nil:
			sb.WriteString("n;")
		default:
			return "", false
		}
	}
	return sb.String(), true
}

// isContainer reports whether v itself is a mutable container or object.
func isContainer(v any) bool {
	switch v.(type) {
	case *types.Dict, *types.OrderedDict, *types.List, *types.Set, *types.FrozenSet,
		*types.GenericObject, *types.Array, *types.ByteArray:
		return true
	}
	return false
}

func (vm *streamVM) get(id int, at int64) (any, vmeta, error) {
	if id < 0 || id >= vm.memoLen {
		return nil, 0, vm.fail(at, "memo index %d was never set", id)
	}
	s := *vm.slot(id)
	switch s {
	case memoAbsent:
		return nil, 0, vm.fail(at, "memo index %d was never set", id)
	case memoReleased:
		return nil, 0, atOffset(at, fmt.Errorf("%w: memo index %d at offset %d", ErrReleased, id, at))
	case memoLive:
		e := vm.live[id]
		return e.v, e.m, nil
	}
	e := vm.vals[s-memoFirst]
	return e.v, e.m, nil
}

// release drops the container memo entries set since the last release
// point and restarts the live-object budget.
func (vm *streamVM) release() {
	for _, id := range vm.since {
		s := vm.slot(id)
		if *s == memoLive {
			if v := vm.live[id].v; v == vm.a2i || v == vm.top || v == vm.meta {
				continue
			}
			delete(vm.live, id)
			*s = memoReleased
		}
	}
	vm.since = vm.since[:0]
	vm.liveBytes = 0
}

// ---- arch2infos detection ----

// watch runs after every push. It recognises the arch2infos dict (the value
// of key 'arch2infos' directly in the top-level dict) and, inside a
// SETITEMS batch into it, hands out the previous (key, value) pair as soon as
// the next integer key is pushed.
func (vm *streamVM) watch(at int64) error {
	if vm.sink == nil {
		return nil
	}
	p := len(vm.stack) - 1
	if vm.a2i == nil {
		if p < 2 || p == 0 {
			return nil
		}
		if _, ok := vm.stack[0].(*types.Dict); !ok {
			return nil
		}
		base := 1
		switch {
		case len(vm.marks) == 1 && vm.marks[0] == 1:
		case len(vm.marks) == 0 && p == 2:
		default:
			return nil
		}
		if (p-base)%2 != 1 || vm.stack[p-1] != "arch2infos" {
			return nil
		}
		switch vm.stack[p].(type) {
		case *types.Dict, *types.OrderedDict:
		default:
			return nil
		}
		vm.a2i, vm.top = vm.stack[p], vm.stack[0]
		for i := base; i+1 < p-1; i += 2 {
			if vm.stack[i] == "meta_archs" {
				vm.meta = vm.stack[i+1]
			}
		}
		vm.since = vm.since[:0]
		vm.started = true
		return vm.sink.start(vm.meta)
	}
	if len(vm.marks) == 0 {
		return nil
	}
	m := vm.marks[len(vm.marks)-1]
	if m < 1 || vm.stack[m-1] != vm.a2i || p < m+2 || (p-m)%2 != 0 {
		return nil
	}
	if !intKey(vm.stack[p]) || !intKey(vm.stack[p-2]) {
		return nil
	}
	switch vm.stack[p-1].(type) {
	case *types.Dict, *types.OrderedDict:
	default:
		return nil
	}
	return vm.emit(p-2, at)
}

func intKey(v any) bool {
	switch v.(type) {
	case int, *big.Int:
		return true
	}
	return false
}

// emit hands stack[i], stack[i+1] to the sink and drops the value.
func (vm *streamVM) emit(i int, at int64) error {
	k, v := vm.stack[i], vm.stack[i+1]
	vm.stack[i+1] = streamedVal{}
	vm.release()
	vm.streamed++
	if err := vm.sink.entry(k, v); err != nil {
		return err
	}
	return nil
}
