package experiment_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/nbquery/nbquery/experiment"
)

func TestParseConstraint(t *testing.T) {
	for _, test := range []struct {
		in   string
		want experiment.Constraint
		ok   bool
	}{
		{"latency:pixel3<=5ms", experiment.Constraint{Metric: "hw:pixel3", Op: "<=", Value: 5}, true},
		{" latency:raspi4 < 0.02s ", experiment.Constraint{Metric: "hw:raspi4", Op: "<", Value: 20}, true},
		{"lat:fpga>=1.5", experiment.Constraint{Metric: "hw:fpga", Op: ">=", Value: 1.5}, true},
		{"params<=1.2MB", experiment.Constraint{Metric: "params", Op: "<=", Value: 1.2}, true},
		{"flops<100M", experiment.Constraint{Metric: "flops", Op: "<", Value: 100}, true},
		{"latency<=20ms", experiment.Constraint{Metric: "latency", Op: "<=", Value: 0.02}, true},
		{"latency:pixel3<=5MB", experiment.Constraint{}, false},
		{"accuracy>=90", experiment.Constraint{}, false},
		{"latency:pixel3=5", experiment.Constraint{}, false},
		{"", experiment.Constraint{}, false},
	} {
		t.Run(test.in, func(t *testing.T) {
			got, err := experiment.ParseConstraint(test.in)
			if (err == nil) != test.ok {
				t.Fatalf("err = %v, want ok=%v", err, test.ok)
			}
			if err != nil && !errors.Is(err, experiment.ErrConfig) {
				t.Fatalf("err %v does not wrap ErrConfig", err)
			}
			if test.ok && (got.Metric != test.want.Metric || got.Op != test.want.Op || math.Abs(got.Value-test.want.Value) > 1e-12) {
				t.Fatalf("got %+v, want %+v", got, test.want)
			}
		})
	}
}

func TestParseObjective(t *testing.T) {
	for _, test := range []struct {
		in   string
		want experiment.Objective
		ok   bool
	}{
		{"acc - 0.5*log(latency:pixel3)", experiment.Objective{Lambda: -0.5, Log: true, Metric: "hw:pixel3"}, true},
		{"acc+1e-2*flops", experiment.Objective{Lambda: 0.01, Metric: "flops"}, true},
		{"acc - 2 * lat:raspi4", experiment.Objective{Lambda: -2, Metric: "hw:raspi4"}, true},
		{"acc - 0.5*log(latency:pixel3", experiment.Objective{}, false},
		{"acc - lambda*log(lat)", experiment.Objective{}, false},
		{"loss - 1*params", experiment.Objective{}, false},
	} {
		t.Run(test.in, func(t *testing.T) {
			got, err := experiment.ParseObjective(test.in)
			if (err == nil) != test.ok {
				t.Fatalf("err = %v, want ok=%v", err, test.ok)
			}
			if test.ok && got != test.want {
				t.Fatalf("got %+v, want %+v", got, test.want)
			}
		})
	}
	o := experiment.Objective{Lambda: -1, Log: true, Metric: "hw:x"}
	if v := o.Apply(90, math.E); v != 89 {
		t.Errorf("Apply = %v, want 89", v)
	}
	if v := o.Apply(90, 0); !math.IsNaN(v) {
		t.Errorf("Apply(lat 0) = %v, want NaN", v)
	}
}

func FuzzParseConstraint(f *testing.F) {
	for _, s := range []string{"latency:pixel3<=5ms", "params<1", "lat:x>=2s", "flops>1e3M", "<=", "latency:<=5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := experiment.ParseConstraint(s)
		if err != nil {
			return
		}
		if c.Metric == "" || math.IsNaN(c.Value) {
			t.Fatalf("%q parsed to %+v", s, c)
		}
		// The canonical form parses back to the same constraint.
		c2, err := experiment.ParseConstraint(c.String())
		if err != nil || c2 != c {
			t.Fatalf("%q -> %q -> %+v, %v", s, c.String(), c2, err)
		}
	})
}

func FuzzParseObjective(f *testing.F) {
	for _, s := range []string{"acc - 0.5*log(latency:pixel3)", "acc+1*flops", "acc - 2*lat:x", "acc-*", "acc - 1*log(params"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := experiment.ParseObjective(s)
		if err != nil {
			return
		}
		if o.Metric == "" || math.IsNaN(o.Lambda) || math.IsInf(o.Lambda, 0) {
			t.Fatalf("%q parsed to %+v", s, o)
		}
	})
}

func ExampleParseConstraint() {
	c, err := experiment.ParseConstraint("latency:pixel3<=5ms")
	fmt.Println(c.Metric, c.Op, c.Value, err, c.Allows(4.2), c.Allows(6))
	// Output: hw:pixel3 <= 5 <nil> true false
}

func ExampleParseObjective() {
	o, _ := experiment.ParseObjective("acc - 0.5*log(latency:pixel3)")
	fmt.Printf("%s %v %v %.3f\n", o.Metric, o.Lambda, o.Log, o.Apply(90, 4))
	// Output: hw:pixel3 -0.5 true 89.307
}
