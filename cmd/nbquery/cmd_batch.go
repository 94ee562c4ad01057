package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb101"
)

// request is one batch request: an architecture (by index, arch string or
// NB101 hash) and, from a JSON object, its own dataset, hp, epoch or seed.
type request struct {
	raw   string // as given, echoed in an error line
	index int    // -1 when not given
	arch  string
	hash  string
	q     queryOptions
}

// batchObject is a JSON request object.
type batchObject struct {
	Index   *int            `json:"index"`
	Arch    string          `json:"arch"`
	Hash    string          `json:"hash"`
	Dataset string          `json:"dataset"`
	HP      json.RawMessage `json:"hp"` // 200 or "200"
	Epoch   *int            `json:"epoch"`
	Seed    json.RawMessage `json:"seed"` // "mean", "random", 777 or "777"
}

// parseRequest reads one request: a bare token (argument) or a JSON value
// (a line of standard input).
func parseRequest(s string, base queryOptions, isJSON bool) (request, error) {
	r := request{raw: s, index: -1, q: base}
	s = strings.TrimSpace(s)
	if isJSON && strings.HasPrefix(s, "{") {
		var o batchObject
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return r, usagef("request %s: %v (keys: index, arch, hash, dataset, hp, epoch, seed)", s, err)
		}
		if o.Index != nil {
			r.index = *o.Index
		}
		r.arch, r.hash = o.Arch, o.Hash
		if o.Dataset != "" {
			r.q.dataset = o.Dataset
		}
		if len(o.HP) > 0 {
			r.q.hp = strings.Trim(string(o.HP), `"`)
		}
		if o.Epoch != nil {
			r.q.epoch = *o.Epoch
		}
		if len(o.Seed) > 0 {
			r.q.seed = strings.Trim(string(o.Seed), `"`)
		}
		if n := btoi(r.index >= 0) + btoi(r.arch != "") + btoi(r.hash != ""); n != 1 {
			return r, usagef("request %s: give exactly one of index, arch or hash", s)
		}
		return r, nil
	}
	if isJSON && strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal([]byte(s), &s); err != nil {
			return r, usagef("request %s: %v", r.raw, err)
		}
	}
	switch {
	case s == "":
		return r, usagef("empty request")
	case strings.Trim(s, "0123456789") == "":
		n, err := strconv.Atoi(s)
		if err != nil {
			return r, usagef("request %q: %v", s, err)
		}
		r.index = n
	case len(s) == 32 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == "":
		r.hash = s
	default:
		r.arch = s
	}
	return r, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// runBatch answers many requests in one process: the store and table are
// opened once, each request is answered on its own line.
func runBatch(ctx context.Context, opts *globalOptions, base queryOptions, bench string, args []string) error {
	if err := index.CheckBench(bench); err != nil {
		return err
	}
	st, err := index.Open(opts.storeDir())
	if err != nil {
		return err
	}
	defer st.Close()
	var answer func(r request) (*jsonObject, error)
	rng := rand.New(rand.NewPCG(opts.randSeed, 0))
	if bench == index.NB101 {
		t, err := st.NB101Table()
		if err != nil {
			return err
		}
		answer = func(r request) (*jsonObject, error) {
			if r.hash == "" {
				return nil, usagef("request %s: nb101 takes module hashes (32 hex digits)", r.raw)
			}
			h, err := nb101.ParseHash(r.hash)
			if err != nil {
				return nil, usageError{err}
			}
			return nb101Answer(t, h, r.q.nb101, rng)
		}
	} else {
		b, err := st.Bench(bench)
		if err != nil {
			return err
		}
		policies := map[string]index.SeedPolicy{}
		answer = func(r request) (*jsonObject, error) {
			q := r.q
			switch {
			case q.dataset == "":
				return nil, usagef("request %s: no dataset (give --dataset or \"dataset\" in the request)", r.raw)
			case q.hp == "":
				return nil, usagef("request %s: no hp (give --hp or \"hp\" in the request)", r.raw)
			case q.epoch < -1:
				return nil, usagef("request %s: epoch %d: epochs are 0-based (-1: the last)", r.raw, q.epoch)
			case r.hash != "":
				return nil, usagef("request %s: a hash names an nb101 cell, not a %s architecture", r.raw, bench)
			}
			p, ok := policies[q.seed]
			if !ok {
				var err error
				if p, err = index.ParseSeedPolicy(q.seed, rng); err != nil {
					return nil, err
				}
				policies[q.seed] = p
			}
			row := r.index
			if r.arch != "" {
				var err error
				if row, err = b.Index(r.arch); err != nil {
					return nil, err
				}
			} else if row >= b.Len() {
				return nil, usagef("index %d outside [0, %d)", row, b.Len())
			}
			return tableAnswer(b, row, q, p)
		}
	}
	bw := newBufWriter(opts.stdout)
	defer bw.Flush()
	rw := newRowWriter(opts, bw)
	rw.jsonl = !opts.json // batch answers are lines unless --json asks for one array
	worst, failed, total := 0, 0, 0
	do := func(r request, perr error) error {
		total++
		o, err := (*jsonObject)(nil), perr
		if err == nil {
			o, err = answer(r)
		}
		if err != nil {
			code := exitCode(err)
			if code == exitCancelled {
				return err
			}
			failed++
			worst = max(worst, code)
			o = &jsonObject{}
			o.add("request", r.raw)
			o.add("error", userMessage(err))
			o.add("exit", code)
		}
		if total%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		return rw.object(o)
	}
	for _, a := range args {
		if a == "-" {
			if err := readRequests(opts.stdin, base, do); err != nil {
				return err
			}
			continue
		}
		r, err := parseRequest(a, base, false)
		if err := do(r, err); err != nil {
			return err
		}
	}
	if err := rw.close(); err != nil {
		return err
	}
	if failed > 0 {
		return codedError{code: worst, err: fmt.Errorf("%d of %d requests failed (each answered by an error line)", failed, total)}
	}
	return nil
}

// readRequests reads JSON Lines requests; blank lines are skipped.
func readRequests(in io.Reader, base queryOptions, do func(request, error) error) error {
	if in == nil {
		return usagef("no standard input to read requests from")
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		r, err := parseRequest(string(line), base, true)
		if err := do(r, err); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading requests from standard input: %w", err)
	}
	return nil
}

// codedError carries an exit code decided by the command itself (a batch
// whose requests failed).
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

// errSilent marks a failure already reported (by a child process).
var errSilent = errors.New("")
