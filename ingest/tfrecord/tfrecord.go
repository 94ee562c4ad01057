package tfrecord

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
)

// Sentinel errors. Callers test them with errors.Is.
var (
	ErrCRC       = errors.New("tfrecord: CRC mismatch")
	ErrTruncated = errors.New("tfrecord: truncated record")
	ErrTooLarge  = errors.New("tfrecord: record too large")
	ErrJSON      = errors.New("tfrecord: malformed JSON row")
	ErrBase64    = errors.New("tfrecord: bad base64")
	ErrProto     = errors.New("tfrecord: bad ModelMetrics protobuf")
	ErrOp        = errors.New("tfrecord: unknown operation")
	ErrShape     = errors.New("tfrecord: adjacency is not a square 0/1 matrix")
	ErrSpec      = errors.New("tfrecord: invalid cell")
	ErrHash      = errors.New("tfrecord: hash does not match the cell")
	// ErrNotOfficial marks a file named like an official NB101 file whose
	// digest differs (a truncated or edited copy); Options.Force ingests it.
	ErrNotOfficial = errors.New("tfrecord: not the official file its name claims")
	ErrEpochs      = errors.New("tfrecord: unexpected epoch budget")
)

// RecordError locates a problem in a file: the 0-based record number and
// the byte offset of the record's start (its length header).
type RecordError struct {
	File   string // may be empty
	Record int64
	Offset int64
	Field  string // e.g. "raw_metrics"; empty for framing errors
	Err    error
}

func (e *RecordError) Error() string {
	s := "tfrecord: "
	if e.File != "" {
		s += e.File + ": "
	}
	s += fmt.Sprintf("record %d at offset %d", e.Record, e.Offset)
	if e.Field != "" {
		s += ": field " + e.Field
	}
	return s + ": " + e.Err.Error()
}

func (e *RecordError) Unwrap() error { return e.Err }

// MaxRecordLen bounds a record's length header: a corrupt header must not
// make the reader allocate gigabytes. NB101 rows are under 1 KiB.
const MaxRecordLen = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MaskedCRC returns TensorFlow's masked CRC-32C of b.
func MaskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return (c>>15 | c<<17) + 0xa282ead8
}

// Reader reads the records of a TFRecord stream.
type Reader struct {
	r      *bufio.Reader
	hdr    [12]byte // a field, not a local: passed to io.ReadFull it would escape
	buf    []byte
	off    int64 // offset of the next record
	rec    int64 // number of the next record
	File   string
	cur    int64 // offset of the last record returned
	curRec int64
}

// NewReader returns a reader of r (buffered internally).
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 1<<20), curRec: -1}
}

// Record returns the number and start offset of the record last returned by
// Next.
func (r *Reader) Record() (n, offset int64) { return r.curRec, r.cur }

// Offset returns the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

func (r *Reader) errorf(err error) error {
	return &RecordError{File: r.File, Record: r.rec, Offset: r.off, Err: err}
}

// Next returns the next record's data, valid until the following call, or
// io.EOF at a clean end of stream. A stream that ends inside a record gives
// ErrTruncated; a checksum mismatch ErrCRC.
func (r *Reader) Next() ([]byte, error) {
	hdr := r.hdr[:]
	n, err := io.ReadFull(r.r, hdr)
	switch {
	case err == io.EOF:
		return nil, io.EOF
	case err == io.ErrUnexpectedEOF:
		return nil, r.errorf(fmt.Errorf("%w: %d of 12 header bytes", ErrTruncated, n))
	case err != nil:
		return nil, r.errorf(err)
	}
	length := binary.LittleEndian.Uint64(hdr[:8])
	if got, want := MaskedCRC(hdr[:8]), binary.LittleEndian.Uint32(hdr[8:]); got != want {
		if r.rec == 0 && r.off == 0 {
			// The first header of the file: most likely not a TFRecord at all,
			// and the "length" is whatever bytes the file starts with.
			return nil, r.errorf(fmt.Errorf("%w: not a TFRecord file (its first 12 bytes are no record header; "+
				"NB101 partial tables must end in .csv or .json)", ErrCRC))
		}
		return nil, r.errorf(fmt.Errorf("%w: length header (length %d): stored %#08x, computed %#08x", ErrCRC, length, want, got))
	}
	if length > MaxRecordLen {
		return nil, r.errorf(fmt.Errorf("%w: %d bytes", ErrTooLarge, length))
	}
	need := int(length) + 4
	if cap(r.buf) < need {
		r.buf = make([]byte, need)
	}
	b := r.buf[:need]
	if n, err := io.ReadFull(r.r, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, r.errorf(fmt.Errorf("%w: %d of %d data+CRC bytes", ErrTruncated, n, need))
		}
		return nil, r.errorf(err)
	}
	data := b[:length]
	if got, want := MaskedCRC(data), binary.LittleEndian.Uint32(b[length:]); got != want {
		return nil, r.errorf(fmt.Errorf("%w: data: stored %#08x, computed %#08x", ErrCRC, want, got))
	}
	r.cur, r.curRec = r.off, r.rec
	r.off += 12 + int64(need)
	r.rec++
	return data, nil
}

// Writer writes records in the TFRecord framing.
type Writer struct {
	w   io.Writer
	hdr [12]byte
}

// NewWriter returns a writer to w. Buffering is the caller's choice.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes one record.
func (w *Writer) Write(data []byte) error {
	binary.LittleEndian.PutUint64(w.hdr[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(w.hdr[8:], MaskedCRC(w.hdr[:8]))
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		return fmt.Errorf("tfrecord: write: %w", err)
	}
	if _, err := w.w.Write(data); err != nil {
		return fmt.Errorf("tfrecord: write: %w", err)
	}
	var c [4]byte
	binary.LittleEndian.PutUint32(c[:], MaskedCRC(data))
	if _, err := w.w.Write(c[:]); err != nil {
		return fmt.Errorf("tfrecord: write: %w", err)
	}
	return nil
}

// RowReader reads NB101 rows from a TFRecord stream.
type RowReader struct {
	R *Reader
	p Parser
}

// NewRowReader returns a row reader of r.
func NewRowReader(r io.Reader) *RowReader { return &RowReader{R: NewReader(r)} }

// Next parses the next record into row; io.EOF at a clean end. Errors are
// *RecordError values naming the record, its offset and the field.
func (rr *RowReader) Next(row *Row) error {
	data, err := rr.R.Next()
	if err != nil {
		return err
	}
	if err := rr.p.Parse(data, row); err != nil {
		n, off := rr.R.Record()
		re := &RecordError{File: rr.R.File, Record: n, Offset: off, Err: err}
		var fe *fieldError
		if errors.As(err, &fe) {
			re.Field, re.Err = fe.field, fe.err
		}
		return re
	}
	return nil
}

// quote renders untrusted input for an error message: Go-escaped and cut to
// 80 bytes, with the full length noted when cut (as ingest.Quote, which
// this package may not import).
func quote(s string) string {
	if len(s) <= 80 {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:80]) + fmt.Sprintf("... (%d bytes)", len(s))
}
