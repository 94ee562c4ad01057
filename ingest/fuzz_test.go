package ingest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/internal/shared"
)

// smallArch is a one-dataset, one-seed per-arch record (NATS OrderedDict).
func smallArch() podict {
	rc := synthResults(0, "cifar10", 0, 777, 3, []string{"ori-test"}, nil)
	state := pdict{{"arch_index", 0}, {"arch_str", arch0}, {"all_results", pdict{{ptuple{"cifar10", 777}, rc}}},
		{"dataset_seed", pdict{{"cifar10", plist{777}}}}, {"clear_net_done", true}}
	return podict{{"12", state}}
}

func pickleSeeds() [][]byte {
	return [][]byte{
		newPickle(smallArch()),
		newPickle(pset{1, 2, 3}),
		newPickle(npf64(0.129306)),
		newPickle(pdict{{"meta_archs", plist{arch0}}, {"arch2infos", nil}}),
		[]byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."),
		[]byte("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f."), // huge BINBYTES8
		[]byte("\x80\x02]q\x00(K\x01K\x02e."),
		[]byte("(C\x01a\x88d."), // bytes as a dict key
	}
}

// FuzzUnpickle checks that the validated unpickler and the record
// converter never panic and never read past their input.
func FuzzUnpickle(f *testing.F) {
	for _, s := range pickleSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, end, err := unpickle(data)
		if err != nil {
			return
		}
		if end <= 0 || end > len(data) {
			t.Fatalf("end %d of %d", end, len(data))
		}
		if rec, err := convertArch(obj, -1); err == nil {
			lb := newLayoutBuilder()
			if err := lb.add(rec); err == nil {
				l := lb.build()
				fr := l.newFrame([]int{rec.Index})
				if err := l.fill(&fr, 0, rec); err != nil {
					t.Fatalf("a record must fit the layout built from it: %v", err)
				}
			}
		}
	})
}

// FuzzPbz2 feeds whole .pickle.pbz2 payloads (bzip2 + pickle).
func FuzzPbz2(f *testing.F) {
	for _, s := range pickleSeeds()[:4] {
		f.Add(bzip2Encode(s))
	}
	if b, err := os.ReadFile(shared.Path(f, "nats_fake_torch_dir/NATS-sss-v1_0-50262-simple/000011.pickle.pbz2")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := decodePbz2(data, 8<<20)
		if err != nil {
			return
		}
		convertArch(obj, -1)
	})
}

// FuzzTorch feeds torch.save containers (legacy and zip).
func FuzzTorch(f *testing.F) {
	f.Add(legacyTorch(smallArch()))
	f.Add(zipTorch(plist{1.5, 2, 3}))
	f.Add(zipTorch(pdict{{arch0, 0}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := loadTorch(data)
		if err != nil {
			return
		}
		helpList("x.pt", obj)
		helpArchs("x.pt", index.NB201, obj)
	})
}

// FuzzCSV runs the CSV importer on arbitrary text, with the built-in
// layouts or with a JSON mapping, and checks the frames it writes.
func FuzzCSV(f *testing.F) {
	arch1 := "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
	f.Add([]byte("arch,cellstr,cifar10-test,cifar10-val,cifar100-test,cifar100-val,imagenet-test,imagenet-val\n"+
		"1,"+arch1+",88.22,82.834,58.26,57.8,33.8,35.433333\n0,"+arch0+",69.55,63.364,31.26,31.84,17,18.466667\n"), "")
	f.Add([]byte("index,sol,name,C,N,arch_str,num_classes,index2,train-loss,train-accuracy,train-per-time,train-all-time,valid-loss,valid-accuracy,valid-per-time,valid-all-time,test-loss,test-accuracy,test-per-time,test-all-time\n"+
		"0,532322,infer.tiny,16,5,"+arch0+",10,0,0.319028123,88.91866666,7.221092999,1444.2186,0.565850776,81.98266666,2.548979237,509.7958474,0.576099647,81.52,1.019591695,203.918339\n"), "")
	f.Add([]byte("index,pixel3,raspi4\n0,3.60585,10.48198\n2,NaN,\n"), "")
	f.Add([]byte("idx,arch_str,acc_col\n3,"+arch0+",1e2\n"),
		`{"index":"idx","arch":"arch_str","hp":"200","columns":{"acc_col":{"dataset":"cifar100","set":"x-valid","metric":"accuracy","epoch":199}}}`)
	f.Add([]byte("a,b\n\"x\"\"y\",1\n"), `{"arch":"a","columns":{"b":{"set":"hw","metric":"pixel3"}}}`)
	f.Fuzz(func(t *testing.T, data []byte, mapping string) {
		var opt Options
		if mapping != "" {
			m, err := ParseMapping([]byte(mapping), "m.json")
			if err != nil {
				return
			}
			opt.Mapping = m
		}
		rs := &recStore{archs: map[string][]string{}}
		w, _ := rs.NewSegment(index.NB201)
		j := &job{ctx: context.Background(), st: rs, bench: index.NB201, path: "fuzz.csv", opt: opt, w: w, bar: newProgress(nil, "")}
		err := j.readCSV(bytes.NewReader(data), int64(len(data)))
		g := rs.segs[0]
		if len(g.violations) > 0 {
			t.Fatalf("writer contract broken: %v", g.violations)
		}
		if err == nil && j.res.Rows != len(g.rows()) {
			t.Fatalf("Rows %d, wrote %d", j.res.Rows, len(g.rows()))
		}
	})
}

// TestWriteFuzzCorpus regenerates the checked-in seed corpora under
// testdata/fuzz (synthetic inputs only). Run with NBQUERY_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("NBQUERY_WRITE_CORPUS") == "" {
		t.Skip("set NBQUERY_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(target, name string, vals ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, v := range vals {
			switch x := v.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(x)))
			case string:
				fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(x))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range pickleSeeds() {
		write("FuzzUnpickle", fmt.Sprintf("seed%d", i), s)
	}
	write("FuzzPbz2", "arch", bzip2Encode(newPickle(smallArch())))
	write("FuzzPbz2", "truncated", bzip2Encode(newPickle(smallArch()))[:60])
	write("FuzzTorch", "legacy", legacyTorch(smallArch()))
	write("FuzzTorch", "zip", zipTorch(plist{1.5, 2, 3}))
	write("FuzzCSV", "hw", []byte("index,pixel3,raspi4\n0,3.60585,10.48198\n1,x,2\n"), "")
	write("FuzzCSV", "mapping", []byte("idx,arch_str,acc_col\n3,"+arch0+",1e2\n"),
		`{"index":"idx","arch":"arch_str","hp":"200","columns":{"acc_col":{"dataset":"cifar100","set":"x-valid","metric":"accuracy","epoch":199}}}`)
	write("FuzzCSV", "badarch", []byte("idx,arch_str,acc_col\n3,|x~0|,1\n"),
		`{"index":"idx","arch":"arch_str","hp":"12","columns":{"acc_col":{"dataset":"cifar10","set":"ori-test","metric":"accuracy"}}}`)
}
