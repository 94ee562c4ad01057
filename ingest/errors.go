package ingest

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; a *ParseError wraps one of them (or an I/O error).
var (
	// ErrFormat marks input that is not in the expected container or pickle format.
	ErrFormat = errors.New("ingest: malformed input")
	// ErrSchema marks a well-formed object with missing or mistyped fields.
	ErrSchema = errors.New("ingest: unexpected record structure")
	// ErrArch marks an architecture string that does not parse or disagrees
	// with the benchmark's architecture list.
	ErrArch = errors.New("ingest: bad architecture")
	// ErrMapping marks a CSV column mapping that names a missing column or an
	// unknown dataset, set or metric.
	ErrMapping = errors.New("ingest: bad column mapping")
	// ErrLayout marks a record whose columns or epochs do not fit the column
	// layout fixed by the first frame of a streamed source.
	ErrLayout = errors.New("ingest: record does not fit the column layout")
	// ErrUnknownSource marks a path whose kind could not be recognised.
	ErrUnknownSource = errors.New("ingest: unrecognised source")
)

// ParseError reports a problem in an input file. Line is the 1-based CSV line
// or the arch index of a record (then Offset is -1); Offset is a byte offset
// in the (decompressed) stream when known, else -1.
type ParseError struct {
	File   string
	Line   int
	Offset int64
	Field  string
	Err    error
}

func (e *ParseError) Error() string {
	s := "ingest: " + e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" (offset %d)", e.Offset)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + strings.TrimPrefix(e.Err.Error(), "ingest: ")
}

func (e *ParseError) Unwrap() error { return e.Err }

// offsetError carries the byte offset where a decoder failed.
type offsetError struct {
	off int64
	err error
}

func (e *offsetError) Error() string { return e.err.Error() }
func (e *offsetError) Unwrap() error { return e.err }

func atOffset(off int64, err error) error { return &offsetError{off, err} }

// perr builds a ParseError; the offset comes from an offsetError in err.
func perr(file, field string, err error) *ParseError {
	pe := &ParseError{File: file, Offset: -1, Field: field, Err: err}
	var oe *offsetError
	if errors.As(err, &oe) {
		pe.Offset = oe.off
	}
	return pe
}
