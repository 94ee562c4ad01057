package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// The output model (README "Output"):
//
//   - text by default: aligned key/value lines for one result, one line per
//     row for many; an absent value prints as null, as in JSON;
//   - --json: one JSON document per command: an object for one result, an
//     array of objects where a command has many rows (top, info, predictors);
//   - --jsonl: JSON Lines, one object per row, written as rows are produced;
//   - notes (rows left out, values computed rather than read) go to stderr
//     as "nbquery: note: ..." whatever the format, so stdout stays parseable;
//   - progress bars are drawn only when stderr is a terminal and -q is unset.

// rowWriter writes the rows of a many-row command as a JSON array (--json)
// or JSON Lines (--jsonl); in text mode the caller formats rows itself.
type rowWriter struct {
	w     io.Writer
	jsonl bool
	n     int
	buf   []byte
}

func newRowWriter(opts *globalOptions, w io.Writer) *rowWriter {
	return &rowWriter{w: w, jsonl: opts.jsonl}
}

// object writes one row.
func (r *rowWriter) object(o *jsonObject) error {
	b := r.buf[:0]
	switch {
	case r.jsonl:
	case r.n == 0:
		b = append(b, '[')
	default:
		b = append(b, ",\n"...)
	}
	b = o.appendJSON(b)
	if r.jsonl {
		b = append(b, '\n')
	}
	r.n++
	r.buf = b
	_, err := r.w.Write(b)
	return err
}

// close ends the array (an empty one if there were no rows).
func (r *rowWriter) close() error {
	if r.jsonl {
		return nil
	}
	s := "]\n"
	if r.n == 0 {
		s = "[]\n"
	}
	_, err := io.WriteString(r.w, s)
	return err
}

// structured reports whether --json or --jsonl was given.
func (o *globalOptions) structured() bool { return o.json || o.jsonl }

// note prints an informational line on stderr.
func (o *globalOptions) note(format string, a ...any) {
	fmt.Fprintf(o.stderr, "nbquery: note: %s\n", fmt.Sprintf(format, a...))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// coverageNote says how many rows a ranking or summary left out and how
// many values were computed; "" when there is nothing to say.
func coverageNote(what string, count, missing, computed int) string {
	var parts []string
	if missing > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d architectures have no %s and were left out (ranked: %d)", missing, count+missing, what, count))
	}
	if computed > 0 {
		parts = append(parts, fmt.Sprintf("%d %s values were computed from the architecture (no table carries them)", computed, what))
	}
	return strings.Join(parts, "; ")
}
