package arrowfile

import (
	"encoding/binary"
	"fmt"
)

const magic = "ARROW1"

// Arrow's flatbuffer enums (format/Schema.fbs, Message.fbs).
const (
	headerSchema      = 1
	headerRecordBatch = 3
	metadataV4        = 3
	metadataV5        = 4
	precisionDouble   = 2
)

// File is an Arrow IPC file opened for reading.
type File struct {
	data    []byte
	schema  Schema
	batches []block
}

type block struct {
	offset, metaLen, bodyLen int64
}

// Open reads the footer and schema of the Arrow file in data. The File
// aliases data, which must stay unchanged while it is used.
func Open(data []byte) (f *File, err error) {
	defer catch(&err)
	n := len(data)
	if n < 2*len(magic)+2+4 || string(data[:len(magic)]) != magic || string(data[n-len(magic):]) != magic {
		return nil, fmt.Errorf("%w: no Arrow file magic", ErrFormat)
	}
	footLen := int64(int32(binary.LittleEndian.Uint32(data[n-len(magic)-4:])))
	footEnd := int64(n - len(magic) - 4)
	if footLen <= 0 || footLen > footEnd-8 {
		return nil, fmt.Errorf("%w: footer length %d", ErrFormat, footLen)
	}
	fb := fbuf(data[footEnd-footLen : footEnd])
	footer := fb.root()
	if v := fb.int16Field(footer, 0, 0); v < metadataV4 || v > metadataV5 {
		return nil, fmt.Errorf("%w: metadata version %d", ErrFormat, v)
	}
	s, ok := fb.tableField(footer, 1)
	if !ok {
		return nil, fmt.Errorf("%w: footer without schema", ErrFormat)
	}
	f = &File{data: data}
	f.schema = fb.schema(s)
	if d, ok := fb.vectorField(footer, 2, 24); ok && d.n > 0 {
		return nil, fmt.Errorf("%w: dictionaries are not supported", ErrFormat)
	}
	if v, ok := fb.vectorField(footer, 3, 24); ok {
		f.batches = make([]block, v.n)
		for i := range f.batches {
			p := v.at + 24*i
			b := block{fb.int64(p), int64(fb.int32(p + 8)), fb.int64(p + 16)}
			if b.offset < 8 || b.metaLen < 8 || b.bodyLen < 0 || b.offset%8 != 0 ||
				b.metaLen > footEnd || b.bodyLen > footEnd || b.offset > footEnd-b.metaLen-b.bodyLen {
				return nil, fmt.Errorf("%w: record batch %d at %d+%d+%d outside the file", ErrFormat, i, b.offset, b.metaLen, b.bodyLen)
			}
			f.batches[i] = b
		}
	}
	return f, nil
}

// Schema returns the file's schema.
func (f *File) Schema() *Schema { return &f.schema }

// NumBatches returns the number of record batches.
func (f *File) NumBatches() int { return len(f.batches) }

// Batch is one record batch: its number of rows and a column per field.
type Batch struct {
	Rows    int
	Columns []Column
}

// Batch reads record batch i: every buffer is checked to lie within the
// batch's body and to hold its rows. A utf8 column's offsets are checked
// where a value is read (Column.Str): a query reads one architecture of
// 15,625, and checking them all touched 61 kB of the file for it.
func (f *File) Batch(i int) (b *Batch, err error) {
	defer catch(&err)
	if i < 0 || i >= len(f.batches) {
		return nil, fmt.Errorf("%w: record batch %d of %d", ErrFormat, i, len(f.batches))
	}
	bl := f.batches[i]
	meta := f.data[bl.offset : bl.offset+bl.metaLen]
	start := 4
	if binary.LittleEndian.Uint32(meta) == 0xFFFFFFFF {
		start = 8
	}
	mlen := int64(int32(binary.LittleEndian.Uint32(meta[start-4:])))
	if mlen <= 0 || mlen > int64(len(meta)-start) {
		return nil, fmt.Errorf("%w: record batch %d: metadata length %d", ErrFormat, i, mlen)
	}
	fb := fbuf(meta[start : int64(start)+mlen])
	msg := fb.root()
	if v := fb.int16Field(msg, 0, 0); v < metadataV4 || v > metadataV5 {
		return nil, fmt.Errorf("%w: record batch %d: metadata version %d", ErrFormat, i, v)
	}
	if fb.uint8Field(msg, 1) != headerRecordBatch {
		return nil, fmt.Errorf("%w: block %d is not a record batch", ErrFormat, i)
	}
	rb, ok := fb.tableField(msg, 2)
	if !ok {
		return nil, fmt.Errorf("%w: record batch %d without header", ErrFormat, i)
	}
	if _, ok := fb.tableField(rb, 3); ok {
		return nil, fmt.Errorf("%w: record batch %d is compressed", ErrFormat, i)
	}
	rows := fb.int64Field(rb, 0)
	nodes, _ := fb.vectorField(rb, 1, 16)
	bufs, _ := fb.vectorField(rb, 2, 16)
	body := f.data[bl.offset+bl.metaLen : bl.offset+bl.metaLen+bl.bodyLen]
	if rows < 0 || rows > int64(len(f.data)) {
		return nil, fmt.Errorf("%w: record batch %d has %d rows", ErrFormat, i, rows)
	}
	r := batchReader{fb: fb, nodes: nodes, bufs: bufs, body: body}
	b = &Batch{Rows: int(rows), Columns: make([]Column, len(f.schema.Fields))}
	for j, fd := range f.schema.Fields {
		c, err := r.column(fd.Type, rows)
		if err != nil {
			return nil, fmt.Errorf("%w: record batch %d column %s: %v", ErrFormat, i, fd.Name, err)
		}
		b.Columns[j] = c
	}
	return b, nil
}

type batchReader struct {
	fb          fbuf
	nodes, bufs vec
	node, buf   int
	body        []byte
}

func (r *batchReader) nextNode(rows int64) error {
	if r.node >= r.nodes.n {
		return fmt.Errorf("too few field nodes")
	}
	p := r.nodes.at + 16*r.node
	r.node++
	if n, nulls := r.fb.int64(p), r.fb.int64(p+8); n != rows || nulls != 0 {
		return fmt.Errorf("field node of %d rows and %d nulls, want %d rows and none", n, nulls, rows)
	}
	return nil
}

func (r *batchReader) nextBuf(min int64) ([]byte, error) {
	if r.buf >= r.bufs.n {
		return nil, fmt.Errorf("too few buffers")
	}
	p := r.bufs.at + 16*r.buf
	r.buf++
	off, n := r.fb.int64(p), r.fb.int64(p+8)
	if off < 0 || n < min || off > int64(len(r.body)) || n > int64(len(r.body))-off {
		return nil, fmt.Errorf("buffer %d+%d outside a body of %d bytes, or under %d bytes", off, n, len(r.body), min)
	}
	return r.body[off : off+n], nil
}

func (r *batchReader) column(t Type, rows int64) (Column, error) {
	if err := r.nextNode(rows); err != nil {
		return Column{}, err
	}
	if _, err := r.nextBuf(0); err != nil { // validity: no nulls, so unread
		return Column{}, err
	}
	switch t.ID {
	case FixedSizeList:
		return r.column(*t.Elem, rows*int64(t.Width))
	case Utf8:
		if rows >= 1<<31-1 {
			return Column{}, fmt.Errorf("%d rows", rows)
		}
		off, err := r.nextBuf(4 * (rows + 1))
		if err != nil {
			return Column{}, err
		}
		off = off[:4*(rows+1)]
		data, err := r.nextBuf(0)
		if err != nil {
			return Column{}, err
		}
		return Column{Data: data, Offsets: off}, nil
	}
	w := int64(t.valueBytes())
	if rows > int64(len(r.body))/max(w, 1) {
		return Column{}, fmt.Errorf("%d rows of %d bytes in a body of %d", rows, w, len(r.body))
	}
	data, err := r.nextBuf(rows * w)
	if err != nil {
		return Column{}, err
	}
	return Column{Data: data[:rows*w]}, nil
}

// Str returns row i of a utf8 column, and false where its offsets are
// damaged (descending, or past the data). i must be in [0, Len()).
func (c *Column) Str(i int) (string, bool) {
	lo := binary.LittleEndian.Uint32(c.Offsets[4*i:])
	hi := binary.LittleEndian.Uint32(c.Offsets[4*i+4:])
	if lo > hi || uint64(hi) > uint64(len(c.Data)) {
		return "", false
	}
	return string(c.Data[lo:hi]), true
}

// Len returns the number of rows of a utf8 column.
func (c *Column) Len() int { return max(0, len(c.Offsets)/4-1) }

// schema decodes a Schema table.
func (fb fbuf) schema(s int) Schema {
	if e := fb.int16Field(s, 0, 0); e != 0 {
		fail("big-endian file")
	}
	var out Schema
	if v, ok := fb.vectorField(s, 1, 4); ok {
		out.Fields = make([]Field, v.n)
		for i := range out.Fields {
			out.Fields[i] = fb.field(fb.indirect(v.at+4*i), 0)
		}
	}
	if v, ok := fb.vectorField(s, 2, 4); ok {
		out.Metadata = make([]KeyValue, v.n)
		for i := range out.Metadata {
			kv := fb.indirect(v.at + 4*i)
			out.Metadata[i] = KeyValue{fb.stringField(kv, 0), fb.stringField(kv, 1)}
		}
	}
	return out
}

// field decodes a Field table; depth counts the lists it is inside.
func (fb fbuf) field(p int, depth int) Field {
	f := Field{Name: fb.stringField(p, 0)}
	if _, ok := fb.tableField(p, 4); ok {
		fail("field " + f.Name + " is dictionary-encoded")
	}
	tt := fb.uint8Field(p, 2)
	t, ok := fb.tableField(p, 3)
	if !ok {
		fail("field " + f.Name + " has no type")
	}
	children, _ := fb.vectorField(p, 5, 4)
	switch TypeID(tt) {
	case Int:
		f.Type = Type{ID: Int, Bits: int(fb.int32Field(t, 0)), Signed: fb.uint8Field(t, 1) != 0}
		if b := f.Type.Bits; b != 8 && b != 16 && b != 32 && b != 64 {
			fail(fmt.Sprintf("field %s: int of %d bits", f.Name, b))
		}
	case Float:
		if fb.int16Field(t, 0, 0) != precisionDouble {
			fail("field " + f.Name + ": only double precision is supported")
		}
		f.Type = Float64
	case Utf8:
		f.Type = String
	case FixedSizeBinary:
		f.Type = FixedSizeBinaryOf(int(fb.int32Field(t, 0)))
		if f.Type.Width <= 0 {
			fail(fmt.Sprintf("field %s: fixed-size binary of %d bytes", f.Name, f.Type.Width))
		}
	case FixedSizeList:
		n := int(fb.int32Field(t, 0))
		if n <= 0 || n > 1<<20 || children.n != 1 || depth > 0 {
			fail(fmt.Sprintf("field %s: fixed-size list of %d with %d children", f.Name, n, children.n))
		}
		elem := fb.field(fb.indirect(children.at), depth+1)
		if elem.Type.ID == Utf8 {
			fail("field " + f.Name + ": list of utf8")
		}
		f.Type = FixedSizeListOf(n, elem.Type)
		return f
	default:
		fail(fmt.Sprintf("field %s has unsupported type %d", f.Name, tt))
	}
	if children.n != 0 {
		fail("field " + f.Name + " has children")
	}
	return f
}

// fbuf reads a flatbuffer. Every access is bounds-checked; a bad offset
// panics with formatError, which Open and Batch turn into an error.
type fbuf []byte

type formatError string

func fail(msg string) { panic(formatError(msg)) }

func catch(err *error) {
	if r := recover(); r != nil {
		fe, ok := r.(formatError)
		if !ok {
			panic(r)
		}
		*err = fmt.Errorf("%w: %s", ErrFormat, string(fe))
	}
}

func (fb fbuf) check(p, n int) {
	if p < 0 || n < 0 || p > len(fb)-n {
		fail(fmt.Sprintf("flatbuffer offset %d+%d outside %d bytes", p, n, len(fb)))
	}
}

func (fb fbuf) uint16(p int) int { fb.check(p, 2); return int(binary.LittleEndian.Uint16(fb[p:])) }
func (fb fbuf) int32(p int) int32 {
	fb.check(p, 4)
	return int32(binary.LittleEndian.Uint32(fb[p:]))
}
func (fb fbuf) int64(p int) int64 {
	fb.check(p, 8)
	return int64(binary.LittleEndian.Uint64(fb[p:]))
}

// indirect follows the uoffset at p.
func (fb fbuf) indirect(p int) int {
	o := fb.int32(p)
	if o < 0 {
		fail("negative offset")
	}
	return p + int(o)
}

func (fb fbuf) root() int { return fb.indirect(0) }

// slot returns the position of field id of the table at t, 0 if absent.
func (fb fbuf) slot(t, id int) int {
	vt := t - int(fb.int32(t))
	vsize := fb.uint16(vt)
	if vsize < 4 || vsize%2 != 0 {
		fail("bad vtable")
	}
	if 4+2*id >= vsize {
		return 0
	}
	o := fb.uint16(vt + 4 + 2*id)
	if o == 0 {
		return 0
	}
	if o >= fb.uint16(vt+2) {
		fail("field outside its table")
	}
	return t + o
}

func (fb fbuf) int16Field(t, id int, def int) int {
	p := fb.slot(t, id)
	if p == 0 {
		return def
	}
	return int(int16(fb.uint16(p)))
}

func (fb fbuf) uint8Field(t, id int) uint8 {
	p := fb.slot(t, id)
	if p == 0 {
		return 0
	}
	fb.check(p, 1)
	return fb[p]
}

func (fb fbuf) int32Field(t, id int) int32 {
	p := fb.slot(t, id)
	if p == 0 {
		return 0
	}
	return fb.int32(p)
}

func (fb fbuf) int64Field(t, id int) int64 {
	p := fb.slot(t, id)
	if p == 0 {
		return 0
	}
	return fb.int64(p)
}

func (fb fbuf) tableField(t, id int) (int, bool) {
	p := fb.slot(t, id)
	if p == 0 {
		return 0, false
	}
	return fb.indirect(p), true
}

// vec is a vector: n elements from at.
type vec struct{ at, n int }

func (fb fbuf) vectorField(t, id, elem int) (vec, bool) {
	p := fb.slot(t, id)
	if p == 0 {
		return vec{}, false
	}
	v := fb.indirect(p)
	n := int(fb.int32(v))
	if n < 0 || n > (len(fb)-v-4)/elem {
		fail(fmt.Sprintf("vector of %d elements of %d bytes outside the buffer", n, elem))
	}
	return vec{v + 4, n}, true
}

func (fb fbuf) stringField(t, id int) string {
	v, ok := fb.vectorField(t, id, 1)
	if !ok {
		return ""
	}
	return string(fb[v.at : v.at+v.n])
}
