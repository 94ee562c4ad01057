package weaknas_test

import (
	"testing"

	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/search/searchtest"
)

// c10 is the real NB201 cifar10-valid hp=200 table (seed means) with its
// search space.
type c10 struct {
	codes               []int
	archs               []string
	valid, test, trainT []float64
	sp                  *search.NB201
}

func loadC10(tb testing.TB) *c10 {
	t, sp := searchtest.C10(tb)
	return &c10{codes: t.Codes, archs: t.Archs, valid: t.Valid, test: t.Test, trainT: t.TrainTime, sp: sp}
}
