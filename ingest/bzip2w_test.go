package ingest

import (
	"bytes"
	"sort"
)

// bzip2Encode is a minimal bzip2 compressor for building test
// inputs (Go's compress/bzip2 only decompresses, and the project avoids a
// dependency for tests alone). It does RLE1, a naive BWT, MTF/RLE2 and one
// complete fixed-shape Huffman table; blocks are 100 kB and the
// BWT sorts rotations by comparison, so it suits test-sized inputs only.
func bzip2Encode(data []byte) []byte {
	var w bitWriter
	w.bytes([]byte("BZh9"))
	var combined uint32
	const blockLen = 100_000 // well under the 900k limit of level 9, keeps the BWT sort fast
	for start := 0; start < len(data); start += blockLen {
		blk := data[start:min(start+blockLen, len(data))]
		crc := bzCRC(blk)
		combined = (combined<<1 | combined>>31) ^ crc
		encodeBlock(&w, blk, crc)
	}
	w.bits(0x177245, 24)
	w.bits(0x385090, 24)
	w.bits(uint64(combined), 32)
	return w.flush()
}

type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.nacc++
		if w.nacc == 8 {
			w.buf = append(w.buf, byte(w.acc))
			w.acc, w.nacc = 0, 0
		}
	}
}

func (w *bitWriter) bytes(b []byte) {
	for _, c := range b {
		w.bits(uint64(c), 8)
	}
}

func (w *bitWriter) flush() []byte {
	if w.nacc > 0 {
		w.buf = append(w.buf, byte(w.acc<<(8-w.nacc)))
		w.acc, w.nacc = 0, 0
	}
	return w.buf
}

// bzCRC is the big-endian CRC-32 (polynomial 0x04c11db7) bzip2 uses.
func bzCRC(b []byte) uint32 {
	crc := uint32(0xffffffff)
	for _, c := range b {
		crc ^= uint32(c) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return ^crc
}

func encodeBlock(w *bitWriter, data []byte, crc uint32) {
	// RLE1: runs of 4..255 equal bytes become 4 bytes and a count.
	var r1 []byte
	for i := 0; i < len(data); {
		j := i
		for j < len(data) && data[j] == data[i] && j-i < 255 {
			j++
		}
		if n := j - i; n >= 4 {
			r1 = append(r1, data[i], data[i], data[i], data[i], byte(n-4))
		} else {
			r1 = append(r1, data[i:j]...)
		}
		i = j
	}
	// BWT by sorting rotations.
	n := len(r1)
	dbl := append(append([]byte{}, r1...), r1...)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return bytes.Compare(dbl[idx[a]:idx[a]+n], dbl[idx[b]:idx[b]+n]) < 0 })
	last := make([]byte, n)
	orig := 0
	for i, s := range idx {
		last[i] = dbl[s+n-1]
		if s == 0 {
			orig = i
		}
	}
	// Symbol map.
	var used [256]bool
	for _, c := range last {
		used[c] = true
	}
	var seq []byte
	for c := range 256 {
		if used[c] {
			seq = append(seq, byte(c))
		}
	}
	// MTF + RLE2 (RUNA=0, RUNB=1, value v -> v+1, EOB = len(seq)+1).
	mtf := append([]byte{}, seq...)
	var syms []int
	zeros := 0
	flushZeros := func() {
		for zeros > 0 {
			zeros--
			syms = append(syms, zeros&1)
			zeros >>= 1
		}
	}
	for _, c := range last {
		k := bytes.IndexByte(mtf, c)
		if k == 0 {
			zeros++
			continue
		}
		flushZeros()
		copy(mtf[1:k+1], mtf[:k])
		mtf[0] = c
		syms = append(syms, k+1)
	}
	flushZeros()
	alpha := len(seq) + 2
	syms = append(syms, alpha-1)
	// A complete prefix code: lengths L-1 and L with Kraft sum 1.
	L := 1
	for 1<<L < alpha {
		L++
	}
	lens := make([]int, alpha)
	long := 2 * (alpha - 1<<(L-1))
	for s := range lens {
		if s < alpha-long {
			lens[s] = L - 1
		} else {
			lens[s] = L
		}
	}
	// Canonical codes in symbol order within each length.
	codes := make([]uint64, alpha)
	code := uint64(0)
	for l := 1; l <= L; l++ {
		for s := range lens {
			if lens[s] == l {
				codes[s] = code
				code++
			}
		}
		code <<= 1
	}

	w.bits(0x314159, 24)
	w.bits(0x265359, 24)
	w.bits(uint64(crc), 32)
	w.bits(0, 1) // not randomised
	w.bits(uint64(orig), 24)
	var ranges uint64
	for r := range 16 {
		for c := range 16 {
			if used[r*16+c] {
				ranges |= 1 << (15 - r)
				break
			}
		}
	}
	w.bits(ranges, 16)
	for r := range 16 {
		if ranges&(1<<(15-r)) == 0 {
			continue
		}
		var m uint64
		for c := range 16 {
			if used[r*16+c] {
				m |= 1 << (15 - c)
			}
		}
		w.bits(m, 16)
	}
	const groups = 2
	nsel := (len(syms) + 49) / 50
	w.bits(groups, 3)
	w.bits(uint64(nsel), 15)
	for range nsel {
		w.bits(0, 1) // selector 0, MTF-coded unary
	}
	for range groups {
		cur := lens[0]
		w.bits(uint64(cur), 5)
		for _, l := range lens {
			for cur < l {
				w.bits(2, 2) // 10: increment
				cur++
			}
			for cur > l {
				w.bits(3, 2) // 11: decrement
				cur--
			}
			w.bits(0, 1)
		}
	}
	for _, s := range syms {
		w.bits(codes[s], uint(lens[s]))
	}
}
