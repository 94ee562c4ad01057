package train

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/space/mbv2"
)

func TestLatencyTableFile(t *testing.T) {
	lt := testLatencyTable(rand.New(rand.NewPCG(1, 1)))
	lt.Macro = &MacroJSON{Width: 0.1, Divisor: 2, StemStride: 2}
	path := filepath.Join(t.TempDir(), "lat.json")
	if err := lt.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLatencyTable(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := mbv2.Parse("k3e3,skip,skip,skip+k3e6,k5e3,skip,skip+k5e6,skip,skip,skip+k3e6,skip,skip,skip+k5e6,k5e6,skip,k3e3")
	want := lt.Base + lt.Layers[0].K3E3 + lt.Layers[4].K3E6 + lt.Layers[5].K5E3 + lt.Layers[8].K5E6 +
		lt.Layers[12].K3E6 + lt.Layers[16].K5E6 + lt.Layers[17].K5E6 + lt.Layers[19].K3E3
	if p := got.Predict(a); p != want {
		t.Errorf("Predict = %v, want %v", p, want)
	}
	if err := got.CheckMacro(tinyMacro); err != nil {
		t.Error(err)
	}
	if err := got.CheckMacro(mbv2.Reference); !errors.Is(err, ErrLatencyTable) {
		t.Errorf("CheckMacro(reference) = %v", err)
	}
	good := `{"format": "nbquery-spnas-latency/1", "unit": "ms", "base": 1, "layers": [` +
		strings.TrimSuffix(strings.Repeat(`{"k3e3": 1, "k3e6": 2, "k5e3": 1.5, "k5e6": 3},`, 20), ",") + `]}`
	if _, err := ParseLatencyTable([]byte(good), "good"); err != nil {
		t.Fatalf("good table: %v", err)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"format", strings.Replace(good, "latency/1", "latency/2", 1), `format "nbquery-spnas-latency/2"`},
		{"unit", strings.Replace(good, `"ms"`, `"s"`, 1), `unit "s"`},
		{"layers", strings.Replace(good, `{"k3e3": 1, "k3e6": 2, "k5e3": 1.5, "k5e6": 3},`, "", 1), "19 layers, want 20"},
		{"zero", strings.Replace(good, `"k5e6": 3}]`, `"k5e6": 0}]`, 1), "layers[19].k5e6 = 0"},
		{"negative base", strings.Replace(good, `"base": 1`, `"base": -1`, 1), "base -1"},
		{"unknown field", strings.Replace(good, `"base": 1`, `"bse": 1`, 1), `unknown field "bse"`},
		{"not json", "{", "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLatencyTable([]byte(tc.in), "x.json")
			if !errors.Is(err, ErrLatencyTable) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "x.json") {
				t.Errorf("err %v, want ErrLatencyTable naming x.json and containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseLatencyTable(f *testing.F) {
	f.Add([]byte(`{"format": "nbquery-spnas-latency/1", "unit": "ms", "base": 1, "layers": []}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		lt, err := ParseLatencyTable(b, "fuzz")
		if err != nil {
			if !errors.Is(err, ErrLatencyTable) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if p := lt.Predict(mbv2.FromCode(0)); !(p > 0) {
			t.Fatalf("runtime %v", p)
		}
	})
}

func TestMeasureLatency(t *testing.T) {
	cfg := MeasureConfig{Macro: tinyMacro, InC: 1, H: 16, W: 16, Classes: 10, Repeats: 2, Warmup: 1}
	var lines int
	lt, err := MeasureLatency(cfg, func(string) { lines++ })
	if err != nil {
		t.Fatal(err)
	}
	if lines != 21 || len(lt.Layers) != 20 || lt.Base <= 0 {
		t.Fatalf("%d progress lines, table %+v", lines, lt)
	}
	b, err := json.Marshal(lt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseLatencyTable(b, "measured"); err != nil {
		t.Fatalf("measured table does not check: %v", err)
	}
	a := mbv2.FromCode(12345)
	if ms, err := MeasureArch(cfg, a); err != nil || ms <= 0 {
		t.Fatalf("MeasureArch: %v %v", ms, err)
	}
}
