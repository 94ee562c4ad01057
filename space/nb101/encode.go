package nb101

// EncodeLen is the length of the NAO/WeakNAS sequence encoding.
const EncodeLen = 45

// Encode45 writes the 45-dim encoding used by WeakNAS (emb_type "org",
// convert_arch_to_seq): for each column c = 1..6, the bits matrix[0..c-1][c]
// followed by a one-hot [conv1x1, conv3x3, maxpool3x3, output] of vertex c.
// Columns at or beyond N are zero, so the output of a pruned cell sits at
// column N-1. dst must have length >= 45; it is fully overwritten.
func (s Spec) Encode45(dst []float64) {
	if len(dst) < EncodeLen {
		panic("nb101: Encode45: dst shorter than 45")
	}
	clear(dst[:EncodeLen])
	k := 0
	for c := 1; c < MaxVertices; c++ {
		if c < int(s.N) {
			for r := 0; r < c; r++ {
				if s.Edge(r, c) {
					dst[k+r] = 1
				}
			}
			k += c
			switch s.Ops[c] {
			case Conv1x1:
				dst[k] = 1
			case Conv3x3:
				dst[k+1] = 1
			case MaxPool3x3:
				dst[k+2] = 1
			case Output:
				dst[k+3] = 1
			}
			k += 4
		} else {
			k += c + 4
		}
	}
}
