package searchtest

import (
	"sync"
	"testing"

	"github.com/nbquery/nbquery/internal/nb201test"
	"github.com/nbquery/nbquery/search"
)

var (
	once sync.Once
	sp   *search.NB201
	err  error
)

// C10 returns the cifar10-valid table (x-valid, ori-test, train time in
// benchmark index order) and the NB201 space over the same indices.
func C10(tb testing.TB) (*nb201test.Table, *search.NB201) {
	tb.Helper()
	t := nb201test.Load(tb)
	once.Do(func() { sp, err = search.NewNB201(t.Codes) })
	if err != nil {
		tb.Fatal(err)
	}
	return t, sp
}
