package index

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nbquery/nbquery/internal/suggest"
)

// ErrInvalid marks a request outside the documented values: an unknown
// dataset, split, metric or benchmark, a malformed architecture, an epoch
// outside the schedule. It is the caller's mistake, not a gap in the data:
// the CLI exits 2 for it, an HTTP front end answers 400. ErrNotFound and
// ErrUnavailable (exit 3, 404) are for well-formed requests the store or
// the benchmark cannot answer.
var ErrInvalid = errors.New("index: invalid request")

// InvalidValue reports a value outside a documented set. Its message names
// the value, a did-you-mean and every valid value, without a package
// prefix; it matches ErrInvalid under errors.Is.
type InvalidValue struct {
	Name  string   // what the value is: "dataset", "split", "metric"
	Value string   // what was given
	Valid []string // the accepted values, in documentation order
	Note  string   // optional detail (why it is invalid)
}

func (e *InvalidValue) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown %s %q", e.Name, e.Value)
	if e.Note != "" {
		b.WriteString(": ")
		b.WriteString(e.Note)
	}
	b.WriteString(suggest.Phrase(e.Value, e.Valid))
	if len(e.Valid) > 0 {
		b.WriteString("; valid: ")
		b.WriteString(strings.Join(e.Valid, ", "))
	}
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *InvalidValue) Is(target error) bool { return target == ErrInvalid }

// Invalidf returns an error matching ErrInvalid whose message is the
// formatted text alone (no package prefix).
func Invalidf(format string, a ...any) error {
	return invalidError{fmt.Errorf(format, a...)}
}

type invalidError struct{ err error }

func (e invalidError) Error() string        { return e.err.Error() }
func (e invalidError) Unwrap() error        { return e.err }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// Benches lists the benchmark names the store knows, in documentation order.
var Benches = []string{NB201, NATSSSS, NB101}

// CheckBench returns an InvalidValue for a name that is no benchmark.
func CheckBench(name string) error {
	for _, b := range Benches {
		if b == name {
			return nil
		}
	}
	return &InvalidValue{Name: "benchmark", Value: name, Valid: Benches}
}

// Splits lists the user-facing split names (ResolveSplit).
var Splits = []string{"train", "valid", "test", "valtest", SetXValid, SetXTest, SetOriTest}

// Metrics lists the table metrics of Query (hw:<device> aside).
var Metrics = []string{MetricAccuracy, MetricLoss, MetricPerTime, MetricAllTime, MetricParams, MetricFLOPs, MetricLatency, "hw:<device>"}
