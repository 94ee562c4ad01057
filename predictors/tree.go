package predictors

// Histogram-based regression trees shared by GBDT and RandomForest.
//
// Hand-written: Go has no well-kept gradient-boosting or random-forest
// library (the cgo bindings to XGBoost / LightGBM are unmaintained and need
// native builds), and the core here is small: quantile binning into at most
// 256 bins per feature, level-wise growth with one histogram pass over the
// rows per level, and the second-order split gain
// G_L^2/(H_L+lambda) + G_R^2/(H_R+lambda) - G^2/(H+lambda).

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// binner maps features to uint8 bins: bin b of feature f holds the values
// x with thr[f][b-1] < x <= thr[f][b].
type binner struct {
	thr [][]float64
	off []int // first histogram slot of each feature
	tot int   // total bins
}

// fit computes thresholds from the n x d training matrix data (row stride s).
func (b *binner) fit(data []float64, n, d, s, maxBins int, col []float64) []float64 {
	if cap(b.thr) < d {
		b.thr = make([][]float64, d)
	}
	b.thr = b.thr[:d]
	b.off = append(b.off[:0], make([]int, d)...)
	col = grow(col, n)
	b.tot = 0
	for f := 0; f < d; f++ {
		for i := 0; i < n; i++ {
			col[i] = data[i*s+f]
		}
		slices.Sort(col)
		t := b.thr[f][:0]
		u := 1
		for i := 1; i < n; i++ {
			if col[i] != col[i-1] {
				u++
			}
		}
		if u <= maxBins {
			for i := 1; i < n; i++ {
				if col[i] != col[i-1] {
					t = append(t, col[i-1]+(col[i]-col[i-1])/2)
				}
			}
		} else {
			for q := 1; q < maxBins; q++ {
				v := col[q*n/maxBins]
				if (len(t) == 0 || v > t[len(t)-1]) && v < col[n-1] {
					t = append(t, v)
				}
			}
		}
		b.thr[f] = t
		b.off[f] = b.tot
		b.tot += len(t) + 1
	}
	return col
}

// transform writes the bins of the n x d matrix data into dst (row-major).
func (b *binner) transform(dst []uint8, data []float64, n, d, s int) {
	for i := 0; i < n; i++ {
		for f, t := range b.thr {
			x := data[i*s+f]
			var k int
			switch len(t) {
			case 0:
			case 1:
				if x > t[0] {
					k = 1
				}
			default:
				k = sort.SearchFloat64s(t, x)
			}
			dst[i*d+f] = uint8(k)
		}
	}
}

// forest is a flat set of regression trees. Node i splits on feat[i] at
// thr[i] (x <= thr goes to left[i], else left[i]+1) or, when feat[i] < 0, is
// a leaf with value val[i].
type forest struct {
	nodes []tnode
	roots []int32
	depth int // maximum depth of any tree
	nfeat int // input width

	// Prediction layout built by compile when depth <= maxPerfectDepth:
	// every tree padded to a perfect binary tree of the forest's depth, in
	// heap order (children of k are 2k+1 and 2k+2), so that a row descends
	// with no data-dependent branches. Padding nodes send every row left
	// (threshold +Inf) to copies of the leaf they replace.
	perf   []pnode   // per tree: 2^depth - 1 internal nodes
	leaves []float64 // per tree: 2^depth leaf values

	// Bit layout, when the input has at most 64 features and every split
	// threshold lies in (0, 1): a row of 0/1 values is packed into a uint64
	// and node k sends it right iff bit pbit[k] is set (padding nodes use
	// bit 64, which reads as 0). One-hot and path encodings take this path.
	pbit []uint8
}

// pnode is an internal node of the perfect layout.
type pnode struct {
	thr  float64
	feat int32
}

// perfectLayout switches compile on (benchmarks compare both layouts).
var perfectLayout = true

// maxPerfectDepth caps the padded layout at 4,095 internal nodes per tree.
const maxPerfectDepth = 12

// compile builds the perfect-tree prediction layout, if the depth allows.
func (fo *forest) compile() {
	fo.perf, fo.leaves = fo.perf[:0], fo.leaves[:0]
	if fo.depth > maxPerfectDepth || !perfectLayout {
		return
	}
	ni, nl := 1<<fo.depth-1, 1<<fo.depth
	for _, root := range fo.roots {
		base, lbase := len(fo.perf), len(fo.leaves)
		fo.perf = append(fo.perf, make([]pnode, ni)...)
		fo.leaves = append(fo.leaves, make([]float64, nl)...)
		fo.fill(fo.perf[base:], fo.leaves[lbase:], root, 0, 0)
	}
	fo.pbit = fo.pbit[:0]
	for _, nd := range fo.perf {
		switch {
		case math.IsInf(nd.thr, 1):
			fo.pbit = append(fo.pbit, 64)
		case nd.thr > 0 && nd.thr < 1 && nd.feat < 64:
			fo.pbit = append(fo.pbit, uint8(nd.feat))
		default:
			fo.pbit = fo.pbit[:0]
			return
		}
	}
}

// packBits packs a row of d <= 64 values into a bit mask; ok is false unless
// every value is 0 or 1.
func packBits(x []float64) (bits uint64, ok bool) {
	for f, v := range x {
		switch v {
		case 1:
			bits |= 1 << f
		case 0:
		default:
			return 0, false
		}
	}
	return bits, true
}

func (fo *forest) fill(in []pnode, lv []float64, node int32, k, level int) {
	nd := fo.nodes[node]
	if level == fo.depth {
		lv[k-len(in)] = nd.v
		return
	}
	if nd.feat < 0 {
		in[k] = pnode{thr: math.Inf(1)}
		fo.fill(in, lv, node, 2*k+1, level+1)
		fo.fill(in, lv, node, 2*k+2, level+1)
		return
	}
	in[k] = pnode{thr: nd.v, feat: int32(nd.feat)}
	fo.fill(in, lv, nd.left, 2*k+1, level+1)
	fo.fill(in, lv, nd.left+1, 2*k+2, level+1)
}

// maxTreeFeatures is the widest input the trees take (feature ids are int16).
const maxTreeFeatures = math.MaxInt16

// tnode is one tree node, packed into 16 bytes for cache locality. For a
// leaf, feat < 0 and v is the leaf value; otherwise v is the threshold.
type tnode struct {
	v    float64
	left int32
	feat int16
	sbin uint8 // split bin, for traversing binned training rows
}

func (fo *forest) reset() { fo.nodes, fo.roots, fo.depth = fo.nodes[:0], fo.roots[:0], 0 }

// predBlock is the number of rows walked down a tree together: their node
// chains are independent, so the CPU overlaps the loads and mispredicted
// branches of several rows instead of waiting on one.
const predBlock = 16

// accumulate sets sum[i] (and sum2[i] unless sum2 is nil) to the sum (of
// squares) of the trees' values for rows lo..hi of data (row stride s).
func (fo *forest) accumulate(sum, sum2 []float64, data []float64, s, lo, hi int) {
	if len(fo.leaves) > 0 {
		fo.accumulatePerfect(sum, sum2, data, s, lo, hi)
		return
	}
	nodes := fo.nodes
	var idx [predBlock]int32
	var xs [predBlock][]float64
	for b := lo; b < hi; b += predBlock {
		m := min(predBlock, hi-b)
		for r := 0; r < m; r++ {
			xs[r] = data[(b+r)*s:]
			sum[b+r] = 0
			if sum2 != nil {
				sum2[b+r] = 0
			}
		}
		for _, root := range fo.roots {
			for r := 0; r < m; r++ {
				idx[r] = root
			}
			for step := 0; step < fo.depth; step++ {
				for r := 0; r < m; r++ {
					nd := &nodes[idx[r]]
					if nd.feat < 0 {
						continue
					}
					i := nd.left
					if xs[r][nd.feat] > nd.v {
						i++
					}
					idx[r] = i
				}
			}
			for r := 0; r < m; r++ {
				v := nodes[idx[r]].v
				sum[b+r] += v
				if sum2 != nil {
					sum2[b+r] += v * v
				}
			}
		}
	}
}

func (fo *forest) addNode() int32 {
	fo.nodes = append(fo.nodes, tnode{feat: -1, left: -1})
	return int32(len(fo.nodes) - 1)
}

// evalBinned returns tree t's value for the binned row xb.
func (fo *forest) evalBinned(t int, xb []uint8) float64 {
	nodes := fo.nodes
	nd := &nodes[fo.roots[t]]
	for nd.feat >= 0 {
		i := nd.left
		if xb[nd.feat] > nd.sbin {
			i++
		}
		nd = &nodes[i]
	}
	return nd.v
}

// treeParams controls the growth of one tree.
type treeParams struct {
	maxDepth int
	minLeaf  float64 // minimum hessian (weight) in a child
	lambda   float64 // L2 on leaf values
	scale    float64 // leaf value multiplier (learning rate)
	maxFeat  int     // features tried per node (<= d)
}

// grower holds the reusable buffers for growing trees on one binned matrix.
type grower struct {
	b    *binner
	bins []uint8 // n x d
	// CSR list of each row's non-zero bins: row i owns nzF/nzB[nzPtr[i]:nzPtr[i+1]].
	// Histograms accumulate only these; bin 0 is the node total minus the rest,
	// which makes one-hot inputs (mostly bin 0) several times cheaper.
	nzPtr []int32
	nzF   []int32
	nzB   []uint8
	n, d  int
	slot  []int32 // level slot of each row, -1 when inactive or at a leaf
	hist  []float64
	nodes []growNode
	next  []growNode
	feats []int
}

type growNode struct {
	id   int32
	g, h float64
	// split chosen for this node
	lslot, rslot int32
}

// index builds the sparse row lists from bins; call after filling bins.
func (gr *grower) index() {
	gr.nzPtr = append(gr.nzPtr[:0], 0)
	gr.nzF, gr.nzB = gr.nzF[:0], gr.nzB[:0]
	for i := 0; i < gr.n; i++ {
		for f, bv := range gr.bins[i*gr.d : (i+1)*gr.d] {
			if bv != 0 {
				gr.nzF = append(gr.nzF, int32(gr.b.off[f]))
				gr.nzB = append(gr.nzB, bv)
			}
		}
		gr.nzPtr = append(gr.nzPtr, int32(len(gr.nzF)))
	}
}

// grow adds one tree to fo, fitted to per-row gradients g and weights h
// (rows with h == 0 are left out), and returns its root.
func (gr *grower) grow(fo *forest, g, h []float64, p treeParams, rng *rand.Rand) {
	n, d := gr.n, gr.d
	if cap(gr.slot) < n {
		gr.slot = make([]int32, n)
	}
	gr.slot = gr.slot[:n]
	root := fo.addNode()
	fo.roots = append(fo.roots, root)
	var G, H float64
	for i := 0; i < n; i++ {
		if h[i] == 0 {
			gr.slot[i] = -1
			continue
		}
		gr.slot[i] = 0
		G += g[i]
		H += h[i]
	}
	gr.nodes = append(gr.nodes[:0], growNode{id: root, g: G, h: H})
	if len(gr.feats) != d {
		gr.feats = make([]int, d)
	}
	tot := gr.b.tot
	for depth := 0; depth < p.maxDepth && len(gr.nodes) > 0; depth++ {
		fo.depth = max(fo.depth, depth)
		k := len(gr.nodes)
		gr.hist = grow(gr.hist, 2*k*tot)
		clear(gr.hist)
		off := gr.b.off
		for i := 0; i < n; i++ {
			s := gr.slot[i]
			if s < 0 {
				continue
			}
			base := int(s) * tot
			gi, hi := g[i], h[i]
			lo, up := gr.nzPtr[i], gr.nzPtr[i+1]
			for k, fo := range gr.nzF[lo:up] {
				j := 2 * (base + int(fo) + int(gr.nzB[int(lo)+k]))
				gr.hist[j] += gi
				gr.hist[j+1] += hi
			}
		}
		// Bin 0 of every feature: node total minus the other bins.
		for s := range gr.nodes {
			nd := &gr.nodes[s]
			for f, t := range gr.b.thr {
				hs := gr.hist[2*(s*tot+off[f]) : 2*(s*tot+off[f]+len(t)+1)]
				g0, h0 := nd.g, nd.h
				for bv := 1; bv <= len(t); bv++ {
					g0 -= hs[2*bv]
					h0 -= hs[2*bv+1]
				}
				hs[0], hs[1] = g0, h0
			}
		}
		gr.next = gr.next[:0]
		for s := range gr.nodes {
			nd := &gr.nodes[s]
			nd.lslot, nd.rslot = -1, -1
			if nd.h < 2*p.minLeaf {
				continue
			}
			feats := gr.featureSample(p.maxFeat, rng)
			parent := nd.g * nd.g / (nd.h + p.lambda)
			bestGain, bestF, bestB := 1e-12*math.Max(1, parent), -1, 0
			var bgl, bhl float64
			for _, f := range feats {
				nb := len(gr.b.thr[f]) + 1
				hs := gr.hist[2*(s*tot+off[f]) : 2*(s*tot+off[f]+nb)]
				var gl, hl float64
				for bv := 0; bv < nb-1; bv++ {
					gl += hs[2*bv]
					hl += hs[2*bv+1]
					if hl < p.minLeaf {
						continue
					}
					hr := nd.h - hl
					if hr < p.minLeaf {
						break
					}
					gr_ := nd.g - gl
					gain := gl*gl/(hl+p.lambda) + gr_*gr_/(hr+p.lambda) - parent
					if gain > bestGain {
						bestGain, bestF, bestB, bgl, bhl = gain, f, bv, gl, hl
					}
				}
			}
			if bestF < 0 {
				continue
			}
			l := fo.addNode()
			fo.addNode()
			fo.nodes[nd.id] = tnode{v: gr.b.thr[bestF][bestB], left: l, feat: int16(bestF), sbin: uint8(bestB)}
			fo.depth = max(fo.depth, depth+1)
			nd.lslot = int32(len(gr.next))
			gr.next = append(gr.next, growNode{id: l, g: bgl, h: bhl})
			nd.rslot = int32(len(gr.next))
			gr.next = append(gr.next, growNode{id: l + 1, g: nd.g - bgl, h: nd.h - bhl})
		}
		// Finalise this level's leaves and route rows to the next level.
		for s := range gr.nodes {
			nd := &gr.nodes[s]
			if nd.lslot < 0 {
				fo.nodes[nd.id].v = p.scale * nd.g / (nd.h + p.lambda)
			}
		}
		for i := 0; i < n; i++ {
			s := gr.slot[i]
			if s < 0 {
				continue
			}
			nd := &gr.nodes[s]
			if nd.lslot < 0 {
				gr.slot[i] = -1
				continue
			}
			if tn := fo.nodes[nd.id]; gr.bins[i*d+int(tn.feat)] <= tn.sbin {
				gr.slot[i] = nd.lslot
			} else {
				gr.slot[i] = nd.rslot
			}
		}
		gr.nodes, gr.next = gr.next, gr.nodes
	}
	for _, nd := range gr.nodes {
		fo.nodes[nd.id].v = p.scale * nd.g / (nd.h + p.lambda)
	}
}

// featureSample returns the features to try at a node: all of them in order,
// or a random subset of size m (partial Fisher-Yates on a reused buffer).
func (gr *grower) featureSample(m int, rng *rand.Rand) []int {
	for i := range gr.feats {
		gr.feats[i] = i
	}
	if m <= 0 || m >= gr.d {
		return gr.feats
	}
	for i := 0; i < m; i++ {
		j := i + rng.IntN(gr.d-i)
		gr.feats[i], gr.feats[j] = gr.feats[j], gr.feats[i]
	}
	return gr.feats[:m]
}

// accumulatePerfect is accumulate over the perfect layout.
func (fo *forest) accumulatePerfect(sum, sum2 []float64, data []float64, s, lo, hi int) {
	D := fo.depth
	ni, nl := 1<<D-1, 1<<D
	var idx [predBlock]int
	var off [predBlock]int // offset of each block row in blk
	for b := lo; b < hi; b += predBlock {
		m := min(predBlock, hi-b)
		blk := data[b*s:]
		for r := 0; r < m; r++ {
			off[r] = r * s
			sum[b+r] = 0
			if sum2 != nil {
				sum2[b+r] = 0
			}
		}
		if len(fo.pbit) > 0 && fo.nfeat <= 64 {
			var bits [predBlock]uint64
			ok := true
			for r := 0; r < m && ok; r++ {
				bits[r], ok = packBits(blk[off[r] : off[r]+fo.nfeat])
			}
			if ok {
				fo.accumulateBits(sum[b:b+m], sum2, b, bits[:m])
				continue
			}
		}
		for t := range fo.roots {
			in := fo.perf[t*ni : (t+1)*ni]
			lv := fo.leaves[t*nl : (t+1)*nl]
			for r := 0; r < m; r++ {
				idx[r] = 0
			}
			for l := 0; l < D; l++ {
				for r := 0; r < m; r++ {
					nd := &in[idx[r]]
					c := 0
					if blk[off[r]+int(nd.feat)] > nd.thr {
						c = 1
					}
					idx[r] = 2*idx[r] + 1 + c
				}
			}
			for r := 0; r < m; r++ {
				v := lv[idx[r]-ni]
				sum[b+r] += v
				if sum2 != nil {
					sum2[b+r] += v * v
				}
			}
		}
	}
}

// accumulateBits adds the trees' values for m <= predBlock bit-packed rows
// into sum (and their squares into sum2[b:], unless nil).
func (fo *forest) accumulateBits(sum, sum2 []float64, b int, bits []uint64) {
	D := fo.depth
	ni, nl := 1<<D-1, 1<<D
	var idx [predBlock]int
	m := len(bits)
	for t := range fo.roots {
		pb := fo.pbit[t*ni : (t+1)*ni]
		lv := fo.leaves[t*nl : (t+1)*nl]
		for r := 0; r < m; r++ {
			idx[r] = 0
		}
		for l := 0; l < D; l++ {
			for r := 0; r < m; r++ {
				k := idx[r]
				idx[r] = 2*k + 1 + int(bits[r]>>pb[k]&1)
			}
		}
		for r := 0; r < m; r++ {
			v := lv[idx[r]-ni]
			sum[r] += v
			if sum2 != nil {
				sum2[b+r] += v * v
			}
		}
	}
}
