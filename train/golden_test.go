package train

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gorgonia.org/tensor"

	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/space/nb201"
)

// TestParamsFlopsMatchNB201 builds the benchmark's CIFAR-10 network (C=16,
// N=5, 32×32×3, 10 classes) for the golden architectures and compares the
// parameter count and FLOPs with NAS-Bench-201's cost_cifar10 records.
func TestParamsFlopsMatchNB201(t *testing.T) {
	b, err := os.ReadFile(shared.Path(t, "nb201_golden_arch_0_11_284.json"))
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
	for id, g := range golden {
		t.Run(id, func(t *testing.T) {
			cell, err := nb201.Parse(g.Arch)
			if err != nil {
				t.Fatal(err)
			}
			ps := newParams(tensor.Float32, rand.New(rand.NewPCG(1, 1)))
			m, err := buildModel(ps, netSpec{Cell: cell, C: 16, N: 5, InC: 3, H: 32, W: 32, Class: 10}, 2, false, false)
			if err != nil {
				t.Fatal(err)
			}
			defer m.vm.Close()
			params := float64(ps.count()) / 1e6
			if math.Abs(params-g.Cost.Params) > 5e-7 {
				t.Errorf("params %.6f MB, benchmark %.6f", params, g.Cost.Params)
			}
			if f := m.flops / 1e6; math.Abs(f-g.Cost.Flops) > 5e-6 {
				t.Errorf("flops %.5f M, benchmark %.5f", f, g.Cost.Flops)
			}
		})
	}
}
