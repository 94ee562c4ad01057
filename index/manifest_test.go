package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// testManifest has the shape of a real store's: NB201 segments with
// epoch-free and per-epoch columns, a sparse segment with a row list, an
// arch list, NB101 extra tables and file sums.
func testManifest() manifest {
	var cols colList
	for _, ds := range []string{"cifar10-valid", "cifar10", "ImageNet16-120"} {
		for _, set := range []string{"train", "x-valid", "ori-test", "cost"} {
			cols = append(cols, colManifest{Key: Key{ds, "200", set, "accuracy", SeedMean}, Epochs: Epochs{199}})
			cols = append(cols, colManifest{Key: Key{ds, "12", set, "loss", 777}, Epochs: Epochs{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}})
			cols = append(cols, colManifest{Key: Key{ds, "", set, "flops", 111}})
		}
	}
	src := func(i int) Source {
		return Source{Path: fmt.Sprintf("../shared/data/src-%d.csv", i), Kind: "csv", SHA256: fmt.Sprintf("%064x", i*7919), Size: int64(1000 * i)}
	}
	return manifest{Version: SchemaVersion, Generation: 7, Benches: map[string]*benchManifest{
		NB201: {Archs: "nb201/archs-e3f853628036.arrow", NumArchs: 15625, Segments: []segManifest{
			{File: "nb201/seg-0001-e3f853628036.arrow", Source: src(1), Rows: 3, BatchRows: 512, RowList: Epochs{0, 11, 284}, Columns: cols},
			{File: "nb201/seg-0002-1fc89edb42c8.arrow", Source: src(2), Rows: 15625, BatchRows: 512, Dense: true, Columns: cols[:5]},
			{Source: src(3)},
		}},
		NB101:   {Segments: []segManifest{{Source: src(4), Rows: 30}}, Extra: map[string]string{"partial/0005-c476a4b38536": "nb101/nb101-0005-c476a4b38536.arrow"}},
		"empty": {Segments: []segManifest{}},
	}, Files: map[string]fileSum{"nb201/seg-0001-e3f853628036.arrow": {Size: 707610, SHA256: "ab12"}, "nb101/x.dir": {Size: -1}}}
}

// TestManifestDecode: what writeManifest writes takes the fast path and
// decodes exactly as encoding/json decodes it; what the fast path does not
// expect falls back to encoding/json, errors included.
func TestManifestDecode(t *testing.T) {
	b, err := json.Marshal(testManifest())
	if err != nil {
		t.Fatal(err)
	}
	indented, _ := json.MarshalIndent(testManifest(), "", "  ")
	for _, in := range [][]byte{b, indented, []byte(`{}`), []byte(`{"version":1,"benches":{}}`)} {
		fm, ok := decodeFast(in)
		if !ok {
			t.Fatalf("the fast path refused %.200s", in)
		}
		var want manifest
		if err := json.Unmarshal(in, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fm, want) {
			t.Fatalf("fast decode differs from encoding/json:\n%+v\n%+v", fm, want)
		}
	}
	for _, test := range []struct {
		in      string
		fast    bool // the fast path takes it
		wantErr bool
	}{
		{`{"version":1}`, true, false},
		{`{"version":1} x`, false, true},
		{`{"version":1.0}`, false, true},
		{`{"version":1e0}`, false, true},
		{`{"version":01}`, false, true},
		{`{"version":null}`, false, false},
		{`{"Version":2}`, false, false},                            // encoding/json matches keys case-insensitively
		{`{"version":1,"version":2}`, false, false},                // the last wins
		{`{"generation":3,"unknown":[1,{"a":"b"}]}`, false, false}, // ignored
		{`{"benches":{"nb201":{"archs":"a\u0062c"}}}`, false, false},
		{`{"benches":{"nb201":{"archs":"é"}}}`, false, false},
		{`{"benches":{"nb201":{"segments":[{"columns":"a b c d x 1"}]}}}`, false, true},
		{`{"benches":{"nb201":{"segments":[{"row_list":"1-"}]}}}`, false, true},
		{`{"benches":{"nb201":{"segments":[{"dense":tru}]}}}`, false, true},
		{`{"files":{"a":{"size":99999999999999999999}}}`, false, true},
		{`{"benches":`, false, true},
	} {
		_, ok := decodeFast([]byte(test.in))
		if ok != test.fast {
			t.Errorf("%s: fast path %v, want %v", test.in, ok, test.fast)
		}
		var got, want manifest
		err := decodeManifest([]byte(test.in), &got)
		werr := json.Unmarshal([]byte(test.in), &want)
		if (err != nil) != test.wantErr || (werr != nil) != test.wantErr {
			t.Errorf("%s: error %v (encoding/json: %v), want error %v", test.in, err, werr, test.wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, encoding/json %+v", test.in, got, want)
		}
	}
}

// FuzzManifestDecode: whatever the fast path accepts, encoding/json
// accepts and decodes to the same manifest.
func FuzzManifestDecode(f *testing.F) {
	b, _ := json.Marshal(testManifest())
	f.Add(b)
	f.Add(bytes.ReplaceAll(b, []byte(","), []byte(" ,\n")))
	f.Add([]byte(`{"version":1,"generation":0,"benches":{"x":{"segments":[{"file":"f","rows":-0,"dense":false}]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fm, ok := decodeFast(b)
		if !ok {
			return
		}
		var want manifest
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("the fast path accepted what encoding/json refuses (%v): %q", err, b)
		}
		if !reflect.DeepEqual(fm, want) {
			t.Fatalf("fast decode differs from encoding/json for %q:\n%+v\n%+v", b, fm, want)
		}
	})
}
