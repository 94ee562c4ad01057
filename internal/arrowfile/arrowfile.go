package arrowfile

import (
	"errors"
	"fmt"
	"unsafe"
)

// ErrFormat is wrapped by every error about a malformed or unsupported file.
var ErrFormat = errors.New("arrowfile: malformed or unsupported Arrow file")

// TypeID is the kind of a column's type.
type TypeID uint8

// The supported types. Their values are the Arrow schema's Type union tags.
const (
	Int             TypeID = 2
	Float           TypeID = 3 // double precision only
	Utf8            TypeID = 5
	FixedSizeBinary TypeID = 15
	FixedSizeList   TypeID = 16
)

// Type is a column type.
type Type struct {
	ID     TypeID
	Bits   int   // Int: 8, 16, 32 or 64; Float: 64
	Signed bool  // Int
	Width  int   // FixedSizeBinary: bytes a value; FixedSizeList: values a list
	Elem   *Type // FixedSizeList: the element type (fixed width, not a list)
}

// The types of the store's columns.
var (
	Int32   = Type{ID: Int, Bits: 32, Signed: true}
	Int64   = Type{ID: Int, Bits: 64, Signed: true}
	Uint8   = Type{ID: Int, Bits: 8}
	Uint64  = Type{ID: Int, Bits: 64}
	Float64 = Type{ID: Float, Bits: 64}
	String  = Type{ID: Utf8}
)

// FixedSizeBinaryOf is the type of values of width bytes.
func FixedSizeBinaryOf(width int) Type { return Type{ID: FixedSizeBinary, Width: width} }

// FixedSizeListOf is the type of lists of n values of elem.
func FixedSizeListOf(n int, elem Type) Type { return Type{ID: FixedSizeList, Width: n, Elem: &elem} }

// valueBytes is the size of one value of a fixed-width type (a whole list
// for a fixed-size list), 0 for utf8.
func (t Type) valueBytes() int {
	switch t.ID {
	case Int, Float:
		return t.Bits / 8
	case FixedSizeBinary:
		return t.Width
	case FixedSizeList:
		return t.Width * t.Elem.valueBytes()
	}
	return 0
}

// Equal reports whether two types are the same.
func (t Type) Equal(u Type) bool {
	if t.ID != u.ID || t.Bits != u.Bits || t.Signed != u.Signed || t.Width != u.Width || (t.Elem == nil) != (u.Elem == nil) {
		return false
	}
	return t.Elem == nil || t.Elem.Equal(*u.Elem)
}

func (t Type) String() string {
	switch t.ID {
	case Int:
		if t.Signed {
			return fmt.Sprintf("int%d", t.Bits)
		}
		return fmt.Sprintf("uint%d", t.Bits)
	case Float:
		return fmt.Sprintf("float%d", t.Bits)
	case Utf8:
		return "utf8"
	case FixedSizeBinary:
		return fmt.Sprintf("fixed_size_binary[%d]", t.Width)
	case FixedSizeList:
		return fmt.Sprintf("fixed_size_list<%s>[%d]", t.Elem, t.Width)
	}
	return fmt.Sprintf("type %d", t.ID)
}

// Field is a named column.
type Field struct {
	Name string
	Type Type
}

// Schema is a file's columns and its key-value metadata.
type Schema struct {
	Fields   []Field
	Metadata []KeyValue
}

// KeyValue is one entry of a schema's metadata.
type KeyValue struct{ Key, Value string }

// Meta returns the metadata value of key, "" if absent.
func (s *Schema) Meta(key string) string {
	for _, kv := range s.Metadata {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}

// Column is one column of a record batch: the bytes of its values (of a
// fixed-size list, its elements'), and of a utf8 column also the rows+1
// int32 offsets into Data.
type Column struct {
	Data    []byte
	Offsets []byte
}

// The typed views below alias b when it is aligned (always, for a mapped
// file this package or arrow-go wrote: buffers are 8-byte aligned) and copy
// it otherwise. A trailing partial value is dropped. The host must be
// little-endian, as the files are (checked in init).

// Float64s views b as float64 values.
func Float64s(b []byte) []float64 { return view[float64](b) }

// Int32s views b as int32 values.
func Int32s(b []byte) []int32 { return view[int32](b) }

// Int64s views b as int64 values.
func Int64s(b []byte) []int64 { return view[int64](b) }

// Uint32s views b as uint32 values.
func Uint32s(b []byte) []uint32 { return view[uint32](b) }

// Uint64s views b as uint64 values.
func Uint64s(b []byte) []uint64 { return view[uint64](b) }

func view[T float64 | int32 | int64 | uint32 | uint64](b []byte) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	n := len(b) / size
	if n == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%uintptr(size) == 0 {
		return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
	}
	out := make([]T, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), n*size), b)
	return out
}

// Bytes views values as bytes (for writing).
func Bytes[T float64 | int32 | int64 | uint32 | uint64](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*int(unsafe.Sizeof(zero)))
}

func init() {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) != 1 {
		panic("arrowfile: big-endian hosts are not supported")
	}
}
