package index

import (
	"encoding/json"
	"strconv"
)

// decodeManifest decodes a MANIFEST. Every process of the query path
// decodes one (14 kB for the NB201 store, mostly the columns' strings), and
// encoding/json took 0.33-0.4 ms of a cold query for it (its validity scan,
// reflection, then colList's second pass over each string): a third of the
// query's own work. decodeFast reads the shape writeManifest produces in
// one pass; on anything else (an escape or non-ASCII byte in a string, a
// null, a float, a key it does not know or has seen, a syntax error) it
// gives up and encoding/json decodes the file, so the result, or the
// error, is always encoding/json's (FuzzManifestDecode).
func decodeManifest(b []byte, m *manifest) error {
	if fm, ok := decodeFast(b); ok {
		*m = fm
		return nil
	}
	*m = manifest{}
	return json.Unmarshal(b, m)
}

func decodeFast(b []byte) (manifest, bool) {
	d := &mdec{b: b}
	var m manifest
	var seen uint
	ok := d.object(func(k string) bool {
		switch {
		case k == "version" && d.once(&seen, 1):
			return d.int(&m.Version)
		case k == "generation" && d.once(&seen, 2):
			return d.int(&m.Generation)
		case k == "benches" && d.once(&seen, 4):
			m.Benches = map[string]*benchManifest{}
			return objectInto(d, m.Benches, func(bm **benchManifest) bool {
				*bm = &benchManifest{}
				return d.bench(*bm)
			})
		case k == "files" && d.once(&seen, 8):
			m.Files = map[string]fileSum{}
			return objectInto(d, m.Files, func(fs *fileSum) bool {
				var seen uint
				return d.object(func(k string) bool {
					switch {
					case k == "size" && d.once(&seen, 1):
						return d.int64(&fs.Size)
					case k == "sha256" && d.once(&seen, 2):
						return d.str(&fs.SHA256)
					}
					return false
				})
			})
		}
		return false
	})
	d.ws()
	return m, ok && d.i == len(d.b)
}

func (d *mdec) bench(bm *benchManifest) bool {
	var seen uint
	return d.object(func(k string) bool {
		switch {
		case k == "archs" && d.once(&seen, 1):
			return d.str(&bm.Archs)
		case k == "num_archs" && d.once(&seen, 2):
			return d.int(&bm.NumArchs)
		case k == "segments" && d.once(&seen, 4):
			bm.Segments = []segManifest{}
			return d.array(func() bool {
				var sg segManifest
				ok := d.segment(&sg)
				bm.Segments = append(bm.Segments, sg)
				return ok
			})
		case k == "extra" && d.once(&seen, 8):
			bm.Extra = map[string]string{}
			return objectInto(d, bm.Extra, d.str)
		}
		return false
	})
}

func (d *mdec) segment(sg *segManifest) bool {
	var seen uint
	return d.object(func(k string) bool {
		var s string
		switch {
		case k == "file" && d.once(&seen, 1):
			return d.str(&sg.File)
		case k == "source" && d.once(&seen, 2):
			var seen uint
			return d.object(func(k string) bool {
				switch {
				case k == "Path" && d.once(&seen, 1):
					return d.str(&sg.Source.Path)
				case k == "Kind" && d.once(&seen, 2):
					return d.str(&sg.Source.Kind)
				case k == "SHA256" && d.once(&seen, 4):
					return d.str(&sg.Source.SHA256)
				case k == "Size" && d.once(&seen, 8):
					return d.int64(&sg.Source.Size)
				}
				return false
			})
		case k == "rows" && d.once(&seen, 4):
			return d.int(&sg.Rows)
		case k == "batch_rows" && d.once(&seen, 8):
			return d.int(&sg.BatchRows)
		case k == "dense" && d.once(&seen, 16):
			return d.bool(&sg.Dense)
		case k == "row_list" && d.once(&seen, 32):
			if !d.str(&s) {
				return false
			}
			e, err := parseEpochs(s)
			sg.RowList = e
			return err == nil
		case k == "columns" && d.once(&seen, 64):
			if !d.str(&s) {
				return false
			}
			c, err := parseColList(s)
			sg.Columns = c
			return err == nil
		}
		return false
	})
}

// objectInto reads an object with distinct keys into m, each value with
// value.
func objectInto[V any](d *mdec, m map[string]V, value func(*V) bool) bool {
	return d.object(func(k string) bool {
		if _, dup := m[k]; dup {
			return false
		}
		var v V
		ok := value(&v)
		m[k] = v
		return ok
	})
}

// mdec is a cursor over the manifest's bytes; its methods report false
// where decodeFast gives up.
type mdec struct {
	b []byte
	i int
}

func (d *mdec) once(seen *uint, bit uint) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

func (d *mdec) ws() {
	for d.i < len(d.b) && (d.b[d.i] == ' ' || d.b[d.i] == '\t' || d.b[d.i] == '\n' || d.b[d.i] == '\r') {
		d.i++
	}
}

func (d *mdec) eat(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object reads an object, calling value for each key with the cursor at
// the key's value.
func (d *mdec) object(value func(key string) bool) bool {
	if !d.eat('{') {
		return false
	}
	if d.eat('}') {
		return true
	}
	for {
		var k string
		if !d.str(&k) || !d.eat(':') || !value(k) {
			return false
		}
		if d.eat('}') {
			return true
		}
		if !d.eat(',') {
			return false
		}
	}
}

func (d *mdec) array(elem func() bool) bool {
	if !d.eat('[') {
		return false
	}
	if d.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.eat(']') {
			return true
		}
		if !d.eat(',') {
			return false
		}
	}
}

// str reads a string of printable ASCII without escapes.
func (d *mdec) str(s *string) bool {
	if !d.eat('"') {
		return false
	}
	start := d.i
	for ; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			*s = string(d.b[start:d.i])
			d.i++
			return true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return false
		}
	}
	return false
}

func (d *mdec) int64(v *int64) bool {
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || n > 18 || (n > 1 && d.b[digits] == '0') {
		return false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return false
	}
	x, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	*v = x
	return err == nil
}

func (d *mdec) int(v *int) bool {
	var x int64
	ok := d.int64(&x)
	*v = int(x)
	return ok
}

func (d *mdec) bool(v *bool) bool {
	d.ws()
	switch {
	case len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "true":
		*v = true
		d.i += 4
	case len(d.b)-d.i >= 5 && string(d.b[d.i:d.i+5]) == "false":
		*v = false
		d.i += 5
	default:
		return false
	}
	return true
}
