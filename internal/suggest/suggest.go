package suggest

import (
	"strings"
	"unicode"
)

// Closest returns the element of valid that v most likely misspells, or ""
// when none is close. Candidates are compared case-insensitively and with
// '-', '_' and spaces ignored (so "CIFAR10", "cifar-10" and "cifar_10" all
// mean "cifar10"); then a unique prefix; otherwise the nearest by edit distance wins if it is
// within a third of the longer name (at least 1, at most 3 edits). Ties go to
// the earlier element of valid.
//
// Hand-written: the edit distance of two short names is a dozen lines, not a
// dependency.
func Closest(v string, valid []string) string {
	nv := normalize(v)
	if nv == "" {
		return ""
	}
	for _, c := range valid {
		if normalize(c) == nv && c != v {
			return c
		}
	}
	// A unique prefix ("acc" for "accuracy").
	prefixed := ""
	for _, c := range valid {
		if strings.HasPrefix(normalize(c), nv) {
			if prefixed != "" {
				prefixed = ""
				break
			}
			prefixed = c
		}
	}
	if prefixed != "" && prefixed != v {
		return prefixed
	}
	best, bestD := "", 1<<30
	for _, c := range valid {
		nc := normalize(c)
		d := distance(nv, nc)
		limit := min(3, max(1, max(len(nv), len(nc))/3))
		if d <= limit && d < bestD {
			best, bestD = c, d
		}
	}
	if best == v {
		return ""
	}
	return best
}

// Phrase returns ` (did you mean "x"?)` for Closest(v, valid), or "".
func Phrase(v string, valid []string) string {
	if c := Closest(v, valid); c != "" {
		return ` (did you mean "` + c + `"?)`
	}
	return ""
}

func normalize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '-', '_', ' ':
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// distance is the optimal-string-alignment distance of a and b (bytes):
// insertions, deletions, substitutions and adjacent transpositions.
func distance(a, b string) int {
	pp := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
		}
		pp, prev, cur = prev, cur, pp
	}
	return prev[len(b)]
}
