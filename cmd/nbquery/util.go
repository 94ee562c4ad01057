package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nbquery/nbquery/index"
)

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "required flag", "invalid argument"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// jsonObject writes an ordered JSON object on one line. Float values are
// written as Python's repr writes them (null for NaN).
type jsonObject struct {
	keys []string
	vals []any
}

func (o *jsonObject) add(k string, v any) {
	if o.keys == nil {
		o.keys, o.vals = make([]string, 0, 32), make([]any, 0, 32)
	}
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

func (o *jsonObject) write(w io.Writer) error {
	_, err := io.WriteString(w, o.String()+"\n")
	return err
}

// String returns the object on one line, without a newline.
func (o *jsonObject) String() string { return string(o.appendJSON(nil)) }

// appendJSON appends the object to b. Batch answers write ~25 keys for
// each of 15,625 cells, so common types are formatted without reflection.
func (o *jsonObject) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, k := range o.keys {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendJSONString(b, k)
		b = append(b, ": "...)
		switch v := o.vals[i].(type) {
		case float64:
			b = append(b, index.FormatFloat(v)...)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case string:
			b = appendJSONString(b, v)
		case nil:
			b = append(b, "null"...)
		default:
			j, err := json.Marshal(v)
			if err != nil {
				j, _ = json.Marshal(err.Error())
			}
			b = append(b, j...)
		}
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string: plain printable ASCII
// directly, anything else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// writeText writes the object as aligned key/value lines: floats as in
// JSON (null when absent), device latencies with their unit.
func (o *jsonObject) writeText(w io.Writer) {
	vals := make([]string, len(o.vals))
	keys := make([]string, len(o.keys))
	for i, v := range o.vals {
		keys[i] = o.keys[i]
		if strings.HasPrefix(keys[i], "latency:") {
			keys[i] += " (ms)"
		}
		switch v := v.(type) {
		case float64:
			vals[i] = fmtVal(v)
		case string:
			vals[i] = v
		case nil:
			vals[i] = "null"
		case []string:
			vals[i] = strings.Join(v, ",")
			if len(v) == 0 {
				vals[i] = "none"
			}
		default:
			vals[i] = fmt.Sprint(v)
		}
	}
	writeKV(w, keys, vals)
}

// table writes aligned key/value lines.
// It writes them with one call (formatted as "%-*s  %s\n" did): a line a write cost a cold query 22
// system calls and as many wake-ups of a reader on a pipe.
func writeKV(w io.Writer, keys []string, vals []string) {
	width := 0
	for _, k := range keys {
		width = max(width, len(k))
	}
	var b []byte
	for i, k := range keys {
		b = append(b, k...)
		for range max(0, width-utf8.RuneCountInString(k)) + 2 { // as fmt's %-*s pads
			b = append(b, ' ')
		}
		b = append(b, vals[i]...)
		b = append(b, '\n')
	}
	w.Write(b)
}

func newBufWriter(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 1<<16) }

func writeJSONValue(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// openBench opens the store and one of its table benchmarks; the caller
// closes the store.
func openBench(opts *globalOptions, name string) (*index.Store, *index.Bench, error) {
	if err := index.CheckBench(name); err != nil {
		return nil, nil, err
	}
	st, err := index.Open(opts.storeDir())
	if err != nil {
		return nil, nil, err
	}
	b, err := st.Bench(name)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, b, nil
}

// openNB101 opens the store and its NB101 table; the caller closes the store.
func openNB101(opts *globalOptions) (*index.Store, *index.NB101Table, error) {
	st, err := index.Open(opts.storeDir())
	if err != nil {
		return nil, nil, err
	}
	t, err := st.NB101Table()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, t, nil
}
