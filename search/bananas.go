package search

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/nbquery/nbquery/predictors"
)

// Bananas is BANANAS (White et al. 2021, naszilla's defaults where they
// apply): Init random cells, then per iteration fit an ensemble of Members
// predictors (from Factory, each on its own seed) on the path encoding of
// the queried cells, generate candidates by mutating the best queried cells,
// and query the K candidates with the highest expected improvement over the
// best target so far (mean and population std across the members).
type Bananas struct {
	X          *mat.Dense // path encoding of the whole space (EncodePathAll), shared read-only
	Factory    predictors.Factory
	Members    int // 0: 5
	Init       int // 0: 10
	K          int // queries per iteration, 0: 10
	Parents    int // best queried cells mutated, 0: 10
	Candidates int // candidates per iteration, 0: 100
}

// NewBananas returns BANANAS over sp with the given member factory. nil
// gives BananasMember: naszilla's members are small neural nets, but five
// MLP fits per iteration cost about 5 s of CPU per 1,000-query run here, so
// the default members are subsampled boosted trees (diverse through their
// row and feature samples); pass an MLP factory to follow the paper.
func NewBananas(sp PathSpace, f predictors.Factory) *Bananas {
	if f == nil {
		f = BananasMember
	}
	return &Bananas{X: EncodePathAll(sp), Factory: f}
}

// BananasMember is the default ensemble member of Bananas: 30 boosted trees
// of depth 4, shrinkage 0.3, 80% of the rows and features per tree.
func BananasMember(rng *rand.Rand) predictors.Predictor {
	return predictors.NewGBDT(predictors.GBDTConfig{Trees: 30, MaxDepth: 4, LearningRate: 0.3, Subsample: 0.8, ColSample: 0.8}, rng)
}

func (b *Bananas) Name() string { return "bananas" }

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// WithDefaults returns b with the zero counts set to their defaults.
func (b Bananas) WithDefaults() Bananas {
	b.Members = orDefault(b.Members, 5)
	b.Init = orDefault(b.Init, 10)
	b.K = orDefault(b.K, 10)
	b.Parents = orDefault(b.Parents, 10)
	b.Candidates = orDefault(b.Candidates, 100)
	return b
}

func (b *Bananas) Search(ctx context.Context, s *Session, rng *rand.Rand) error {
	if b.X == nil || b.Factory == nil {
		panic("search: Bananas needs X and Factory")
	}
	def := b.WithDefaults()
	members, init, k, nparents, ncand := def.Members, def.Init, def.K, def.Parents, def.Candidates
	for j := 0; j < init && !s.Done(); j++ {
		i := s.RandomUnseen(rng)
		if i < 0 {
			return nil
		}
		s.Query(i)
	}
	_, d := b.X.Dims()
	raw := b.X.RawMatrix()
	var top, cand []int
	isCand := map[int]bool{}
	for !s.Done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := len(s.Queries)
		y := s.Buffer(10, n)
		train := mat.NewDense(n, d, s.Buffer(15, n*d))
		for r, i := range s.Queries {
			copy(train.RawRowView(r), raw.Data[i*raw.Stride:i*raw.Stride+d])
			y[r] = s.Oracle.Target[i]
		}
		// Candidates: mutations of the best queried cells.
		pool := make([]int32, n)
		for r, i := range s.Queries {
			pool[r] = int32(i)
		}
		top = TopK(top, s.Oracle.Target, pool, nparents, nil)
		cand = cand[:0]
		clear(isCand)
		for tries := 0; len(cand) < ncand && tries < 20*ncand; tries++ {
			c := s.Space.Mutate(rng, top[tries%len(top)])
			if !s.Oracle.Valid(c) || s.Seen(c) || isCand[c] {
				continue
			}
			isCand[c] = true
			cand = append(cand, c)
		}
		for len(cand) < k {
			c := s.RandomUnseen(rng)
			if c < 0 {
				break
			}
			if !isCand[c] {
				isCand[c] = true
				cand = append(cand, c)
			}
		}
		if len(cand) == 0 {
			return nil
		}
		cm := mat.NewDense(len(cand), d, s.Buffer(16, len(cand)*d))
		for r, i := range cand {
			copy(cm.RawRowView(r), raw.Data[i*raw.Stride:i*raw.Stride+d])
		}
		mean := s.Buffer(11, len(cand))
		std := s.Buffer(12, len(cand))
		pred := s.Buffer(13, len(cand))
		clear(mean)
		clear(std)
		for m := 0; m < members; m++ {
			p := b.Factory(rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
			if err := p.Fit(train, y); err != nil {
				return fmt.Errorf("search: bananas: member %d at %d queries: %w", m, n, err)
			}
			p.Predict(pred, cm)
			for r, v := range pred { // Welford
				dlt := v - mean[r]
				mean[r] += dlt / float64(m+1)
				std[r] += dlt * (v - mean[r])
			}
		}
		for r := range std {
			std[r] = math.Sqrt(std[r] / float64(members))
		}
		best := s.Oracle.Target[s.Best()]
		ei := predictors.EI(s.Buffer(14, len(cand)), mean, std, best)
		order := make([]int32, len(cand))
		for r := range order {
			order[r] = int32(r)
		}
		sel := TopK(s.IntBuffer(10, 0), ei, order, k, nil)
		s.Pick(cand[TopK(s.IntBuffer(11, 0), mean, order, 1, nil)[0]])
		for _, r := range sel {
			if s.Done() {
				break
			}
			s.Query(cand[r])
		}
	}
	return nil
}
