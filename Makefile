# nbquery. Targets never touch the network beyond the Go module proxy.
GO        ?= go
PKG       ?= ./...
TESTS     ?= .
BENCH     ?= .
BENCHTIME ?= 1s
COUNT     ?= 3
FUZZTIME  ?= 10s
DATA      ?= $(or $(NBQUERY_DATA),../shared/data)
STORE     ?= out/store
OUT       ?= out/demo
TAGS      ?=
# The light build (bin/nbquery, the query path): without the heavy commands
# (nbquery_light), statically linked with the pure-Go resolver (netgo: cgo's
# dynamic loader costs every process about half a millisecond), with
# arrow-go's JSON on the standard library (arrow_json_stdlib: one package
# initialisation less). deps_test.go and the cmd/nbquery tests read this line.
LIGHT_TAGS ?= nbquery_light netgo arrow_json_stdlib

testflags :=

.PHONY: all
all:
	@echo "usage: make [build|test|testrace|bench|fuzz|demo|lint|golden|clean]"

.PHONY: build
build:
	# bin/nbquery is the light build (the query path); it runs bin/nbquery-full,
	# the full build, for ingest, train, experiment, predictors and space.
	$(GO) build -tags '$(LIGHT_TAGS) $(TAGS)' -ldflags "-X main.commit=$$(git rev-parse --short=12 HEAD 2>/dev/null)" -o bin/nbquery ./cmd/nbquery
	$(GO) build -tags '$(TAGS)' -ldflags "-X main.commit=$$(git rev-parse --short=12 HEAD 2>/dev/null)" -o bin/nbquery-full ./cmd/nbquery

.PHONY: test
test:
	$(GO) test -tags '$(TAGS)' -count=1 $(testflags) -run '$(TESTS)' $(PKG)

.PHONY: testrace
testrace: testflags += -race
testrace: test

.PHONY: bench
bench:
	$(GO) test -tags '$(TAGS)' -run='^$$' -bench='$(BENCH)' -benchtime=$(BENCHTIME) -count=$(COUNT) $(PKG)

# Short fuzzing of every parser (seed corpora live in each package's testdata/fuzz).
.PHONY: fuzz
fuzz:
	@set -e; for p in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$p 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$p $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$p; \
	  done; \
	done

# The main job on real data: ingest the shared NB201 tables and latencies into
# a fresh store, query them, and run the samples-to-optimum experiment with plots.
.PHONY: demo
demo: build
	rm -rf $(STORE) $(OUT)
	./bin/nbquery --store $(STORE) ingest nb201 \
	  $(DATA)/nats_fake_torch_dir/NATS-tss-v1_0-3ffb9-simple \
	  $(DATA)/nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv \
	  $(DATA)/nb201_minibench/nb201_hp12_accs.csv \
	  $(DATA)/nb201_help_latency
	./bin/nbquery --store $(STORE) info
	./bin/nbquery --store $(STORE) query nb201 --index 6111 --dataset cifar10-valid --hp 200
	./bin/nbquery --store $(STORE) top nb201 --dataset cifar10-valid --split valid --hp 200 -k 5
	./bin/nbquery --store $(STORE) stats nb201 --dataset cifar10-valid --split valid --hp 200
	./bin/nbquery --store $(STORE) experiment --bench nb201 --dataset cifar10-valid --target valid --report test \
	  --hp 200 --algos weaknas,random,re,ls,bananas --runs 100 --budget 1000 --seed 1 --out $(OUT)
	@echo "plots and tables in $(OUT)"

.PHONY: lint
lint:
	$(GO) vet $(PKG)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

.PHONY: golden
golden:
	$(GO) test ./cmd/... -update

.PHONY: clean
clean:
	rm -rf bin out
