package ingest

// Helpers of the streaming VM's opcodes (map keys, GLOBAL, BUILD, LONG
// decoding, APPEND/SETITEM operands); split from stream.go.

import (
	"fmt"
	"math/big"

	"github.com/nlpodyssey/gopickle/types"
)

// mapKey reports whether v can be a key of a Go map without panicking.
func mapKey(v any) bool {
	switch x := v.(type) {
	case []byte, *types.List, *types.Dict, *types.OrderedDict, *types.Set, types.List, types.Tuple, types.Dict, callable:
		return false
	case *types.Tuple:
		return true // pointer identity, as gopickle
	case streamedVal:
		return false
	default:
		_ = x
	}
	return true
}

func (vm *streamVM) global(mod, name string, at int64) error {
	var v any
	switch mod + "." + name {
	case "collections.OrderedDict":
		v = &types.OrderedDictClass{}
	case "builtins.list":
		v = &types.List{}
	case "builtins.dict":
		v = &types.Dict{}
	case "__builtin__.object":
		v = &types.ObjectClass{}
	case "copy_reg._reconstructor":
		v = &types.Reconstructor{}
	default:
		c, err := findClass(mod, name)
		if err != nil {
			return atOffset(at, fmt.Errorf("%w (offset %d)", err, at))
		}
		v = c
	}
	return vm.push(v, at)
}

// build is gopickle's BUILD: __setstate__ or __dict__ update.
func build(inst, state any) error {
	if obj, ok := inst.(types.PyStateSettable); ok {
		return obj.PySetState(state)
	}
	var slotState any
	if t, ok := state.(*types.Tuple); ok && t.Len() == 2 {
		state, slotState = t.Get(0), t.Get(1)
	}
	if d, ok := state.(*types.Dict); ok {
		s, ok := inst.(types.PyDictSettable)
		if !ok {
			return fmt.Errorf("instance %T has no __dict__", inst)
		}
		for _, e := range *d {
			if err := s.PyDictSet(e.Key, e.Value); err != nil {
				return err
			}
		}
	}
	if d, ok := slotState.(*types.Dict); ok {
		s, ok := inst.(types.PyAttrSettable)
		if !ok {
			return fmt.Errorf("instance %T has no slots", inst)
		}
		for _, e := range *d {
			k, ok := e.Key.(string)
			if !ok {
				return fmt.Errorf("slot key %T", e.Key)
			}
			if err := s.PySetAttr(k, e.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeLongLE is gopickle's LONG decoding (little-endian two's complement;
// int when it fits in 8 bytes, else *big.Int).
func decodeLongLE(b []byte) any {
	neg := b[len(b)-1]&0x80 != 0
	if len(b) > 8 {
		be := make([]byte, len(b))
		for i, c := range b {
			if neg {
				c = ^c
			}
			be[len(b)-1-i] = c
		}
		bi := new(big.Int).SetBytes(be)
		if neg {
			bi.Add(bi, big.NewInt(1))
			bi.Neg(bi)
		}
		return bi
	}
	var ux, mask uint64
	for i := len(b) - 1; i >= 0; i-- {
		ux = ux<<8 | uint64(b[i])
		mask = mask<<8 | 0xff
	}
	if neg {
		return -(int(^ux&mask) + 1)
	}
	return int(ux)
}

// popItems pops the operands of an APPEND/SETITEM (single: the top n
// values, in stack order) or of their batched forms (everything above the
// last MARK), with the union of their metas.
func (vm *streamVM) popItems(at int64, single bool, n int) ([]any, vmeta, error) {
	if !single {
		return vm.popMarkM(at)
	}
	items := make([]any, n)
	var u vmeta
	for i := n - 1; i >= 0; i-- {
		v, m, err := vm.popM(at)
		if err != nil {
			return nil, 0, err
		}
		items[i] = v
		u = u.union(m)
	}
	return items, u, nil
}
