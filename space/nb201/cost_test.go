package nb201

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// dataPath locates ../shared/data beside the module root (space/nb201 may
// not import internal/shared by the dependency order).
func dataPath(t *testing.T, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data", rel)
	if d := os.Getenv("NBQUERY_DATA"); d != "" {
		p = filepath.Join(d, rel)
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data not available: %v", err)
	}
	return p
}

// TestCostsGolden compares the computed counts with the benchmark's
// cost_cifar10 records of architectures 0, 11 and 284.
func TestCostsGolden(t *testing.T) {
	b, err := os.ReadFile(dataPath(t, "nb201_golden_arch_0_11_284.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden map[string]struct {
		Arch string `json:"arch_str"`
		Cost struct {
			Params float64 `json:"params_MB"`
			Flops  float64 `json:"flop_M"`
		} `json:"cost_cifar10_seed777"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden) != 3 {
		t.Fatalf("%d golden archs, want 3", len(golden))
	}
	net, _ := BenchNetwork("cifar10")
	for id, g := range golden {
		c, err := Parse(g.Arch)
		if err != nil {
			t.Fatal(err)
		}
		p, f := net.Costs(c)
		if math.Abs(p-g.Cost.Params) > 5e-7 || math.Abs(f-g.Cost.Flops) > 5e-6 {
			t.Errorf("arch %s: params %.6f flops %.5f, benchmark %.6f %.5f", id, p, f, g.Cost.Params, g.Cost.Flops)
		}
	}
}

func TestBenchNetwork(t *testing.T) {
	for _, test := range []struct {
		dataset string
		h, cls  int
	}{{"cifar10-valid", 32, 10}, {"cifar10", 32, 10}, {"cifar100", 32, 100}, {"ImageNet16-120", 16, 120}} {
		n, err := BenchNetwork(test.dataset)
		if err != nil || n.H != test.h || n.Classes != test.cls || n.C != 16 || n.N != 5 {
			t.Errorf("BenchNetwork(%s) = %+v, %v", test.dataset, n, err)
		}
	}
	if _, err := BenchNetwork("mnist"); err == nil {
		t.Error("BenchNetwork(mnist): no error")
	}
}

func ExampleNetwork_Costs() {
	net, _ := BenchNetwork("cifar10")
	c, _ := Parse("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|nor_conv_1x1~1|none~2|")
	p, f := net.Costs(c)
	fmt.Printf("%.6f MB, %.5f MFLOPs\n", p, f)
	// Output: 0.101306 MB, 11.71521 MFLOPs
}
