package arrowfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	flatbuffers "github.com/google/flatbuffers/go"
)

// Writer writes an Arrow IPC file: NewWriter writes the magic and the
// schema, Write one record batch a call, Close the footer.
type Writer struct {
	w       io.Writer
	schema  Schema
	pos     int64
	batches []block
	err     error
}

// WriteColumn is one column of a record batch to write: the bytes of its
// values (of a fixed-size list, its elements'), and for utf8 the rows+1
// int32 offsets. A column too large to hold in memory gives Len and Stream
// instead of Data: Stream must write exactly Len bytes.
type WriteColumn struct {
	Data    []byte
	Offsets []byte
	Len     int64
	Stream  func(io.Writer) error
}

// NewWriter writes the file header and the schema to w.
func NewWriter(w io.Writer, s Schema) (*Writer, error) {
	for _, f := range s.Fields {
		if err := checkType(f.Type, 0); err != nil {
			return nil, fmt.Errorf("arrowfile: field %s: %w", f.Name, err)
		}
	}
	wr := &Writer{w: w, schema: s}
	wr.write([]byte(magic + "\x00\x00"))
	b := flatbuffers.NewBuilder(256)
	wr.writeMessage(b, headerSchema, buildSchema(b, s), 0)
	return wr, wr.err
}

func checkType(t Type, depth int) error {
	switch t.ID {
	case Int:
		if t.Bits != 8 && t.Bits != 16 && t.Bits != 32 && t.Bits != 64 {
			return fmt.Errorf("int of %d bits", t.Bits)
		}
	case Float:
		if t.Bits != 64 {
			return fmt.Errorf("float of %d bits", t.Bits)
		}
	case Utf8:
		if depth > 0 {
			return errors.New("list of utf8")
		}
	case FixedSizeBinary:
		if t.Width <= 0 {
			return fmt.Errorf("fixed-size binary of %d bytes", t.Width)
		}
	case FixedSizeList:
		if depth > 0 || t.Elem == nil || t.Width <= 0 {
			return errors.New("fixed-size lists hold one fixed-width type")
		}
		return checkType(*t.Elem, 1)
	default:
		return fmt.Errorf("unsupported type %d", t.ID)
	}
	return nil
}

func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	n, err := w.w.Write(p)
	w.pos += int64(n)
	w.err = err
}

var zeros [8]byte

func (w *Writer) pad() {
	if r := w.pos % 8; r != 0 {
		w.write(zeros[:8-r])
	}
}

// writeMessage writes an encapsulated message (continuation marker,
// length, flatbuffer padded to 8 bytes) and returns its length.
func (w *Writer) writeMessage(b *flatbuffers.Builder, kind byte, header flatbuffers.UOffsetT, bodyLen int64) int64 {
	b.StartObject(5)
	b.PrependInt64Slot(3, bodyLen, 0)
	b.PrependUOffsetTSlot(2, header, 0)
	b.PrependInt16Slot(0, metadataV5, 0)
	b.PrependByteSlot(1, kind, 0)
	b.Finish(b.EndObject())
	fb := b.FinishedBytes()
	padded := (len(fb) + 7) &^ 7
	var pre [8]byte
	binary.LittleEndian.PutUint32(pre[:], 0xFFFFFFFF)
	binary.LittleEndian.PutUint32(pre[4:], uint32(padded))
	w.write(pre[:])
	w.write(fb)
	w.write(zeros[:padded-len(fb)])
	return int64(8 + padded)
}

// Write writes one record batch of rows rows.
func (w *Writer) Write(rows int, cols []WriteColumn) error {
	if w.err != nil {
		return w.err
	}
	if len(cols) != len(w.schema.Fields) {
		return fmt.Errorf("arrowfile: %d columns for %d fields", len(cols), len(w.schema.Fields))
	}
	type node struct{ n int64 }
	type buf struct {
		off, n int64
		c      *WriteColumn
		part   int // 0 validity, 1 offsets, 2 data
	}
	var nodes []node
	var bufs []buf
	off := int64(0)
	add := func(n int64, c *WriteColumn, part int) {
		bufs = append(bufs, buf{off, n, c, part})
		off += (n + 7) &^ 7
	}
	for i := range cols {
		c, t := &cols[i], w.schema.Fields[i].Type
		n := int64(len(c.Data))
		if c.Stream != nil {
			n = c.Len
		}
		nodes = append(nodes, node{int64(rows)})
		add(0, c, 0)
		switch t.ID {
		case Utf8:
			if len(c.Offsets) != 4*(rows+1) {
				return fmt.Errorf("arrowfile: column %s: %d offset bytes for %d rows", w.schema.Fields[i].Name, len(c.Offsets), rows)
			}
			add(int64(len(c.Offsets)), c, 1)
			add(n, c, 2)
			continue
		case FixedSizeList:
			nodes = append(nodes, node{int64(rows) * int64(t.Width)})
			add(0, c, 0)
		}
		if want := int64(rows) * int64(t.valueBytes()); n != want {
			return fmt.Errorf("arrowfile: column %s: %d bytes for %d rows of %s", w.schema.Fields[i].Name, n, rows, t)
		}
		add(n, c, 2)
	}
	b := flatbuffers.NewBuilder(256 + 32*len(bufs))
	b.StartVector(16, len(bufs), 8)
	for i := len(bufs) - 1; i >= 0; i-- {
		b.Prep(8, 16)
		b.PrependInt64(bufs[i].n)
		b.PrependInt64(bufs[i].off)
	}
	bv := b.EndVector(len(bufs))
	b.StartVector(16, len(nodes), 8)
	for i := len(nodes) - 1; i >= 0; i-- {
		b.Prep(8, 16)
		b.PrependInt64(0) // null count
		b.PrependInt64(nodes[i].n)
	}
	nv := b.EndVector(len(nodes))
	b.StartObject(5)
	b.PrependInt64Slot(0, int64(rows), 0)
	b.PrependUOffsetTSlot(1, nv, 0)
	b.PrependUOffsetTSlot(2, bv, 0)
	rb := b.EndObject()
	start := w.pos
	metaLen := w.writeMessage(b, headerRecordBatch, rb, off)
	for _, x := range bufs {
		switch {
		case x.n == 0:
		case x.part == 1:
			w.write(x.c.Offsets)
		case x.c.Stream != nil:
			if w.err == nil {
				before := w.pos
				cw := &countWriter{w: w.w}
				w.err = x.c.Stream(cw)
				w.pos += cw.n
				if w.err == nil && w.pos-before != x.n {
					w.err = fmt.Errorf("arrowfile: a column stream wrote %d bytes, not %d", w.pos-before, x.n)
				}
			}
		default:
			w.write(x.c.Data)
		}
		w.pad()
	}
	if w.err != nil {
		return fmt.Errorf("arrowfile: %w", w.err)
	}
	w.batches = append(w.batches, block{start, metaLen, off})
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Close writes the end-of-stream marker and the footer. It does not close
// the underlying writer.
func (w *Writer) Close() error {
	var eos [8]byte
	binary.LittleEndian.PutUint32(eos[:], 0xFFFFFFFF)
	w.write(eos[:])
	b := flatbuffers.NewBuilder(256)
	s := buildSchema(b, w.schema)
	b.StartVector(24, len(w.batches), 8)
	for i := len(w.batches) - 1; i >= 0; i-- {
		bl := w.batches[i]
		b.Prep(8, 24)
		b.PrependInt64(bl.bodyLen)
		b.Pad(4)
		b.PrependInt32(int32(bl.metaLen))
		b.PrependInt64(bl.offset)
	}
	bv := b.EndVector(len(w.batches))
	b.StartObject(5)
	b.PrependUOffsetTSlot(3, bv, 0)
	b.PrependUOffsetTSlot(1, s, 0)
	b.PrependInt16Slot(0, metadataV5, 0)
	b.Finish(b.EndObject())
	fb := b.FinishedBytes()
	w.write(fb)
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], uint32(len(fb)))
	w.write(tail[:])
	w.write([]byte(magic))
	if w.err != nil {
		return fmt.Errorf("arrowfile: %w", w.err)
	}
	return nil
}

func buildSchema(b *flatbuffers.Builder, s Schema) flatbuffers.UOffsetT {
	fields := make([]flatbuffers.UOffsetT, len(s.Fields))
	for i, f := range s.Fields {
		fields[i] = buildField(b, f.Name, f.Type, false)
	}
	fv := vector(b, fields)
	var mv flatbuffers.UOffsetT
	if len(s.Metadata) > 0 {
		kvs := make([]flatbuffers.UOffsetT, len(s.Metadata))
		for i, kv := range s.Metadata {
			k, v := b.CreateString(kv.Key), b.CreateString(kv.Value)
			b.StartObject(2)
			b.PrependUOffsetTSlot(0, k, 0)
			b.PrependUOffsetTSlot(1, v, 0)
			kvs[i] = b.EndObject()
		}
		mv = vector(b, kvs)
	}
	b.StartObject(4)
	b.PrependUOffsetTSlot(1, fv, 0)
	if mv != 0 {
		b.PrependUOffsetTSlot(2, mv, 0)
	}
	return b.EndObject()
}

func vector(b *flatbuffers.Builder, offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	return b.EndVector(len(offs))
}

// buildField writes a Field table: as arrow-go writes them, top-level
// fields are not nullable and a list's element is "item", nullable.
func buildField(b *flatbuffers.Builder, name string, t Type, nullable bool) flatbuffers.UOffsetT {
	var children flatbuffers.UOffsetT
	if t.ID == FixedSizeList {
		children = vector(b, []flatbuffers.UOffsetT{buildField(b, "item", *t.Elem, true)})
	}
	n := b.CreateString(name)
	var tt flatbuffers.UOffsetT
	switch t.ID {
	case Int:
		b.StartObject(2)
		b.PrependInt32Slot(0, int32(t.Bits), 0)
		b.PrependBoolSlot(1, t.Signed, false)
	case Float:
		b.StartObject(1)
		b.PrependInt16Slot(0, precisionDouble, 0)
	case Utf8:
		b.StartObject(0)
	case FixedSizeBinary, FixedSizeList:
		b.StartObject(1)
		b.PrependInt32Slot(0, int32(t.Width), 0)
	}
	tt = b.EndObject()
	if children == 0 {
		children = vector(b, nil)
	}
	b.StartObject(7)
	b.PrependUOffsetTSlot(0, n, 0)
	b.PrependUOffsetTSlot(3, tt, 0)
	b.PrependUOffsetTSlot(5, children, 0)
	b.PrependBoolSlot(1, nullable, false)
	b.PrependByteSlot(2, byte(t.ID), 0)
	return b.EndObject()
}
