package nbquery

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
)

const module = "github.com/nbquery/nbquery"

// allowed lists, for each package of the module, the module packages it may
// import (directly or not): cmd -> {experiment, weaknas, search, executor -> train} ->
// predictors -> index <- ingest, with space/* shared by all; server and
// export sit beside experiment, over index.
var allowed = map[string][]string{
	"space":              {},
	"space/nb201":        {},
	"space/nb101":        {},
	"space/sss":          {},
	"space/mbv2":         {},
	"space/darts":        {},
	"internal/shared":    {},
	"internal/suggest":   {},
	"internal/openblas":  {},
	"internal/arrowfile": {},
	"internal/nb201test": {"internal/shared", "space/..."},
	"index":              {"space/...", "internal/suggest", "internal/arrowfile"},
	"catalog":            {"index", "space/...", "internal/suggest"},
	"ingest":             {"index", "space/...", "ingest/..."},
	"ingest/tfrecord":    {"index", "space/..."},
	"predictors":         {"index", "space/...", "internal/openblas"},
	"search":             {"predictors", "index", "space/...", "internal/openblas"},
	"search/searchtest":  {"search", "internal/...", "predictors", "index", "space/..."},
	"weaknas":            {"search", "predictors", "index", "space/...", "internal/openblas"},
	"experiment":         {"weaknas", "search", "predictors", "index", "space/...", "internal/openblas"},
	"train":              {"predictors", "index", "space/...", "train/...", "internal/openblas"},
	"export":             {"index", "space/..."},
	"server":             {"index", "space/..."},
	"executor":           {"train", "train/...", "predictors", "index", "space/..."},
	"cmd/nbquery":        {"..."},
}

// exclusive lists third-party packages only the named packages may import
// (arrow-go: the two packages that write Arrow and Parquet for others; the
// store's own files go through internal/arrowfile, whose tests check it
// against arrow-go; Badger: the catalogue, which the query path does not
// link).
var exclusive = map[string][]string{
	"github.com/apache/arrow-go/v18": {"export", "server"},
	"github.com/dgraph-io/badger/v4": {"catalog"},
	"gorgonia.org/gorgonia":          {"train"},
	"github.com/spf13/cobra":         {"cmd/nbquery"},
}

func matches(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if p, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == p || strings.HasPrefix(pkg, p+"/")
	}
	return pkg == pattern
}

// TestDependencyOrder fails when a package imports against the one-way order.
func TestDependencyOrder(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if rel == "" {
			continue
		}
		seen++
		rules, ok := findRules(rel)
		if !ok {
			t.Errorf("package %s has no entry in the dependency table of deps_test.go", rel)
			continue
		}
		for _, imp := range p.Imports {
			if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				if r == rel || isSub(rel, r) {
					continue
				}
				if !anyMatch(rules, r) {
					t.Errorf("%s imports %s: not allowed by the one-way dependency order", rel, r)
				}
			}
		}
		for _, d := range p.Deps {
			for lib, owners := range exclusive {
				owned := false
				for _, o := range owners {
					owned = owned || matches(o+"/...", rel)
				}
				if (d == lib || strings.HasPrefix(d, lib+"/")) && !owned && !strings.HasPrefix(rel, "cmd/") {
					// cmd reaches these only through their owners.
					if contains(p.Imports, d) {
						t.Errorf("%s imports %s, which only %s may import", rel, d, strings.Join(owners, ", "))
					}
				}
			}
		}
	}
	if seen < 5 {
		t.Fatalf("only %d packages listed", seen)
	}
}

func findRules(rel string) ([]string, bool) {
	best, found := "", false
	for k := range allowed {
		if (rel == k || strings.HasPrefix(rel, k+"/")) && len(k) >= len(best) {
			best, found = k, true
		}
	}
	return allowed[best], found
}

func isSub(parent, child string) bool { return strings.HasPrefix(child, parent+"/") }

func anyMatch(patterns []string, pkg string) bool {
	for _, p := range patterns {
		if matches(p, pkg) {
			return true
		}
	}
	return false
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// TestNoMathRandV1 keeps randomness seeded: math/rand v1 has a global source.
func TestNoMathRandV1(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports,XTestImports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		for _, l := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			if contains(l, "math/rand") {
				t.Errorf("%s imports math/rand (v1); use a seeded math/rand/v2 source", p.ImportPath)
			}
		}
	}
}

// TestLightBuildDeps keeps the query path's binary (go build -tags
// nbquery_light ./cmd/nbquery, installed as bin/nbquery) free of the
// libraries whose linking and initialisation every query would pay: the
// trainer, plotting, predictors and ingest parsers, the catalogue (Badger
// with its protobuf, compression and telemetry packages), the HTTP
// server, cgo (a dynamically linked binary pays the loader on every run)
// and arrow-go with its compression and CPU-detection packages (their
// initialisation cost ~0.6 ms a run and they were half the binary: the
// store's files are read by internal/arrowfile).
func TestLightBuildDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", shared.LightTags(t), "-deps", "./cmd/nbquery").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !contains(deps, module+"/index") {
		t.Fatalf("light build lacks index: %v", deps)
	}
	for _, d := range deps {
		for _, banned := range []string{"gorgonia.org/", "gonum.org/v1/plot", "github.com/awalterschulze/gographviz",
			module + "/train", module + "/experiment", module + "/predictors", module + "/ingest", module + "/search", module + "/weaknas",
			"github.com/dgraph-io/badger", "google.golang.org/protobuf", "go.opentelemetry.io/", module + "/catalog", module + "/server", "net/http",
			"runtime/cgo", "github.com/goccy/go-json", "github.com/apache/arrow-go", "github.com/klauspost/"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("the light build links %s: give the cmd/nbquery file that imports it //go:build !nbquery_light and a stub in lab_light.go", d)
			}
		}
	}
}

// TestReadersDoNotLinkCatalog: the store's readers (index, and server,
// behind nbquery serve, which must never open the catalogue) do not link
// Badger at all.
func TestReadersDoNotLinkCatalog(t *testing.T) {
	for _, pkg := range []string{"./index", "./server", "./export"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, d := range strings.Fields(string(out)) {
			if strings.HasPrefix(d, "github.com/dgraph-io/badger") || d == module+"/catalog" {
				t.Errorf("%s links %s", pkg, d)
			}
		}
	}
}
