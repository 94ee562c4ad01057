package nb101

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// Hash is the official module hash (graph_util.hash_module), the key of the
// benchmark. Its String is the 32-character lowercase hex of the files.
type Hash [16]byte

// String returns the lowercase hex form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Compare orders hashes like their hex strings.
func (h Hash) Compare(o Hash) int { return bytes.Compare(h[:], o[:]) }

// ErrHashSyntax marks a string that is not 32 hex digits.
var ErrHashSyntax = errors.New("nb101: invalid hash")

// ParseHash parses 32 hex digits (either case).
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 32 {
		return h, fmt.Errorf("%w: %q: want 32 hex digits, got %d characters", ErrHashSyntax, s, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w: %q: %v", ErrHashSyntax, s, err)
	}
	return h, nil
}

// Hash returns the module hash of the spec: model_spec.hash_spec with the
// canonical op list, i.e. graph_util.hash_module(matrix, labeling).
//
// hash_module hashes Python str() renderings with MD5: each vertex starts as
// md5hex(str((out_degree, in_degree, label))); then, V times, every vertex
// becomes md5hex(sorted in-neighbour hexes joined + '|' + sorted out-neighbour
// hexes joined + '|' + own hex); the fingerprint is md5hex(str(sorted(hexes)))
// with Python's list repr. The strings are rebuilt byte for byte here; the
// hex digests sort like the raw digests, so sorting works on [16]byte.
func (s Spec) Hash() Hash {
	n := int(s.N)
	var in, out [MaxVertices]uint8 // neighbour masks
	var indeg, outdeg [MaxVertices]int
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if s.Edge(i, j) {
				out[i] |= 1 << uint(j)
				in[j] |= 1 << uint(i)
				outdeg[i]++
				indeg[j]++
			}
		}
	}
	var h, nh [MaxVertices][16]byte
	var buf [16 * 33 * 2]byte // big enough for 2*6 neighbours, the fingerprint list and separators
	h0 := initialHashes()
	for v := 0; v < n; v++ {
		if l := s.Ops[v].label(); l <= 2 {
			h[v] = h0[outdeg[v]][indeg[v]][l+2]
		} else { // not a valid op: hash it as Python would hash its label
			b := fmt.Appendf(buf[:0], "(%d, %d, %d)", outdeg[v], indeg[v], l)
			h[v] = md5.Sum(b)
		}
	}
	var nb [MaxVertices][16]byte
	var hx [MaxVertices][32]byte // hex of h, encoded once per round
	for range n {
		for v := 0; v < n; v++ {
			hex.Encode(hx[v][:], h[v][:])
		}
		for v := 0; v < n; v++ {
			b := buf[:0]
			k := gatherSorted(&nb, &h, in[v])
			for _, w := range nb[:k] {
				b = append(b, hx[w[0]][:]...)
			}
			b = append(b, '|')
			k = gatherSorted(&nb, &h, out[v])
			for _, w := range nb[:k] {
				b = append(b, hx[w[0]][:]...)
			}
			b = append(b, '|')
			b = append(b, hx[v][:]...)
			nh[v] = md5.Sum(b)
		}
		h = nh
	}
	all := h[:n]
	slices.SortFunc(all, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	b := append(buf[:0], '[')
	for i, x := range all {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '\'')
		b = hex.AppendEncode(b, x[:])
		b = append(b, '\'')
	}
	b = append(b, ']')
	return md5.Sum(b)
}

// initialHashes caches the round-0 vertex hashes,
// md5(str((out_degree, in_degree, label))), for every degree pair and label.
var initialHashes = sync.OnceValue(func() *[MaxVertices][MaxVertices][5][16]byte {
	var t [MaxVertices][MaxVertices][5][16]byte
	var buf []byte
	for o := range MaxVertices {
		for i := range MaxVertices {
			for l := -2; l <= 2; l++ {
				buf = append(buf[:0], '(')
				buf = strconv.AppendInt(buf, int64(o), 10)
				buf = append(buf, ", "...)
				buf = strconv.AppendInt(buf, int64(i), 10)
				buf = append(buf, ", "...)
				buf = strconv.AppendInt(buf, int64(l), 10)
				buf = append(buf, ')')
				t[o][i][l+2] = md5.Sum(buf)
			}
		}
	}
	return &t
})

// gatherSorted writes into dst[i][0] the vertices of mask, ordered by their
// hashes in h (only byte 0 of each dst entry is used, as a vertex index).
func gatherSorted(dst, h *[MaxVertices][16]byte, mask uint8) int {
	k := 0
	for w := 0; mask != 0; w, mask = w+1, mask>>1 {
		if mask&1 == 1 {
			dst[k][0] = byte(w)
			k++
		}
	}
	// Insertion sort by hash: at most 6 elements.
	for i := 1; i < k; i++ {
		for j := i; j > 0 && bytes.Compare(h[dst[j][0]][:], h[dst[j-1][0]][:]) < 0; j-- {
			dst[j][0], dst[j-1][0] = dst[j-1][0], dst[j][0]
		}
	}
	return k
}
