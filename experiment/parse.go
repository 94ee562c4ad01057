package experiment

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrConfig marks an invalid experiment configuration.
var ErrConfig = errors.New("experiment: invalid configuration")

// Constraint is "<metric> <op> <value>[unit]": metric is latency:<device>
// (a measured device latency, ms), params (MB), flops (MFLOPs) or latency
// (the benchmark's own latency, seconds); op is <=, <, >= or >.
type Constraint struct {
	Metric string // an index.Query metric: "hw:<device>", "params", "flops", "latency"
	Op     string
	Value  float64
}

var (
	consRe = regexp.MustCompile(`^\s*([A-Za-z_]+(?::[A-Za-z0-9_.\-]+)?)\s*(<=|<|>=|>)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$`)
	objRe  = regexp.MustCompile(`^\s*acc\s*([-+])\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*\*\s*(log\s*\(\s*)?([A-Za-z_]+(?::[A-Za-z0-9_.\-]+)?)\s*(\)?)\s*$`)
)

// metricName maps a user metric to an index.Query metric.
func metricName(s string) (string, error) {
	if dev, ok := strings.CutPrefix(s, "latency:"); ok && dev != "" {
		return "hw:" + dev, nil
	}
	if dev, ok := strings.CutPrefix(s, "lat:"); ok && dev != "" {
		return "hw:" + dev, nil
	}
	switch s {
	case "params", "flops", "latency":
		return s, nil
	}
	return "", fmt.Errorf("%w: unknown metric %q (want latency:<device>, params, flops or latency)", ErrConfig, s)
}

// ParseConstraint parses a constraint such as "latency:pixel3<=5ms".
func ParseConstraint(s string) (Constraint, error) {
	m := consRe.FindStringSubmatch(s)
	if m == nil {
		return Constraint{}, fmt.Errorf("%w: constraint %q: want <metric><op><value>, e.g. latency:pixel3<=5ms", ErrConfig, s)
	}
	metric, err := metricName(m[1])
	if err != nil {
		return Constraint{}, fmt.Errorf("constraint %q: %w", s, err)
	}
	v, err := strconv.ParseFloat(m[3], 64)
	if err != nil {
		return Constraint{}, fmt.Errorf("%w: constraint %q: %v", ErrConfig, s, err)
	}
	switch unit := strings.ToLower(m[4]); {
	case unit == "":
	case unit == "ms" && strings.HasPrefix(metric, "hw:"):
	case unit == "s" && strings.HasPrefix(metric, "hw:"):
		v *= 1000
	case unit == "ms" && metric == "latency":
		v /= 1000
	case unit == "s" && metric == "latency":
	case unit == "mb" && metric == "params":
	case unit == "m" && (metric == "params" || metric == "flops"):
	default:
		return Constraint{}, fmt.Errorf("%w: constraint %q: unit %q does not fit %s", ErrConfig, s, m[4], m[1])
	}
	return Constraint{Metric: metric, Op: m[2], Value: v}, nil
}

// Allows reports whether value v satisfies the constraint (NaN never does).
func (c Constraint) Allows(v float64) bool {
	switch c.Op {
	case "<=":
		return v <= c.Value
	case "<":
		return v < c.Value
	case ">=":
		return v >= c.Value
	case ">":
		return v > c.Value
	}
	return false
}

func (c Constraint) String() string {
	return fmt.Sprintf("%s%s%s", strings.Replace(c.Metric, "hw:", "latency:", 1), c.Op, strconv.FormatFloat(c.Value, 'g', -1, 64))
}

// Objective is "acc - lambda*log(<metric>)" or "acc - lambda*<metric>"
// (also with +): the target accuracy traded against a cost metric.
type Objective struct {
	Lambda float64 // signed: acc + Lambda*f(metric)
	Log    bool
	Metric string // an index.Query metric
}

// ParseObjective parses an objective such as "acc - 0.5*log(latency:pixel3)".
func ParseObjective(s string) (Objective, error) {
	m := objRe.FindStringSubmatch(s)
	if m == nil || (m[3] != "") != (m[5] != "") {
		return Objective{}, fmt.Errorf("%w: objective %q: want acc - <lambda>*log(<metric>) or acc - <lambda>*<metric>", ErrConfig, s)
	}
	l, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return Objective{}, fmt.Errorf("%w: objective %q: %v", ErrConfig, s, err)
	}
	if m[1] == "-" {
		l = -l
	}
	metric, err := metricName(m[4])
	if err != nil {
		return Objective{}, fmt.Errorf("objective %q: %w", s, err)
	}
	return Objective{Lambda: l, Log: m[3] != "", Metric: metric}, nil
}

// Apply returns acc + Lambda*f(cost); NaN where the cost is not positive
// under Log.
func (o Objective) Apply(acc, cost float64) float64 {
	if o.Log {
		if !(cost > 0) {
			return nan
		}
		cost = logf(cost)
	}
	return acc + o.Lambda*cost
}
