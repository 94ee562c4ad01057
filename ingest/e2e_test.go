package ingest

import (
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

// TestEndToEnd ingests the real slices into a store on disk and queries them
// through the index API.
func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tss := shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple")
	res, err := NB201(ctx, st, tss, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.Unchanged {
		t.Fatalf("result %+v", res)
	}
	again, err := NB201(ctx, st, tss, Options{})
	if err != nil || !again.Unchanged {
		t.Fatalf("second ingest: %+v, %v; want Unchanged", again, err)
	}
	help := shared.Path(t, "nb201_help_latency")
	if _, err := NB201(ctx, st, help, Options{}); err != nil {
		t.Fatal(err)
	}
	archs, err := st.Archs(index.NB201)
	if err != nil || len(archs) != 15625 || archs[0] != arch0 {
		t.Fatalf("archs %d %v", len(archs), err)
	}
	b, err := st.Bench(index.NB201)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("per seed", func(t *testing.T) {
		for seed, want := range map[int]float64{777: 82.09199998291015, 888: 81.61599997314453, 999: 82.24000001464844} {
			si, err := b.GetMetrics(0, "cifar10-valid", "200", "x-valid", 199, index.FixedSeed(seed))
			if err != nil || si.Accuracy != want {
				t.Errorf("seed %d: %v %v, want %v", seed, si.Accuracy, err, want)
			}
		}
	})
	t.Run("means", func(t *testing.T) {
		for _, tc := range []struct {
			row     int
			ds, set string
			hp      string
			want    float64
		}{
			{0, "cifar10", "ori-test", "200", 85.86333333333334},
			{0, "cifar10-valid", "x-valid", "200", 81.98266665690103},
			{11, "cifar100", "x-test", "200", 67.6066666422526},
			{284, "ImageNet16-120", "x-test", "200", 32.466666556464304},
			{284, "cifar10", "ori-test", "12", 79.46},
		} {
			si, err := b.GetMetrics(tc.row, tc.ds, tc.hp, tc.set, -1, index.MeanSeeds())
			if err != nil || si.Accuracy != tc.want {
				t.Errorf("%d %s %s hp%s: %v %v, want %v", tc.row, tc.ds, tc.set, tc.hp, si.Accuracy, err, tc.want)
			}
		}
	})
	t.Run("costs", func(t *testing.T) {
		c, err := b.ComputeCosts(0, "cifar10", "200", index.MeanSeeds())
		if err != nil || c.Params != 0.129306 || c.FLOPs != 15.64737 || c.Latency != 0.0139359758611311 {
			t.Fatalf("costs %+v %v", c, err)
		}
	})
	t.Run("hw", func(t *testing.T) {
		v, err := b.DeviceLatency(0, "raspi4")
		if err != nil || v != 10.481976820010459 {
			t.Fatalf("raspi4 %v %v", v, err)
		}
	})
}

func TestEndToEndCSV(t *testing.T) {
	ctx := context.Background()
	st, err := index.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := NB201(ctx, st, shared.Path(t, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv"), Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := NB201(ctx, st, shared.Path(t, "nb201_minibench/nb201_hp12_accs.csv"), Options{}); err != nil {
		t.Fatal(err)
	}
	b, err := st.Bench(index.NB201)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		row         int
		ds, hp, set string
		want        float64
	}{
		{6111, "cifar10-valid", "200", "x-valid", 91.60666665},
		{6111, "cifar10-valid", "200", "ori-test", 91.09},
		{5374, "cifar10", "12", "ori-test", 89.16},
	} {
		si, err := b.GetMetrics(tc.row, tc.ds, tc.hp, tc.set, -1, index.MeanSeeds())
		if err != nil || si.Accuracy != tc.want {
			t.Errorf("%d %s %s: %v %v, want %v", tc.row, tc.ds, tc.set, si.Accuracy, err, tc.want)
		}
	}
}

// TestBadInputLeavesStoreUnchanged feeds broken sources to a populated store
// and checks the error names the file and position and that no byte of the
// store changed.
func TestBadInputLeavesStoreUnchanged(t *testing.T) {
	ctx := context.Background()
	storeDir := t.TempDir()
	st, err := index.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tss := shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple")
	if _, err := NB201(ctx, st, tss, Options{}); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A -simple directory whose arch file 000011 is cut short.
	meta := read(filepath.Join(tss, natsMeta))
	a0 := read(filepath.Join(tss, "000000.pickle.pbz2"))
	a11 := read(filepath.Join(tss, "000011.pickle.pbz2"))
	write("trunc/"+natsMeta, meta)
	write("trunc/000000.pickle.pbz2", a0)
	truncFile := write("trunc/000011.pickle.pbz2", a11[:len(a11)/2])
	// A bzip2 stream whose content is not a pickle.
	notPickle := write("text.pickle.pbz2", bz2Text(t))
	// A decompressed arch pickle cut short, recompressed (truncated pickle, valid bzip2).
	raw, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(a0)))
	if err != nil {
		t.Fatal(err)
	}
	truncPickle := write("tp/000000.pickle.pbz2", bz2Bytes(t, raw[:len(raw)-100]))
	write("tp/"+natsMeta, meta)
	junk := write("junk.bin", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8})
	badArchCSV := write("bad.csv", []byte("index,arch_str,a\n0,"+arch0+",1\n1,|none~0|+|none~0|none~1|+|none~0|none~1|bogus~2|,2\n"))
	mapCSV := write("m.csv", []byte("index,arch_str,a\n0,"+arch0+",1\n"))
	missing := &Mapping{Index: "index", Arch: "arch_str", HP: "200", Columns: map[string]ColumnMapping{"b": {Dataset: "cifar10", Set: "ori-test", Metric: "accuracy"}}}
	okMap := &Mapping{Index: "index", Arch: "arch_str", HP: "200", Columns: map[string]ColumnMapping{"a": {Dataset: "cifar10", Set: "ori-test", Metric: "accuracy"}}}
	unknownDS := &Mapping{Index: "index", Arch: "arch_str", HP: "200", Columns: map[string]ColumnMapping{"a": {Dataset: "mnist", Set: "ori-test", Metric: "accuracy"}}}

	before := hashTree(t, storeDir)
	tests := []struct {
		name     string
		path     string
		opt      Options
		sentinel error
		file     string
		line     int
		offset   bool
		field    string
	}{
		{"truncated pbz2 in a directory", filepath.Join(tmp, "trunc"), Options{}, ErrFormat, truncFile, 0, true, ""},
		{"truncated pickle", filepath.Join(tmp, "tp"), Options{}, ErrFormat, truncPickle, 0, true, ""},
		{"bzip2 of text", notPickle, Options{}, ErrFormat, notPickle, 0, true, ""},
		{"not a benchmark file", junk, Options{}, ErrUnknownSource, junk, 0, false, ""},
		{"CSV unknown arch", badArchCSV, Options{Mapping: okMap}, ErrArch, badArchCSV, 3, true, "arch_str"},
		{"missing mapped column", mapCSV, Options{Mapping: missing}, ErrMapping, mapCSV, 1, false, "b"},
		{"mapping onto an unknown dataset", mapCSV, Options{Mapping: unknownDS}, ErrMapping, mapCSV, 1, false, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NB201(ctx, st, tc.path, tc.opt)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want %v", err, tc.sentinel)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != tc.file || pe.Line != tc.line || pe.Field != tc.field || (pe.Offset >= 0) != tc.offset {
				t.Fatalf("err = %v (%+v), want file %s line %d field %q", err, pe, tc.file, tc.line, tc.field)
			}
			t.Log(err)
			after := hashTree(t, storeDir)
			if !slices.Equal(sortedKeys(before), sortedKeys(after)) {
				t.Fatalf("store files changed: %v -> %v", sortedKeys(before), sortedKeys(after))
			}
			for k, v := range before {
				if after[k] != v {
					t.Fatalf("store file %s changed", k)
				}
			}
		})
	}
}
