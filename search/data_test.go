package search_test

import (
	"sync"
	"testing"

	"github.com/nbquery/nbquery/internal/nb201test"
	"github.com/nbquery/nbquery/search"
)

// c10 is the real NB201 cifar10-valid hp=200 table (seed means) with its
// search space.
type c10 struct {
	codes               []int
	archs               []string
	valid, test, trainT []float64
	sp                  *search.NB201
}

var (
	c10Once sync.Once
	c10Tab  *c10
	c10Err  error
)

func loadC10(tb testing.TB) *c10 {
	tb.Helper()
	t := nb201test.Load(tb)
	c10Once.Do(func() {
		c10Tab = &c10{codes: t.Codes, archs: t.Archs, valid: t.Valid, test: t.Test, trainT: t.TrainTime}
		c10Tab.sp, c10Err = search.NewNB201(t.Codes)
	})
	if c10Err != nil {
		tb.Fatal(c10Err)
	}
	return c10Tab
}
