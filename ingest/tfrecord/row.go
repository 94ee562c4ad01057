package tfrecord

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/nbquery/nbquery/space/nb101"
	"google.golang.org/protobuf/encoding/protowire"
)

// Eval is one nasbench.EvaluationData message.
type Eval struct {
	Epoch              float64 // current_epoch
	TrainingTime       float64
	TrainAccuracy      float64
	ValidationAccuracy float64
	TestAccuracy       float64
	CheckpointPath     string
}

// Metrics is one nasbench.ModelMetrics message. Evals[1] is the halfway
// point and Evals[2] the end of training (api.py); Evals[0] is step 0.
type Metrics struct {
	Evals       []Eval
	Params      int32 // trainable_parameters
	TotalTime   float64
	hasParams   bool
	hasTotalTim bool
}

// Row is one record of the benchmark file.
type Row struct {
	Hash    nb101.Hash
	Epochs  int
	Spec    nb101.Spec // the stored (pruned) cell
	Metrics Metrics
}

// Field names of the JSON row (api.py).
const (
	FieldHash       = "module_hash"
	FieldEpochs     = "epochs"
	FieldAdjacency  = "raw_adjacency"
	FieldOperations = "raw_operations"
	FieldMetrics    = "raw_metrics"
)

// fieldError is an error tied to a field of the row; RowReader turns it into
// a *RecordError.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return "field " + e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func ferr(field string, sentinel error, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// scratch holds the buffers ParseRow reuses.
type scratch struct {
	str []byte // unescaped JSON string
	b64 []byte // base64 with whitespace removed
	pb  []byte // decoded protobuf
}

// Parser parses rows, reusing its buffers between calls. The zero value is
// ready to use; a Parser is not safe for concurrent use.
type Parser struct{ s scratch }

// ParseRow parses one record payload into row with a fresh Parser.
func ParseRow(data []byte, row *Row) error {
	var p Parser
	return p.Parse(data, row)
}

// Parse decodes the JSON row [hash, epochs, adjacency, operations,
// raw_metrics] into row.
//
// The row has a fixed shape, so it is scanned by hand rather than with
// encoding/json: reflection-based decoding into []any allocates a dozen
// values per row and runs at ~30 MB/s, which would dominate ingest of the
// 2 GB file; this scanner allocates nothing in the steady state.
func (p *Parser) Parse(data []byte, row *Row) error {
	sc := scanner{b: data}
	if !sc.consume('[') {
		return ferr("", ErrJSON, "want '[' at byte %d", sc.i)
	}
	// 0: module_hash
	s, err := sc.str(&p.s.str, FieldHash)
	if err != nil {
		return err
	}
	if len(s) != 32 {
		return ferr(FieldHash, ErrJSON, "want 32 hex digits, got %s", quote(string(s)))
	}
	if _, err := hex.Decode(row.Hash[:], s); err != nil {
		return ferr(FieldHash, ErrJSON, "%q: %v", s, err)
	}
	if !sc.consume(',') {
		return ferr(FieldHash, ErrJSON, "want ',' at byte %d", sc.i)
	}
	// 1: epochs
	row.Epochs, err = sc.int(FieldEpochs)
	if err != nil {
		return err
	}
	if !sc.consume(',') {
		return ferr(FieldEpochs, ErrJSON, "want ',' at byte %d", sc.i)
	}
	// 2: raw_adjacency. Copy out: the ops string reuses the buffer.
	s, err = sc.str(&p.s.str, FieldAdjacency)
	if err != nil {
		return err
	}
	var adjBuf [64]byte
	if len(s) > len(adjBuf) {
		return ferr(FieldAdjacency, ErrShape, "%d characters, more than an 8x8 matrix", len(s))
	}
	adj := adjBuf[:copy(adjBuf[:], s)]
	dim := int(math.Sqrt(float64(len(adj))))
	if dim*dim != len(adj) || dim < 2 {
		return ferr(FieldAdjacency, ErrShape, "%d characters is not the square of a dimension >= 2", len(adj))
	}
	for i, c := range adj {
		if c != '0' && c != '1' {
			return ferr(FieldAdjacency, ErrShape, "character %q at %d", c, i)
		}
	}
	if !sc.consume(',') {
		return ferr(FieldAdjacency, ErrJSON, "want ',' at byte %d", sc.i)
	}
	// 3: raw_operations
	s, err = sc.str(&p.s.str, FieldOperations)
	if err != nil {
		return err
	}
	var ops [8]nb101.Op
	nops := 0
	for start, i := 0, 0; i <= len(s); i++ {
		if i < len(s) && s[i] != ',' {
			continue
		}
		if nops == dim {
			return ferr(FieldOperations, ErrShape, "more than %d operations for a %dx%d matrix", dim, dim, dim)
		}
		o, ok := nb101.ParseOp(string(s[start:i])) // no allocation: the conversion is only compared
		if !ok {
			return ferr(FieldOperations, ErrOp, "%s (operation %d)", quote(string(s[start:i])), nops)
		}
		ops[nops] = o
		nops++
		start = i + 1
	}
	if nops != dim {
		return ferr(FieldOperations, ErrShape, "%d operations for a %dx%d matrix", nops, dim, dim)
	}
	row.Spec, err = nb101.FromParts(adj, ops[:nops])
	if err != nil {
		return &fieldError{field: FieldAdjacency, err: fmt.Errorf("%w: %w", ErrSpec, err)}
	}
	if !sc.consume(',') {
		return ferr(FieldOperations, ErrJSON, "want ',' at byte %d", sc.i)
	}
	// 4: raw_metrics
	s, err = sc.str(&p.s.str, FieldMetrics)
	if err != nil {
		return err
	}
	// Python's base64.b64decode ignores the newlines base64.encodebytes
	// inserts; Go's decoder does not, so strip whitespace first.
	clean := p.s.b64[:0]
	for _, c := range s {
		if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
			clean = append(clean, c)
		}
	}
	p.s.b64 = clean
	need := base64.StdEncoding.DecodedLen(len(clean))
	if cap(p.s.pb) < need {
		p.s.pb = make([]byte, need)
	}
	n, err := base64.StdEncoding.Decode(p.s.pb[:need], clean)
	if err != nil {
		return ferr(FieldMetrics, ErrBase64, "%v", err)
	}
	if err := DecodeMetrics(p.s.pb[:n], &row.Metrics); err != nil {
		return &fieldError{field: FieldMetrics, err: err}
	}
	if !sc.consume(']') {
		return ferr(FieldMetrics, ErrJSON, "want ']' at byte %d", sc.i)
	}
	sc.ws()
	if sc.i != len(sc.b) {
		return ferr("", ErrJSON, "trailing data at byte %d", sc.i)
	}
	return nil
}

// scanner walks a JSON row.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// int reads a non-negative JSON integer.
func (s *scanner) int(field string) (int, error) {
	s.ws()
	start := s.i
	v := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		v = v*10 + int(s.b[s.i]-'0')
		s.i++
		if v > 1<<30 {
			return 0, ferr(field, ErrJSON, "integer too large at byte %d", start)
		}
	}
	if s.i == start {
		return 0, ferr(field, ErrJSON, "want an integer at byte %d", start)
	}
	return v, nil
}

// str reads a JSON string. Without escapes it returns a slice of the input;
// with escapes it unescapes into *buf.
func (s *scanner) str(buf *[]byte, field string) ([]byte, error) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, ferr(field, ErrJSON, "want a string at byte %d", s.i)
	}
	s.i++
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			out := s.b[start:s.i]
			s.i++
			return out, nil
		case c == '\\':
			return s.strEscaped(buf, start, field)
		case c < 0x20:
			return nil, ferr(field, ErrJSON, "control character in string at byte %d", s.i)
		}
	}
	return nil, ferr(field, ErrJSON, "unterminated string")
}

func (s *scanner) strEscaped(buf *[]byte, start int, field string) ([]byte, error) {
	out := append((*buf)[:0], s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			*buf = out
			return out, nil
		case c < 0x20:
			return nil, ferr(field, ErrJSON, "control character in string at byte %d", s.i)
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			break
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if s.i+4 > len(s.b) {
				return nil, ferr(field, ErrJSON, "short \\u escape")
			}
			v, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 16)
			if err != nil {
				return nil, ferr(field, ErrJSON, "bad \\u escape at byte %d", s.i-2)
			}
			out = utf8.AppendRune(out, rune(v))
			s.i += 4
		default:
			return nil, ferr(field, ErrJSON, "bad escape \\%c at byte %d", e, s.i-2)
		}
	}
	return nil, ferr(field, ErrJSON, "unterminated string")
}

// DecodeMetrics decodes a nasbench.ModelMetrics message into m, reusing
// m.Evals' capacity. Unknown fields are skipped, as protobuf requires.
func DecodeMetrics(b []byte, m *Metrics) error {
	evals := m.Evals[:0]
	*m = Metrics{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: ModelMetrics tag: %v", ErrProto, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("%w: evaluation_data[%d]: %v", ErrProto, len(evals), protowire.ParseError(n))
			}
			b = b[n:]
			evals = append(evals, Eval{})
			if err := decodeEval(v, &evals[len(evals)-1]); err != nil {
				return fmt.Errorf("%w (evaluation_data[%d])", err, len(evals)-1)
			}
			continue
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("%w: trainable_parameters: %v", ErrProto, protowire.ParseError(n))
			}
			m.Params, m.hasParams = int32(v), true
			b = b[n:]
			continue
		case num == 3 && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return fmt.Errorf("%w: total_time: %v", ErrProto, protowire.ParseError(n))
			}
			m.TotalTime, m.hasTotalTim = math.Float64frombits(v), true
			b = b[n:]
			continue
		case num <= 3:
			return fmt.Errorf("%w: ModelMetrics field %d has wire type %d", ErrProto, num, typ)
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("%w: ModelMetrics field %d: %v", ErrProto, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	m.Evals = evals
	return nil
}

func decodeEval(b []byte, e *Eval) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: EvaluationData tag: %v", ErrProto, protowire.ParseError(n))
		}
		b = b[n:]
		if num >= 1 && num <= 5 {
			if typ != protowire.Fixed64Type {
				return fmt.Errorf("%w: EvaluationData field %d has wire type %d", ErrProto, num, typ)
			}
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return fmt.Errorf("%w: EvaluationData field %d: %v", ErrProto, num, protowire.ParseError(n))
			}
			b = b[n:]
			f := math.Float64frombits(v)
			switch num {
			case 1:
				e.Epoch = f
			case 2:
				e.TrainingTime = f
			case 3:
				e.TrainAccuracy = f
			case 4:
				e.ValidationAccuracy = f
			case 5:
				e.TestAccuracy = f
			}
			continue
		}
		if num == 6 {
			if typ != protowire.BytesType {
				return fmt.Errorf("%w: checkpoint_path has wire type %d", ErrProto, typ)
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("%w: checkpoint_path: %v", ErrProto, protowire.ParseError(n))
			}
			if len(v) > 0 {
				e.CheckpointPath = string(v)
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("%w: EvaluationData field %d: %v", ErrProto, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}

// AppendMetrics appends the protobuf encoding of m, fields in the order the
// benchmark files use (evaluation_data, trainable_parameters, total_time).
func AppendMetrics(dst []byte, m *Metrics) []byte {
	for i := range m.Evals {
		e := &m.Evals[i]
		size := 5 * 9
		if e.CheckpointPath != "" {
			size += protowire.SizeTag(6) + protowire.SizeBytes(len(e.CheckpointPath))
		}
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(size))
		for num, v := range [5]float64{e.Epoch, e.TrainingTime, e.TrainAccuracy, e.ValidationAccuracy, e.TestAccuracy} {
			dst = protowire.AppendTag(dst, protowire.Number(num+1), protowire.Fixed64Type)
			dst = protowire.AppendFixed64(dst, math.Float64bits(v))
		}
		if e.CheckpointPath != "" {
			dst = protowire.AppendTag(dst, 6, protowire.BytesType)
			dst = protowire.AppendString(dst, e.CheckpointPath)
		}
	}
	dst = protowire.AppendTag(dst, 2, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(int64(m.Params)))
	dst = protowire.AppendTag(dst, 3, protowire.Fixed64Type)
	return protowire.AppendFixed64(dst, math.Float64bits(m.TotalTime))
}

// AppendRow appends the JSON payload of row as the benchmark files hold it:
// Python json.dumps of [hash, epochs, adjacency, operations, raw_metrics],
// raw_metrics in base64 with a newline every 76 characters and at the end
// (base64.encodebytes), escaped as \n.
func AppendRow(dst []byte, row *Row) []byte {
	dst = append(dst, `["`...)
	dst = hex.AppendEncode(dst, row.Hash[:])
	dst = append(dst, `", `...)
	dst = strconv.AppendInt(dst, int64(row.Epochs), 10)
	dst = append(dst, `, "`...)
	dst = append(dst, row.Spec.AdjString()...)
	dst = append(dst, `", "`...)
	for i := 0; i < int(row.Spec.N); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, row.Spec.Ops[i].String()...)
	}
	dst = append(dst, `", "`...)
	var pb [512]byte
	msg := AppendMetrics(pb[:0], &row.Metrics)
	enc := base64.StdEncoding.AppendEncode(pb[len(msg):len(msg)], msg)
	for len(enc) > 0 {
		k := min(76, len(enc))
		dst = append(dst, enc[:k]...)
		dst = append(dst, `\n`...)
		enc = enc[k:]
	}
	return append(dst, `"]`...)
}
