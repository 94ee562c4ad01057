package search

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// Algorithm is a search strategy. Search queries s until s.Done() (or ctx is
// cancelled) and draws all randomness from rng.
type Algorithm interface {
	Name() string
	Search(ctx context.Context, s *Session, rng *rand.Rand) error
}

// Pick records the model's current best guess: after Queries queries the
// predictor ranked Index first (WeakNAS's free top-1, for the looser count).
type Pick struct {
	Queries int
	Index   int
}

// Count is a counting rule: which queries cost one sample of the budget.
type Count int

const (
	// CountAll charges every query the algorithm makes, a repeat of a
	// queried cell included, as the authors' loops count (naszilla,
	// NAS-Bench-201's and WeakNAS's code): the rule of the published
	// samples-to-optimum figures.
	CountAll Count = iota
	// CountDistinct answers a repeated cell for free from the run's
	// history; every distinct cell costs one.
	CountDistinct
	// CountIsomorph also answers a cell isomorphic to a queried one for
	// free (with the queried twin's value), and any isomorph of an optimal
	// cell counts as the optimum.
	CountIsomorph
)

var countNames = [...]string{CountAll: "all", CountDistinct: "distinct", CountIsomorph: "isomorph"}

// CountNames lists the counting rules' names, the default first.
var CountNames = countNames[:]

func (c Count) String() string {
	if c < 0 || int(c) >= len(countNames) {
		return fmt.Sprintf("Count(%d)", int(c))
	}
	return countNames[c]
}

// ParseCount parses a counting rule's name: all, distinct or isomorph.
func ParseCount(name string) (Count, error) {
	for c, n := range countNames {
		if n == name {
			return Count(c), nil
		}
	}
	return 0, fmt.Errorf("search: unknown counting rule %q (want all, distinct or isomorph): %w", name, ErrBadInput)
}

// MarshalText implements encoding.TextMarshaler (JSON summaries record the
// rule by name).
func (c Count) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Count) UnmarshalText(b []byte) error {
	v, err := ParseCount(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Session is the state of one run. It is not safe for concurrent use; reuse
// one per worker through Reset.
type Session struct {
	Space  Space
	Oracle *Oracle
	Budget int
	// Count is the counting rule: what a repeated query costs.
	Count Count
	// Dedup makes a cell isomorphic to a queried one count as queried
	// (Count == CountIsomorph).
	Dedup bool
	// StopAtOptimum ends the run as soon as the optimum (strict) is queried.
	StopAtOptimum bool

	// Results of the run.
	Queries  []int     // the queries that cost a sample, in order (repeats included under CountAll)
	Picks    []Pick    // predictor top-1 marks, if the algorithm has a model
	Time     []float64 // cumulative simulated training seconds after each query
	StrictAt int       // queries until an optimal cell was queried; 0 = not yet
	failed   bool      // a live evaluation failed (Oracle.Err says why)
	LooseAt  int       // same, also counting an optimal predictor top-1; 0 = not yet

	queried  []bool
	classRep []int32 // class -> first queried member, -1
	isOpt    []bool
	pool     []int32 // partial Fisher-Yates permutation of the valid indices
	drawn    int
	used     float64
	bufs     map[int][]float64
	ibufs    map[int][]int
}

// NewSession returns a session over sp and o with the given query budget,
// counting with CountIsomorph if dedup is set and with CountDistinct
// otherwise (NewCountingSession takes any rule).
func NewSession(sp Space, o *Oracle, budget int, dedup bool) (*Session, error) {
	c := CountDistinct
	if dedup {
		c = CountIsomorph
	}
	return NewCountingSession(sp, o, budget, c)
}

// Limit is the largest budget a session over sp and o may have under
// counting rule c: the valid cells (their isomorphism classes under
// CountIsomorph); no limit (MaxInt) under CountAll, where repeats cost.
func Limit(sp Space, o *Oracle, c Count) int {
	switch c {
	case CountAll:
		return math.MaxInt
	case CountDistinct:
		return len(o.pool)
	}
	seen := make([]bool, sp.NumClasses())
	limit := 0
	for _, i := range o.pool {
		if c := sp.Class(int(i)); !seen[c] {
			seen[c] = true
			limit++
		}
	}
	return limit
}

// NewCountingSession returns a session over sp and o with the given query
// budget and counting rule. It returns an error wrapping ErrBadInput if the
// rule is unknown or the budget is not positive or exceeds Limit.
func NewCountingSession(sp Space, o *Oracle, budget int, count Count) (*Session, error) {
	if sp.Len() != o.Len() {
		panic(fmt.Sprintf("search: NewSession: space has %d cells, oracle %d", sp.Len(), o.Len()))
	}
	if count < CountAll || count > CountIsomorph {
		return nil, fmt.Errorf("search: counting rule %d: %w", int(count), ErrBadInput)
	}
	dedup := count == CountIsomorph
	if budget <= 0 {
		return nil, fmt.Errorf("search: budget %d is not positive: %w", budget, ErrBadInput)
	}
	if limit := Limit(sp, o, count); budget > limit {
		what := "valid cells"
		if dedup {
			what = "isomorphism classes of valid cells"
		}
		return nil, fmt.Errorf("search: budget %d outside [1, %d] (%s, --count %s): %w", budget, limit, what, count, ErrBadInput)
	}
	s := &Session{Space: sp, Oracle: o, Budget: budget, Count: count, Dedup: dedup,
		queried: make([]bool, o.Len()), isOpt: make([]bool, o.Len()),
		pool: make([]int32, len(o.pool)), bufs: map[int][]float64{}, ibufs: map[int][]int{}}
	if dedup {
		s.classRep = make([]int32, sp.NumClasses())
	}
	opt, _ := o.Optimum()
	for _, i := range opt {
		s.isOpt[i] = true
		if dedup {
			// An architecture isomorphic to the optimum is the optimum.
			c := sp.Class(int(i))
			for _, j := range o.pool {
				if sp.Class(int(j)) == c {
					s.isOpt[j] = true
				}
			}
		}
	}
	s.Reset()
	return s, nil
}

// Reset clears the run state, keeping the buffers.
func (s *Session) Reset() {
	for _, i := range s.Queries {
		s.queried[i] = false
	}
	s.Queries, s.Picks, s.Time = s.Queries[:0], s.Picks[:0], s.Time[:0]
	s.StrictAt, s.LooseAt = 0, 0
	s.failed = false
	for i := range s.classRep {
		s.classRep[i] = -1
	}
	copy(s.pool, s.Oracle.pool)
	s.drawn = 0
	s.used = 0
}

// IsOptimal reports whether i is in the optimum set.
func (s *Session) IsOptimal(i int) bool { return s.isOpt[i] }

// Done reports whether the budget is spent (or the optimum was found under
// StopAtOptimum).
func (s *Session) Done() bool {
	return s.failed || len(s.Queries) >= s.Budget || (s.StopAtOptimum && s.StrictAt > 0)
}

// Remaining is the number of queries left.
func (s *Session) Remaining() int { return s.Budget - len(s.Queries) }

// Seen reports whether i (or, with Dedup, an isomorphic cell) was queried.
func (s *Session) Seen(i int) bool {
	if s.Dedup {
		return s.classRep[s.Space.Class(i)] >= 0
	}
	return s.queried[i]
}

// Value returns the target of a seen cell (with Dedup, of its queried
// twin), and false if it was not seen.
func (s *Session) Value(i int) (float64, bool) {
	if !s.Seen(i) {
		return math.NaN(), false
	}
	if s.Dedup {
		i = int(s.classRep[s.Space.Class(i)])
	}
	return s.Oracle.Target[i], true
}

// Query evaluates cell i and returns its target value. Under CountDistinct
// and CountIsomorph a seen cell costs nothing and returns its known value;
// under CountAll every query costs one sample. It returns false, without
// querying, when the session is done or i is not valid (excluded by a
// constraint).
func (s *Session) Query(i int) (float64, bool) {
	if s.Count != CountAll {
		if v, ok := s.Value(i); ok {
			return v, true
		}
	}
	if s.Done() || !s.Oracle.valid[i] {
		return math.NaN(), false
	}
	if s.Oracle.live != nil {
		if err := s.Oracle.fetch(i); err != nil {
			// The run stops: Done reports true from now on.
			s.failed = true
			return math.NaN(), false
		}
	}
	s.queried[i] = true
	if s.Dedup {
		s.classRep[s.Space.Class(i)] = int32(i)
	}
	s.Queries = append(s.Queries, i)
	if s.Oracle.Cost != nil {
		if c := s.Oracle.Cost[i]; !math.IsNaN(c) {
			s.used += c
		}
	}
	s.Time = append(s.Time, s.used)
	if s.StrictAt == 0 && s.isOpt[i] {
		s.StrictAt = len(s.Queries)
		if s.LooseAt == 0 {
			s.LooseAt = s.StrictAt
		}
	}
	return s.Oracle.Target[i], true
}

// Pick records that the algorithm's model currently ranks i first.
func (s *Session) Pick(i int) {
	s.Picks = append(s.Picks, Pick{Queries: len(s.Queries), Index: i})
	if s.LooseAt == 0 && s.isOpt[i] {
		s.LooseAt = len(s.Queries)
	}
}

// RandomUnseen returns a uniformly random valid cell that was not seen, or
// -1 if there is none. Successive calls draw without replacement.
func (s *Session) RandomUnseen(rng *rand.Rand) int {
	for s.drawn < len(s.pool) {
		j := s.drawn + rng.IntN(len(s.pool)-s.drawn)
		s.pool[s.drawn], s.pool[j] = s.pool[j], s.pool[s.drawn]
		i := int(s.pool[s.drawn])
		s.drawn++
		if !s.Seen(i) {
			return i
		}
	}
	return -1
}

// Buffer returns the session's float buffer number k with length n, reused
// across runs (caller-allocated scratch for predictions).
func (s *Session) Buffer(k, n int) []float64 {
	b := s.bufs[k]
	if cap(b) < n {
		b = make([]float64, n)
	}
	b = b[:n]
	s.bufs[k] = b
	return b
}

// IntBuffer is Buffer for ints.
func (s *Session) IntBuffer(k, n int) []int {
	b := s.ibufs[k]
	if cap(b) < n {
		b = make([]int, n)
	}
	b = b[:n]
	s.ibufs[k] = b
	return b
}

// Best returns the queried cell with the highest target (the first such on
// ties), or -1 before any query.
func (s *Session) Best() int {
	best := -1
	for _, i := range s.Queries {
		if best < 0 || s.Oracle.Target[i] > s.Oracle.Target[best] {
			best = i
		}
	}
	return best
}
