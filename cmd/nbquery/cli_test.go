package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
)

// nbq runs the CLI in-process and returns stdout, stderr and the exit code.
func nbq(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

var (
	nb201Once  sync.Once
	nb201Store string
)

// nb201StoreDir ingests the shared NB201 data once into a store shared by
// the tests of this package (read-only after that).
func nb201StoreDir(t testing.TB) string {
	t.Helper()
	nb201Once.Do(func() {
		dir, err := os.MkdirTemp("", "nbquery-cli-test-")
		if err != nil {
			t.Fatal(err)
		}
		nb201Store = filepath.Join(dir, "store")
		args := []string{"--store", nb201Store, "-q", "ingest", "nb201",
			shared.Path(t, "nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple"),
			shared.Path(t, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv"),
			shared.Path(t, "nb201_minibench/nb201_hp12_accs.csv"),
			shared.Path(t, "nb201_help_latency"),
		}
		if _, stderr, code := nbq(t, args...); code != 0 {
			t.Fatalf("ingest failed (%d): %s", code, stderr)
		}
		// 30 real NB101 models with all three repeats at 108 epochs.
		if _, stderr, code := nbq(t, "--store", nb201Store, "-q", "ingest", "nb101", shared.Path(t, "nb101_naslib_dummy/nb101_dummy.json")); code != 0 {
			t.Fatalf("nb101 ingest failed (%d): %s", code, stderr)
		}
	})
	if nb201Store == "" {
		t.Fatal("shared store setup failed earlier")
	}
	return nb201Store
}

func TestMain(m *testing.M) {
	// A child process of a test (crash and concurrency tests) runs the CLI.
	if args := os.Getenv("NBQUERY_TEST_CLI"); args != "" {
		os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	if os.Getenv(asCLIEnv) != "" {
		// This test binary stands in for nbquery (a coordinator process, or
		// a Slurm task started by one).
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	if nb201Store != "" {
		os.RemoveAll(filepath.Dir(nb201Store))
	}
	os.Exit(code)
}

func queryJSON(t *testing.T, store string, args ...string) map[string]any {
	t.Helper()
	out, stderr, code := nbq(t, append([]string{"--store", store, "--json", "query", "nb201"}, args...)...)
	if code != 0 {
		t.Fatalf("query %v: exit %d: %s", args, code, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("query %v: %v: %s", args, err, out)
	}
	return m
}

// TestGoldenArchs checks every split, hp, seed and cost of architectures 0,
// 11 and 284 against nb201_golden_arch_0_11_284.json (derived from the
// official NATS-Bench slices).
func TestGoldenArchs(t *testing.T) {
	store := nb201StoreDir(t)
	raw, err := os.ReadFile(shared.Path(t, "nb201_golden_arch_0_11_284.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden map[string]struct {
		HP12, HP200 map[string]float64
		Cost        struct {
			Params  float64   `json:"params_MB"`
			FLOPs   float64   `json:"flop_M"`
			Latency []float64 `json:"latency_s"`
		} `json:"cost_cifar10_seed777"`
		Arch       string           `json:"arch_str"`
		SeedsHP200 map[string][]int `json:"seeds_hp200"`
		SeedsHP12  map[string][]int `json:"seeds_hp12"`
	}
	if err := json.Unmarshal(bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte(`"hp12"`), []byte(`"HP12"`)), []byte(`"hp200"`), []byte(`"HP200"`)), &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden) != 3 {
		t.Fatalf("golden has %d archs", len(golden))
	}
	// "<dataset>_<set>" -> the get_more_info key of that set.
	key := func(ds, set string) string {
		switch {
		case set == "x-valid":
			return "valid-accuracy"
		case set == "ori-test" && (ds == "cifar100" || ds == "ImageNet16-120"):
			return "valtest-accuracy"
		}
		return "test-accuracy"
	}
	for idx, g := range golden {
		for hp, vals := range map[string]map[string]float64{"12": g.HP12, "200": g.HP200} {
			for name, want := range vals {
				ds, set, _ := strings.Cut(name, "_")
				t.Run(idx+"/"+hp+"/"+name, func(t *testing.T) {
					m := queryJSON(t, store, "--index", idx, "--dataset", ds, "--hp", hp)
					if m["arch"] != g.Arch {
						t.Errorf("arch = %v, want %s", m["arch"], g.Arch)
					}
					if got := m[key(ds, set)]; got != want {
						t.Errorf("%s = %v, want %v", key(ds, set), got, want)
					}
				})
			}
		}
		m := queryJSON(t, store, "--index", idx, "--dataset", "cifar10", "--hp", "200", "--seed", "777")
		if m["params"] != g.Cost.Params || m["flops"] != g.Cost.FLOPs || m["latency"] != g.Cost.Latency[0] {
			t.Errorf("%s costs = %v %v %v, want %+v", idx, m["params"], m["flops"], m["latency"], g.Cost)
		}
		// Every recorded seed answers, and an unrecorded one is refused.
		for hp, seeds := range map[string]map[string][]int{"200": g.SeedsHP200, "12": g.SeedsHP12} {
			for ds, ss := range seeds {
				for _, s := range ss {
					queryJSON(t, store, "--index", idx, "--dataset", ds, "--hp", hp, "--seed", strconv.Itoa(s))
				}
				if _, _, code := nbq(t, "--store", store, "query", "nb201", "--index", idx, "--dataset", ds, "--hp", hp, "--seed", "4242"); code != exitNotFound {
					t.Errorf("seed 4242 exit = %d, want %d", code, exitNotFound)
				}
			}
		}
	}
}

// TestSingleSeeds checks per-seed values from FACTS.md.
func TestSingleSeeds(t *testing.T) {
	store := nb201StoreDir(t)
	for seed, want := range map[string]float64{"777": 82.09199998291015, "888": 81.61599997314453, "999": 82.24000001464844} {
		m := queryJSON(t, store, "--index", "0", "--dataset", "cifar10-valid", "--hp", "200", "--seed", seed)
		if m["valid-accuracy"] != want {
			t.Errorf("seed %s valid-accuracy = %v, want %v", seed, m["valid-accuracy"], want)
		}
	}
	m := queryJSON(t, store, "--index", "0", "--dataset", "cifar10", "--hp", "200", "--seed", "777")
	if m["test-accuracy"] != 85.62 {
		t.Errorf("cifar10/777 ori-test = %v, want 85.62", m["test-accuracy"])
	}
}

func TestAcceptanceNB201(t *testing.T) {
	store := nb201StoreDir(t)
	m := queryJSON(t, store, "--index", "6111", "--dataset", "cifar10-valid", "--hp", "200")
	if m["valid-accuracy"] != 91.60666665 || m["test-accuracy"] != 91.09 {
		t.Errorf("6111: valid %v test %v", m["valid-accuracy"], m["test-accuracy"])
	}
	arch := "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
	if m := queryJSON(t, store, "--arch", arch, "--dataset", "cifar10-valid", "--hp", "200"); m["index"] != 6111.0 {
		t.Errorf("--arch index = %v", m["index"])
	}
	for _, test := range []struct {
		name string
		args []string
		want string
	}{
		{"top1 valid", []string{"top", "nb201", "--dataset", "cifar10-valid", "--split", "valid", "--hp", "200", "-k", "1"}, `"index": 6111, "value": 91.60666665`},
		{"hp12 cifar10 test optimum", []string{"top", "nb201", "--dataset", "cifar10", "--split", "test", "--hp", "12", "-k", "1"}, `"index": 5374, "value": 89.16`},
		{"space mean", []string{"stats", "nb201", "--dataset", "cifar10-valid", "--split", "valid", "--hp", "200"}, `"count": 15625`},
		{"pixel3", []string{"query", "nb201", "--index", "0", "--dataset", "cifar10", "--hp", "200", "--devices"}, `"latency:pixel3": 3.6058499999999998,`}, // 3.60585 ms; the .pt holds this float, as HW-NAS-Bench prints it
		{"raspi4", []string{"query", "nb201", "--index", "0", "--dataset", "cifar10", "--hp", "200", "--devices"}, `"latency:raspi4": 10.481976820010459,`},
		{"fastest on pixel3", []string{"top", "nb201", "--metric", "hw:pixel3", "-k", "1"}, `"rank": 1, "index": 7001, "value": 0.00327686`},
	} {
		t.Run(test.name, func(t *testing.T) {
			out, stderr, code := nbq(t, append([]string{"--store", store, "--json"}, test.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(out, test.want) {
				t.Errorf("output lacks %q:\n%.400s", test.want, out)
			}
		})
	}
	out, _, _ := nbq(t, "--store", store, "--json", "stats", "nb201", "--dataset", "cifar10-valid", "--split", "valid", "--hp", "200")
	var s map[string]any
	json.Unmarshal([]byte(out), &s)
	if mean := s["mean"].(float64); strconv.FormatFloat(mean, 'f', 4, 64) != "83.6869" {
		t.Errorf("space mean = %v, want 83.6869", mean)
	}
}

func TestExitCodes(t *testing.T) {
	store := nb201StoreDir(t)
	for _, test := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no hp", []string{"query", "nb201", "--index", "1", "--dataset", "cifar10"}, exitUsage, "--hp is required"},
		{"both arch and index", []string{"query", "nb201", "--index", "1", "--arch", "x", "--dataset", "cifar10", "--hp", "200"}, exitUsage, "exactly one"},
		{"bad arch", []string{"query", "nb201", "--arch", "|conv~0|", "--dataset", "cifar10", "--hp", "200"}, exitUsage, "want 3 node groups"},
		{"bad op", []string{"query", "nb201", "--arch", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--dataset", "cifar10", "--hp", "200"}, exitUsage, `unknown op "conv"`},
		{"index out of range", []string{"query", "nb201", "--index", "15625", "--dataset", "cifar10", "--hp", "200"}, exitUsage, "outside [0, 15625)"},
		{"unknown dataset", []string{"query", "nb201", "--index", "1", "--dataset", "mnist", "--hp", "200"}, exitUsage, "valid: cifar10-valid, cifar10, cifar100, ImageNet16-120"},
		{"dataset cifar-10", []string{"query", "nb201", "--index", "1", "--dataset", "cifar-10", "--hp", "200"}, exitUsage, `(did you mean "cifar10"?); valid: cifar10-valid,`},
		{"dataset CIFAR10", []string{"top", "nb201", "--dataset", "CIFAR10", "--hp", "200"}, exitUsage, `(did you mean "cifar10"?)`},
		{"dataset imagenet16-120", []string{"stats", "nb201", "--dataset", "imagenet16-120", "--hp", "200"}, exitUsage, `(did you mean "ImageNet16-120"?)`},
		{"unknown split", []string{"top", "nb201", "--dataset", "cifar10", "--hp", "200", "--split", "tset"}, exitUsage, `(did you mean "test"?); valid: train, valid, test, valtest, x-valid, x-test, ori-test`},
		{"no valtest", []string{"top", "nb201", "--dataset", "cifar10-valid", "--hp", "200", "--split", "valtest"}, exitUsage, "cifar10-valid has no valtest split"},
		{"unknown metric", []string{"top", "nb201", "--dataset", "cifar10", "--hp", "200", "--metric", "acc"}, exitUsage, `(did you mean "accuracy"?); valid: accuracy, loss,`},
		{"negative epoch", []string{"query", "nb201", "--index", "1", "--dataset", "cifar10-valid", "--hp", "200", "--epoch", "-2"}, exitUsage, "0-based"},
		{"epoch past schedule", []string{"top", "nb201", "--dataset", "cifar10-valid", "--hp", "200", "--epoch", "200"}, exitUsage, "epoch 200 outside [0, 199]"},
		{"bad hp", []string{"top", "nb201", "--dataset", "cifar10-valid", "--hp", "x"}, exitUsage, `unknown hp "x"`},
		{"bad seed policy", []string{"top", "nb201", "--dataset", "cifar10-valid", "--hp", "200", "--seed", "meen"}, exitUsage, "valid: mean, random"},
		{"unrecorded epoch", []string{"query", "nb201", "--index", "1", "--dataset", "cifar10-valid", "--hp", "200", "--epoch", "5"}, exitNotFound, "not recorded"},
		{"mean names mean", []string{"top", "nb201", "--dataset", "cifar10-valid", "--hp", "200", "--split", "x-test"}, exitNotFound, "seed mean) is not in the store; stored sets"},
		{"unknown device", []string{"top", "nb201", "--metric", "hw:tpu"}, exitNotFound, "device"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"unknown bench", []string{"top", "nb-201", "--dataset", "cifar10", "--hp", "200"}, exitUsage, `unknown benchmark "nb-201" (did you mean "nb201"?); valid: nb201, nats-sss, nb101`},
		{"bad hash", []string{"query", "nb101", "--hash", "xyz"}, exitUsage, "hash"},
		{"bad nb101 epochs", []string{"query", "nb101", "--hash", "02e5a0247bbdcf2860b7e96f74961594", "--epochs", "100"}, exitUsage, "4, 12, 36, 108"},
		{"no store", []string{"--store", "/nonexistent/nbquery-store", "info"}, exitNotFound, "no store at /nonexistent/nbquery-store"},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, stderr, code := nbq(t, append([]string{"--store", store}, test.args...)...)
			if code != test.code {
				t.Errorf("exit = %d, want %d (%s)", code, test.code, stderr)
			}
			if !strings.Contains(stderr, test.msg) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("stderr = %q, want one line containing %q", stderr, test.msg)
			}
			if m := pkgPrefix().FindString(strings.TrimPrefix(stderr, "nbquery: ")); m != "" {
				t.Errorf("stderr = %q leaks a package prefix %q", stderr, m)
			}
		})
	}
}
