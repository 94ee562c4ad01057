package ingest

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

func TestCSVCifar10Avg(t *testing.T) {
	p := shared.Path(t, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv")
	g, res := runRec(t, index.NB201, p, Options{}, nil)
	if res.Rows != 15625 || res.Columns != 12 || res.Source.Kind != KindCSV {
		t.Fatalf("result %+v", res)
	}
	if len(g.archs) != 15625 || g.archs[0] != arch0 {
		t.Fatalf("arch list from the CSV: %d", len(g.archs))
	}
	tests := []struct {
		name string
		row  int
		k    index.Key
		want float64
	}{
		{"6111 x-valid", 6111, key("cifar10-valid", "200", "x-valid", "accuracy", index.SeedMean), 91.60666665},
		{"6111 ori-test", 6111, key("cifar10-valid", "200", "ori-test", "accuracy", index.SeedMean), 91.09},
		{"0 train per-time", 0, key("cifar10-valid", "200", "train", "per-time", index.SeedMean), 7.221092999},
		{"0 test all-time", 0, key("cifar10-valid", "200", "ori-test", "all-time", index.SeedMean), 203.918339},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := g.value(tc.row, tc.k, 199); !ok || got != tc.want {
				t.Fatalf("%s = %v %v, want %v", tc.k, got, ok, tc.want)
			}
		})
	}
	best, arg := argmax(g, key("cifar10-valid", "200", "x-valid", "accuracy", index.SeedMean), 199)
	if arg != 6111 || best != 91.60666665 {
		t.Errorf("x-valid optimum %v at %d, want 91.60666665 at 6111", best, arg)
	}
}

func argmax(g *recSeg, k index.Key, epoch int) (float64, int) {
	best, arg := math.Inf(-1), -1
	for _, r := range g.rows() {
		if v, ok := g.value(r, k, epoch); ok && v > best {
			best, arg = v, r
		}
	}
	return best, arg
}

func TestCSVHP12(t *testing.T) {
	p := shared.Path(t, "nb201_minibench/nb201_hp12_accs.csv")
	g, res := runRec(t, index.NB201, p, Options{}, nil)
	if res.Rows != 15625 || res.Columns != 6 {
		t.Fatalf("result %+v", res)
	}
	best, arg := argmax(g, key("cifar10", "12", "ori-test", "accuracy", index.SeedMean), 11)
	if arg != 5374 || best != 89.16 {
		t.Errorf("cifar10 ori-test optimum %v at %d, want 89.16 at 5374", best, arg)
	}
	if v, _ := g.value(0, key("ImageNet16-120", "12", "x-valid", "accuracy", index.SeedMean), 11); v != 18.466667 {
		t.Errorf("arch 0 ImageNet16-120 x-valid = %v", v)
	}
}

func TestCSVMapping(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.csv")
	content := "idx,arch_str,acc_col,extra\n" +
		"11,|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,12.5,x\n" +
		"0," + arch0 + ",73.49333323567708,y\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ParseMapping([]byte(`{"index":"idx","arch":"arch_str","hp":"200","columns":{"acc_col":{"dataset":"cifar100","set":"x-valid","metric":"accuracy","epoch":199}}}`), "m.json")
	if err != nil {
		t.Fatal(err)
	}
	g, res := runRec(t, index.NB201, p, Options{Mapping: m}, map[string][]string{index.NB201: nil})
	if res.Rows != 2 {
		t.Fatalf("rows %d", res.Rows)
	}
	if rows := g.rows(); rows[0] != 0 || rows[1] != 11 {
		t.Fatalf("rows not sorted: %v", rows)
	}
	if v, ok := g.value(0, key("cifar100", "200", "x-valid", "accuracy", index.SeedMean), 199); !ok || v != 73.49333323567708 {
		t.Fatalf("value %v", v)
	}
	if g.archs != nil {
		t.Fatal("a partial CSV must not set the arch list")
	}
}

func TestCSVErrors(t *testing.T) {
	good := "idx,arch_str,acc\n0," + arch0 + ",1.5\n"
	mapping := func(cols string) *Mapping {
		m, err := ParseMapping([]byte(`{"index":"idx","arch":"arch_str","hp":"200","columns":{`+cols+`}}`), "m.json")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	accCol := `"acc":{"dataset":"cifar100","set":"x-valid","metric":"accuracy","epoch":199}`
	tests := []struct {
		name     string
		csv      string
		m        *Mapping
		sentinel error
		line     int
		field    string
	}{
		{"unknown arch", good + "1,|foo~0|+|bar~0|baz~1|+|a~0|b~1|c~2|,2\n", mapping(accCol), ErrArch, 3, "arch_str"},
		{"missing mapped column", good, mapping(`"nope":{"dataset":"cifar100","set":"x-valid","metric":"accuracy"}`), ErrMapping, 1, "nope"},
		{"unknown dataset", good, mapping(`"acc":{"dataset":"cifar1000","set":"x-valid","metric":"accuracy"}`), ErrMapping, 1, "acc"},
		{"unknown set", good, mapping(`"acc":{"dataset":"cifar10","set":"x-valid","metric":"accuracy"}`), ErrMapping, 1, "acc"},
		{"unknown metric", good, mapping(`"acc":{"dataset":"cifar10","set":"ori-test","metric":"acc"}`), ErrMapping, 1, "acc"},
		{"epoch out of range", good, mapping(`"acc":{"dataset":"cifar10","set":"ori-test","metric":"accuracy","epoch":200}`), ErrMapping, 1, "acc"},
		{"bad number", good + "1,|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,abc\n", mapping(accCol), ErrFormat, 3, "acc"},
		{"duplicate index", good + "0," + arch0 + ",2\n", mapping(accCol), ErrArch, 3, "idx"},
		{"index out of range", "idx,arch_str,acc\n15625," + arch0 + ",1\n", mapping(accCol), ErrArch, 2, "idx"},
		{"unrecognised header", "a,b\n1,2\n", nil, ErrUnknownSource, 1, "header"},
		{"short row", good + "1,x\n", mapping(accCol), ErrFormat, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.csv")
			os.WriteFile(p, []byte(tc.csv), 0o644)
			rs := &recStore{}
			_, err := ingest(t.Context(), rs, index.NB201, p, Options{Mapping: tc.m})
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want %v", err, tc.sentinel)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != p || pe.Line != tc.line || pe.Field != tc.field {
				t.Fatalf("err = %#v, want file %s line %d field %q", err, p, tc.line, tc.field)
			}
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("message %q does not name the file", err)
			}
			if len(rs.segs) == 1 && (rs.segs[0].committed || !rs.segs[0].aborted) {
				t.Fatal("segment not aborted")
			}
		})
	}
	t.Run("arch disagrees with the store", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "x.csv")
		os.WriteFile(p, []byte(good), 0o644)
		stored := make([]string, 15625)
		stored[0] = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
		rs := &recStore{archs: map[string][]string{index.NB201: stored}}
		_, err := ingest(t.Context(), rs, index.NB201, p, Options{Mapping: mapping(accCol)})
		var pe *ParseError
		if !errors.Is(err, ErrArch) || !errors.As(err, &pe) || pe.Line != 2 {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestHELP(t *testing.T) {
	dir := shared.Path(t, "nb201_help_latency")
	g, res := runRec(t, index.NB201, dir, Options{}, nil)
	if res.Source.Kind != KindHELP || res.Rows != 15625 || res.Columns != 27 {
		t.Fatalf("result %+v", res)
	}
	if len(g.archs) != 15625 || g.archs[0] != arch0 {
		t.Fatalf("arch list from str_arch2idx: %d", len(g.archs))
	}
	tests := []struct {
		device string
		row    int
		want   float64
	}{
		{"pixel3", 0, 3.6058499999999998}, // FACTS.md (HW-NAS-Bench); the brief rounds it to 3.60585
		{"raspi4", 0, 10.481976820010459},
		{"raspi4", 1, 54.77739761998237},
		{"pixel3", 1, 17.2381},
		{"fpga", 0, 2.57296},
		{"pixel2", 0, 9},
	}
	for _, tc := range tests {
		t.Run(tc.device, func(t *testing.T) {
			if got, ok := g.value(tc.row, hwKey(tc.device), -1); !ok || got != tc.want {
				t.Fatalf("%s[%d] = %v %v, want %v", tc.device, tc.row, got, ok, tc.want)
			}
		})
	}
	t.Run("csv", func(t *testing.T) {
		g, res := runRec(t, index.NB201, filepath.Join(dir, "nb201_latency_help.csv"), Options{}, nil)
		if res.Columns != 27 || res.Rows != 15625 {
			t.Fatalf("result %+v", res)
		}
		if v, _ := g.value(0, hwKey("raspi4"), -1); v != 10.48198 {
			t.Fatalf("raspi4[0] = %v (the CSV has %%.7g)", v)
		}
	})
	t.Run("single device file", func(t *testing.T) {
		g, _ := runRec(t, index.NB201, filepath.Join(dir, "latency", "raspi4.pt"), Options{}, nil)
		if v, _ := g.value(0, hwKey("raspi4"), -1); v != 10.481976820010459 {
			t.Fatalf("raspi4[0] = %v", v)
		}
	})
}
