package ingest

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

const arch0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"

func TestNATSDirTSS(t *testing.T) {
	dir := shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple")
	g, res := runRec(t, index.NB201, dir, Options{}, nil)
	if len(g.archs) != 15625 || g.archs[0] != arch0 {
		t.Fatalf("archs: %d, [0] = %q", len(g.archs), g.archs[0])
	}
	if got := g.rows(); len(got) != 3 || got[0] != 0 || got[1] != 11 || got[2] != 284 {
		t.Fatalf("rows %v", got)
	}
	if res.Source.Kind != KindNATSDir || len(res.Source.SHA256) != 64 || res.Rows != 3 || res.Columns == 0 {
		t.Fatalf("result %+v", res)
	}
	tests := []struct {
		name  string
		row   int
		k     index.Key
		epoch int
		want  float64
	}{
		{"arch0 c10v x-valid@199 s777", 0, key("cifar10-valid", "200", "x-valid", "accuracy", 777), 199, 82.09199998291015},
		{"arch0 c10v x-valid@199 s888", 0, key("cifar10-valid", "200", "x-valid", "accuracy", 888), 199, 81.61599997314453},
		{"arch0 c10v x-valid@199 s999", 0, key("cifar10-valid", "200", "x-valid", "accuracy", 999), 199, 82.24000001464844},
		{"arch0 c10 ori-test@199 s777", 0, key("cifar10", "200", "ori-test", "accuracy", 777), 199, 85.62},
		{"arch0 params", 0, key("cifar10", "200", "cost", "params", 777), -1, 0.129306},
		{"arch0 flops", 0, key("cifar10", "200", "cost", "flops", 777), -1, 15.64737},
		{"arch0 latency", 0, key("cifar10", "200", "cost", "latency", 777), -1, 0.0139359758611311},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := g.value(tc.row, tc.k, tc.epoch)
			if !ok || got != tc.want {
				t.Fatalf("%s@%d = %v (%v), want %v", tc.k, tc.epoch, got, ok, tc.want)
			}
		})
	}
	t.Run("absent epochs read NaN", func(t *testing.T) {
		if _, ok := g.value(0, key("cifar10-valid", "200", "ori-test", "accuracy", 777), 100); ok {
			t.Fatal("cifar10-valid ori-test@100 should not be recorded")
		}
		if v, ok := g.value(0, key("cifar10-valid", "200", "ori-test", "all-time", 777), 199); !ok || v <= 0 {
			t.Fatalf("ori-test all-time@199 = %v %v: eval_times are recorded for every epoch", v, ok)
		}
	})
	t.Run("golden means", func(t *testing.T) { checkGolden(t, g) })
}

// checkGolden compares seed means at the final epoch with the golden JSON,
// averaging in ascending seed order as the official API does.
func checkGolden(t *testing.T, g *recSeg) {
	b, err := os.ReadFile(shared.Path(t, "nb201_golden_arch_0_11_284.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gold map[string]map[string]json.RawMessage
	if err := json.Unmarshal(b, &gold); err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]int{"200": {777, 888, 999}, "12": {111}}
	n := 0
	for _, idx := range []int{0, 11, 284} {
		arch := gold[strconv.Itoa(idx)]
		var archStr string
		json.Unmarshal(arch["arch_str"], &archStr)
		if g.archs[idx] != archStr {
			t.Errorf("arch %d: %q, golden %q", idx, g.archs[idx], archStr)
		}
		for _, hp := range []string{"12", "200"} {
			var vals map[string]float64
			if err := json.Unmarshal(arch["hp"+hp], &vals); err != nil {
				t.Fatal(err)
			}
			for name, want := range vals {
				ds, set, _ := strings.Cut(name, "_")
				ss := seeds[hp]
				if hp == "12" && ds == "cifar10-valid" {
					ss = []int{111, 777}
				}
				E := map[string]int{"12": 12, "200": 200}[hp]
				sum := 0.0
				for _, s := range ss {
					v, ok := g.value(idx, key(ds, hp, set, "accuracy", s), E-1)
					if !ok {
						t.Fatalf("arch %d %s/%s/%s seed %d missing", idx, hp, ds, set, s)
					}
					sum += v
				}
				if got := sum / float64(len(ss)); got != want {
					t.Errorf("arch %d hp %s %s: mean %v, golden %v", idx, hp, name, got, want)
				}
				n++
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d golden values compared", n)
	}
}

func TestNATSDirSSS(t *testing.T) {
	dir := shared.Path(t, "nats_fake_torch_dir/NATS-sss-v1_0-50262-simple")
	g, _ := runRec(t, index.NATSSSS, dir, Options{}, nil)
	if len(g.archs) != 32768 || g.archs[0] != "8:8:8:8:8" {
		t.Fatalf("archs: %d, [0] = %q", len(g.archs), g.archs[0])
	}
	if got := g.rows(); len(got) != 3 || got[2] != 284 {
		t.Fatalf("rows %v", got)
	}
	for _, hp := range []string{"01", "12", "90"} {
		if _, ok := g.value(0, key("cifar10", hp, "cost", "params", 777), -1); !ok {
			t.Errorf("hp %s: no params", hp)
		}
	}
	if v, ok := g.value(0, key("cifar10-valid", "12", "cost", "params", 888), -1); !ok || v != 0.011714 {
		t.Errorf("sss arch 0 params = %v %v", v, ok)
	}
}
