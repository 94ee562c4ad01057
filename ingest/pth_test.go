package ingest

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb201"
)

// synthAcc is the synthetic accuracy of (arch, dataset, seed, set, epoch).
func synthAcc(arch, ds, seed int, set string, e int) float64 {
	return float64(arch) + float64(ds)/10 + float64(seed)/1e4 + float64(len(set))/1e6 + float64(e)*1e-3 + 1.0/3
}

func synthParams(arch int) float64 { return 0.1 + float64(arch)/1000 }

// synthResults builds a ResultsCount state dict as NB201 stores it.
func synthResults(arch int, dsName string, ds, seed, epochs int, sets []string, onlyLast map[string]bool) pdict {
	train := func(f func(e int) float64) pdict {
		var d pdict
		for e := range epochs {
			d = append(d, pkv{e, f(e)})
		}
		return d
	}
	var accs, losses, times pdict
	for _, s := range sets {
		for e := range epochs {
			k := fmt.Sprintf("%s@%d", s, e)
			times = append(times, pkv{k, 0.1 * float64(e+1)})
			if onlyLast[s] && e != epochs-1 {
				continue
			}
			accs = append(accs, pkv{k, synthAcc(arch, ds, seed, s, e)})
			losses = append(losses, pkv{k, 1 / float64(e+1)})
		}
	}
	eval := plist{}
	for _, s := range sets {
		eval = append(eval, s)
	}
	return pdict{
		{"name", dsName}, {"net_state_dict", nil},
		{"train_acc1es", train(func(e int) float64 { return synthAcc(arch, ds, seed, "train", e) })},
		{"train_acc5es", nil},
		{"train_losses", train(func(e int) float64 { return 2 / float64(e+1) })},
		{"train_times", train(func(e int) float64 { return 10 + 0.1*float64(e) })},
		{"arch_config", pdict{{"channel", 16}, {"num_cells", 5}}},
		{"params", npf64(synthParams(arch))}, {"flop", 15.5 + float64(arch)},
		{"seed", seed}, {"epochs", epochs},
		{"latency", plist{npf64(0.01), npf64(0.02)}},
		{"eval_names", eval}, {"eval_acc1es", accs}, {"eval_losses", losses}, {"eval_times", times},
	}
}

// synthNB201 builds the NAS-Bench-201 .pth top-level dict with archs
// recorded: 'less' (hp 12) has cifar10-valid seed 777; 'full' (hp 200) has
// cifar10-valid and cifar100 with 1-3 seeds per arch.
func synthNB201(archs []int) (pdict, []string) {
	names := make([]string, nb201.NumCells)
	meta := make(plist, nb201.NumCells)
	for i := range names {
		names[i] = nb201.FromCode(i).String()
		meta[i] = names[i]
	}
	var infos pdict
	var evaluated []any
	for n, a := range archs {
		state := func(hp string, epochs int, dss []string, seeds []int) pdict {
			var all pdict
			var dsSeed pdict
			for di, ds := range dss {
				sl := plist{}
				for _, s := range seeds {
					sets := []string{"x-valid", "ori-test"}
					only := map[string]bool{"ori-test": epochs == 200}
					if ds == "cifar100" {
						sets = []string{"ori-test", "x-valid", "x-test"}
						only = map[string]bool{"x-valid": epochs == 200, "x-test": epochs == 200}
					}
					all = append(all, pkv{ptuple{ds, s}, synthResults(a, ds, di, s, epochs, sets, only)})
					sl = append(sl, s)
				}
				dsSeed = append(dsSeed, pkv{ds, sl})
			}
			return pdict{{"arch_index", a}, {"arch_str", names[a]}, {"all_results", all},
				{"dataset_seed", dsSeed}, {"clear_net_done", true}}
		}
		seeds := []int{777, 888, 999}[:1+n%3]
		infos = append(infos, pkv{a, pdict{
			{"less", state("12", 12, []string{"cifar10-valid"}, []int{777})},
			{"full", state("200", 200, []string{"cifar10-valid", "cifar100"}, seeds)},
		}})
		evaluated = append(evaluated, a)
	}
	return pdict{{"meta_archs", meta}, {"arch2infos", infos}, {"evaluated_indexes", pset(evaluated)}}, names
}

func TestNB201Pth(t *testing.T) {
	archs := []int{5, 0, 15624} // unsorted on purpose
	obj, names := synthNB201(archs)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"legacy", legacyTorch(obj)},
		{"zip", zipTorch(obj)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "NAS-Bench-201-"+tc.name+".pth")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			g, res := runRec(t, index.NB201, p, Options{}, nil)
			if res.Source.Kind != KindNB201Pth || res.Rows != 3 {
				t.Fatalf("result %+v", res)
			}
			if len(g.archs) != nb201.NumCells || g.archs[15624] != names[15624] {
				t.Fatal("arch list")
			}
			if rows := g.rows(); rows[0] != 0 || rows[1] != 5 || rows[2] != 15624 {
				t.Fatalf("rows %v", rows)
			}
			// arch 0 (n=1) has seeds 777, 888; arch 5 (n=0) only 777.
			for _, c := range []struct {
				name  string
				row   int
				k     index.Key
				epoch int
				want  float64
				ok    bool
			}{
				{"x-valid@199", 0, key("cifar10-valid", "200", "x-valid", "accuracy", 888), 199, synthAcc(0, 0, 888, "x-valid", 199), true},
				{"x-valid@3", 5, key("cifar10-valid", "200", "x-valid", "accuracy", 777), 3, synthAcc(5, 0, 777, "x-valid", 3), true},
				{"absent seed reads NaN", 5, key("cifar10-valid", "200", "x-valid", "accuracy", 888), 199, 0, false},
				{"ori-test only @199", 0, key("cifar10-valid", "200", "ori-test", "accuracy", 777), 100, 0, false},
				{"cifar100 x-test@199", 15624, key("cifar100", "200", "x-test", "accuracy", 999), 199, synthAcc(15624, 1, 999, "x-test", 199), true},
				{"less = hp 12", 0, key("cifar10-valid", "12", "train", "accuracy", 777), 11, synthAcc(0, 0, 777, "train", 11), true},
				{"train all-time", 0, key("cifar10-valid", "12", "train", "all-time", 777), 2, 10 + 10.1 + 10.2, true},
				{"eval time", 0, key("cifar100", "200", "x-valid", "time", 777), 4, 0.5, true},
				{"params (numpy scalar)", 5, key("cifar100", "200", "cost", "params", 777), -1, synthParams(5), true},
				{"flops", 5, key("cifar100", "200", "cost", "flops", 777), -1, 20.5, true},
				{"latency mean", 5, key("cifar100", "200", "cost", "latency", 777), -1, (0.01 + 0.02) / 2, true},
			} {
				got, ok := g.value(c.row, c.k, c.epoch)
				if ok != c.ok || (ok && got != c.want) {
					t.Errorf("%s: %s@%d = %v %v, want %v %v", c.name, c.k, c.epoch, got, ok, c.want, c.ok)
				}
			}
			// all-time is summed left to right from 0, exactly like Python's sum().
			want := 0.0
			for e := range 200 {
				want += 0.1 * float64(e+1)
			}
			if got, _ := g.value(0, key("cifar100", "200", "x-test", "all-time", 777), 199); got != want || math.IsNaN(got) {
				t.Errorf("x-test all-time@199 = %v, want %v", got, want)
			}
		})
	}
}

func TestDatasetSeedOrder(t *testing.T) {
	obj, _ := synthNB201([]int{2})
	// Reverse the seed list of the only arch.
	infos := obj[1].v.(pdict)
	full := infos[0].v.(pdict)[1].v.(pdict)
	dsSeed := full[3].v.(pdict)
	dsSeed[0].v = plist{999, 888, 777}
	p := filepath.Join(t.TempDir(), "x.pth")
	os.WriteFile(p, legacyTorch(obj), 0o644)
	_, err := ingest(t.Context(), &recStore{}, index.NB201, p, Options{})
	if err == nil || !strings.Contains(err.Error(), "not in ascending order") || !strings.Contains(err.Error(), "arch2infos[2]") {
		t.Fatalf("err = %v", err)
	}
}

// TestNATSSingleFile ingests a synthetic fast_mode=False NATS file: one
// bzip2-compressed pickle with meta_archs and arch2infos {idx: OrderedDict
// {hp: ArchResults-state}}.
func TestNATSSingleFile(t *testing.T) {
	obj, names := synthNB201([]int{7, 3})
	infos := obj[1].v.(pdict)
	var od pdict
	for _, kv := range infos {
		hps := kv.v.(pdict)
		od = append(od, pkv{kv.k, podict{{"12", hps[0].v}, {"200", hps[1].v}}})
	}
	obj[1].v = od
	p := filepath.Join(t.TempDir(), "NATS-tss-v1_0-3ffb9.pickle.pbz2")
	if err := os.WriteFile(p, bzip2Encode(newPickle(obj)), 0o644); err != nil {
		t.Fatal(err)
	}
	g, res := runRec(t, index.NB201, p, Options{}, nil)
	if res.Source.Kind != KindNATSFile || res.Rows != 2 || g.archs[7] != names[7] {
		t.Fatalf("result %+v", res)
	}
	if v, ok := g.value(7, key("cifar100", "200", "x-valid", "accuracy", 777), 199); !ok || v != synthAcc(7, 1, 777, "x-valid", 199) {
		t.Fatalf("value %v %v", v, ok)
	}
	t.Run("one arch file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "000007.pickle.pbz2")
		os.WriteFile(p, bzip2Encode(newPickle(od[0].v)), 0o644)
		g, res := runRec(t, index.NB201, p, Options{}, nil)
		if res.Rows != 1 || g.rows()[0] != 7 || g.archs != nil {
			t.Fatalf("result %+v rows %v", res, g.rows())
		}
	})
}
