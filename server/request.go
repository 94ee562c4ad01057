package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/nbquery/nbquery/index"
)

// str is a string field that also accepts a JSON number (hp: 200, seed: 777).
type str string

// UnmarshalJSON accepts a string or a number.
func (s *str) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var x string
		if err := json.Unmarshal(b, &x); err != nil {
			return err
		}
		*s = str(x)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*s = str(n.String())
	return nil
}

// decode reads the request's fields into v: the JSON body of a POST (at
// most MaxBodyBytes, unknown fields rejected), or the URL query of a GET.
func (c *call) decode(v any) error {
	if c.r.Method == http.MethodGet {
		return fromQuery(c.r.URL.Query(), v)
	}
	// The body is read as JSON whatever its Content-Type (curl -d sends a
	// form type).
	body := http.MaxBytesReader(c.w, c.r.Body, c.s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return usage("empty request body: send a JSON object")
		}
		if e := classify(err); e.Kind != KindInternal {
			return e
		}
		return usage("bad JSON body: " + err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			if e := classify(err); e.Kind != KindInternal {
				return e
			}
		}
		return usage("bad JSON body: data after the object")
	}
	return nil
}

// fromQuery fills v from URL parameters named as v's JSON fields: strings
// as they are, other values as JSON, lists also as "1,2,3".
func fromQuery(q url.Values, v any) error {
	t := reflect.TypeOf(v).Elem()
	kinds := map[string]reflect.Kind{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		kinds[name] = ft.Kind()
	}
	obj := map[string]json.RawMessage{}
	for k, vals := range q {
		kind, ok := kinds[k]
		if !ok {
			return usage(fmt.Sprintf("unknown parameter %q", k))
		}
		if len(vals) != 1 {
			return usage(fmt.Sprintf("parameter %q given %d times", k, len(vals)))
		}
		x := vals[0]
		switch {
		case kind == reflect.String:
			b, _ := json.Marshal(x)
			obj[k] = b
		case kind == reflect.Slice && !strings.HasPrefix(x, "["):
			obj[k] = json.RawMessage("[" + x + "]")
		default:
			obj[k] = json.RawMessage(x)
		}
		if !json.Valid(obj[k]) {
			return usage(fmt.Sprintf("parameter %s=%q: want a number, true/false or a JSON value", k, x))
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return usage("bad parameters: " + err.Error())
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return usage("bad parameters: " + err.Error())
	}
	return nil
}

// num is a float64 written as Python's repr writes it (null for NaN).
type num float64

// MarshalJSON writes the shortest round-trip digits, or null.
func (n num) MarshalJSON() ([]byte, error) { return []byte(index.FormatFloat(float64(n))), nil }

// nums is a float column, written in one pass (the reflection of a
// Marshaler per element costs more than the values).
type nums []float64

// MarshalJSON writes the array with num's formatting.
func (v nums) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(v)*18)
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNum(b, x)
	}
	return append(b, ']'), nil
}

// appendNum appends index.FormatFloat(x) without allocating in the usual
// range, where Python's repr is the shortest fixed-point form.
func appendNum(b []byte, x float64) []byte {
	a := math.Abs(x)
	if x != x || a >= 1e16 || (a < 1e-4 && a != 0) {
		return append(b, index.FormatFloat(x)...)
	}
	n := len(b)
	b = strconv.AppendFloat(b, x, 'f', -1, 64)
	if !bytes.ContainsRune(b[n:], '.') {
		b = append(b, '.', '0')
	}
	return b
}

// object is a JSON object that keeps its key order.
type object []field

type field struct {
	k string
	v any
}

func (o *object) add(k string, v any) { *o = append(*o, field{k, v}) }

// MarshalJSON writes the fields in order.
func (o object) MarshalJSON() ([]byte, error) {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			sb.WriteByte(',')
		}
		kb, _ := json.Marshal(f.k)
		sb.Write(kb)
		sb.WriteByte(':')
		if x, ok := f.v.(float64); ok {
			f.v = num(x)
		}
		var b []byte
		var err error
		if m, ok := f.v.(json.Marshaler); ok {
			b, err = m.MarshalJSON() // this package's types write valid JSON; skip the re-scan
		} else {
			b, err = json.Marshal(f.v)
		}
		if err != nil {
			return nil, err
		}
		sb.Write(b)
	}
	sb.WriteByte('}')
	return []byte(sb.String()), nil
}

// json writes v as the 200 answer.
func (c *call) json(v any) error {
	var b []byte
	var err error
	if o, ok := v.(object); ok {
		b, err = o.MarshalJSON()
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("server: encode answer: %w", err)
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(http.StatusOK)
	_, err = c.w.Write(append(b, '\n'))
	if err != nil {
		return nil // the client went away; nothing more to tell it
	}
	return nil
}
