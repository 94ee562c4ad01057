package nb101

import (
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
)

// Cell is one unique cell of the space with its hash.
type Cell struct {
	Hash Hash
	Spec Spec
}

// Enumeration strategy (hand-written: no library enumerates labelled DAGs
// up to this hash). generate_graphs.py walks, for V = 2..7 vertices, every
// upper-triangular bit pattern (edge x->y at bit y*(y-1)/2+x), keeps "full"
// DAGs (every vertex but the output has an out-edge and every vertex but the
// input an in-edge, i.e. nothing to prune) with <= 9 edges, tries every
// labelling of the inner vertices (itertools.product, last vertex fastest)
// and keeps the first (matrix, labelling) seen per module hash. Computing
// the MD5 hash ~10^8 times is too slow, so each candidate first gets a
// 64-bit invariant computed by the same Weisfeiler-Lehman refinement as
// hash_module (same initial labels, same V rounds, multisets combined by a
// commutative sum of mixed values): equal module hashes imply equal
// invariants, and distinct classes collide only with probability ~2^-64 per
// pair (the count and the final MD5 dedupe would expose it). The MD5 hash is
// then computed once per class, on the first candidate in the official
// enumeration order, which is the representative the benchmark stores.

// enumKey orders candidates like generate_graphs.py: vertices, bit
// pattern, labelling index.
func enumKey(n int, pattern uint32, lab uint32) uint64 {
	return uint64(n)<<40 | uint64(pattern)<<8 | uint64(lab)
}

func mix64(x uint64) uint64 { // splitmix64 finaliser
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// dag is a full DAG candidate: its bit pattern and neighbour lists.
type dag struct {
	pattern       uint32
	n             int
	adj           uint64
	in, out       [MaxVertices]uint8
	indeg, outdeg [MaxVertices]uint8
}

// fullDAGs lists the candidate matrices with n vertices in pattern order.
func fullDAGs(n int) []dag {
	nb := n * (n - 1) / 2
	var out []dag
	for p := uint32(0); p < 1<<uint(nb); p++ {
		if bits.OnesCount32(p) > MaxEdges {
			continue
		}
		var d dag
		d.pattern, d.n = p, n
		for y := 1; y < n; y++ {
			for x := 0; x < y; x++ {
				if p>>uint(y*(y-1)/2+x)&1 == 1 {
					d.adj |= 1 << uint(x*MaxVertices+y)
					d.out[x] |= 1 << uint(y)
					d.in[y] |= 1 << uint(x)
					d.outdeg[x]++
					d.indeg[y]++
				}
			}
		}
		full := true
		for v := 0; v < n && full; v++ {
			if (v < n-1 && d.out[v] == 0) || (v > 0 && d.in[v] == 0) {
				full = false
			}
		}
		if full {
			out = append(out, d)
		}
	}
	return out
}

// invariant is the 64-bit Weisfeiler-Lehman value of a labelled DAG.
func (d *dag) invariant(labels *[MaxVertices]int8) uint64 {
	n := d.n
	var h, nh, g [MaxVertices]uint64
	for v := 0; v < n; v++ {
		h[v] = mix64(uint64(d.outdeg[v])<<16 | uint64(d.indeg[v])<<8 | uint64(uint8(labels[v]+2)) ^ 0x9e3779b97f4a7c15)
	}
	for range n {
		for v := 0; v < n; v++ {
			g[v] = mix64(h[v] ^ 0x2545f4914f6cdd1d)
		}
		for v := 0; v < n; v++ {
			var a, b uint64
			for m := d.in[v]; m != 0; m &= m - 1 {
				a += g[bits.TrailingZeros8(m)]
			}
			for m := d.out[v]; m != 0; m &= m - 1 {
				b += g[bits.TrailingZeros8(m)]
			}
			nh[v] = mix64(a + mix64(b+mix64(h[v]^0x6a09e667f3bcc909)))
		}
		h = nh
	}
	var f uint64
	for v := 0; v < n; v++ {
		f += mix64(h[v] ^ 0xbb67ae8584caa73b)
	}
	return f + uint64(n)*0x3c6ef372fe94f82b
}

var pow3 = [...]uint32{1, 3, 9, 27, 81, 243}

// classes returns, for one vertex count, invariant -> first enumeration key,
// scanning the candidates with index = worker mod workers.
func classes(ctx context.Context, dags []dag, worker, workers int, into map[uint64]uint64) error {
	for i := worker; i < len(dags); i += workers {
		if i%4096 == worker && ctx.Err() != nil {
			return ctx.Err()
		}
		d := &dags[i]
		inner := d.n - 2
		var labels [MaxVertices]int8
		labels[0], labels[d.n-1] = -1, -2
		for lab := uint32(0); lab < pow3[inner]; lab++ {
			x := lab
			for k := inner; k >= 1; k-- { // vertex 1 is the most significant digit
				labels[k] = int8(x % 3)
				x /= 3
			}
			inv := d.invariant(&labels)
			key := enumKey(d.n, d.pattern, lab)
			if old, ok := into[inv]; !ok || key < old {
				into[inv] = key
			}
		}
	}
	return nil
}

// specFromKey rebuilds the candidate of an enumeration key.
func specFromKey(key uint64) Spec {
	n := int(key >> 40)
	p := uint32(key >> 8)
	lab := uint32(key & 0xff)
	var s Spec
	s.N = uint8(n)
	for y := 1; y < n; y++ {
		for x := 0; x < y; x++ {
			if p>>uint(y*(y-1)/2+x)&1 == 1 {
				s.Adj |= 1 << uint(x*MaxVertices+y)
			}
		}
	}
	s.Ops[0], s.Ops[n-1] = Input, Output
	for k := n - 2; k >= 1; k-- {
		s.Ops[k] = Op(lab % 3)
		lab /= 3
	}
	return s
}

// Enumerate computes every unique cell of the space and calls fn for each,
// in ascending hash order. Each cell's Spec is the representative
// generate_graphs.py keeps (the first of its class in the official
// enumeration order). It uses up to 2 goroutines (GOMAXPROCS permitting) and
// stops early with fn's error or ctx's.
func Enumerate(ctx context.Context, fn func(Cell) error) error {
	cells, err := enumerate(ctx)
	if err != nil {
		return err
	}
	for _, c := range cells {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func enumerate(ctx context.Context) ([]Cell, error) {
	return enumerateUpTo(ctx, MaxVertices)
}

func enumerateUpTo(ctx context.Context, maxV int) ([]Cell, error) {
	workers := min(2, runtime.GOMAXPROCS(0))
	var keys []uint64
	for n := 2; n <= maxV; n++ {
		dags := fullDAGs(n)
		maps := make([]map[uint64]uint64, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			maps[w] = make(map[uint64]uint64)
			wg.Go(func() { errs[w] = classes(ctx, dags, w, workers, maps[w]) })
		}
		wg.Wait()
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("nb101: enumerate: %w", e)
			}
		}
		merged := maps[0]
		for _, m := range maps[1:] {
			for inv, k := range m {
				if old, ok := merged[inv]; !ok || k < old {
					merged[inv] = k
				}
			}
		}
		for _, k := range merged {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	cells := make([]Cell, len(keys))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(keys); i += workers {
				s := specFromKey(keys[i])
				cells[i] = Cell{Hash: s.Hash(), Spec: s}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nb101: enumerate: %w", err)
	}
	// Sort by hash; should two invariant classes share a module hash, keep
	// the earlier representative (keys were sorted, so a stable sort keeps
	// enumeration order within equal hashes).
	slices.SortStableFunc(cells, func(a, b Cell) int { return a.Hash.Compare(b.Hash) })
	cells = slices.CompactFunc(cells, func(a, b Cell) bool { return a.Hash == b.Hash })
	return cells, nil
}

var (
	allOnce  sync.Once
	allCells []Cell
	allErr   error
)

// All returns every unique cell sorted by hash (see Enumerate). The first
// call enumerates the space and caches the result for the process; every call
// returns a fresh copy owned by the caller.
func All() ([]Cell, error) {
	allOnce.Do(func() { allCells, allErr = enumerate(context.Background()) })
	if allErr != nil {
		return nil, allErr
	}
	return slices.Clone(allCells), nil
}

// Lookup returns the enumerated representative of a hash (enumerating the
// space on first use, as All does).
func Lookup(h Hash) (Spec, bool) {
	allOnce.Do(func() { allCells, allErr = enumerate(context.Background()) })
	i, ok := slices.BinarySearchFunc(allCells, h, func(c Cell, h Hash) int { return c.Hash.Compare(h) })
	if !ok {
		return Spec{}, false
	}
	return allCells[i].Spec, true
}
