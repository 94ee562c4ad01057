package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

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

func (o *jsonObject) add(k string, v any) { o.keys = append(o.keys, k); o.vals = append(o.vals, v) }

func (o *jsonObject) write(w io.Writer) error {
	_, err := io.WriteString(w, o.String()+"\n")
	return err
}

// String returns the object on one line, without a newline.
func (o *jsonObject) String() string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			sb.WriteString(", ")
		}
		kb, _ := json.Marshal(k)
		sb.Write(kb)
		sb.WriteString(": ")
		switch v := o.vals[i].(type) {
		case float64:
			sb.WriteString(index.FormatFloat(v))
		default:
			b, err := json.Marshal(v)
			if err != nil {
				b, _ = json.Marshal(err.Error())
			}
			sb.Write(b)
		}
	}
	sb.WriteString("}")
	return sb.String()
}

// table writes aligned key/value lines.
func writeKV(w io.Writer, keys []string, vals []string) {
	width := 0
	for _, k := range keys {
		width = max(width, len(k))
	}
	for i, k := range keys {
		fmt.Fprintf(w, "%-*s  %s\n", width, k, vals[i])
	}
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
