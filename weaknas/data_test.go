package weaknas_test

import (
	"encoding/csv"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/nbquery/nbquery/internal/shared"
	"github.com/nbquery/nbquery/search"
	"github.com/nbquery/nbquery/space/nb201"
)

// c10 is the real NB201 cifar10-valid hp=200 table (seed means): x-valid and
// ori-test accuracy and the training time, read once from the shared CSV.
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
	p := shared.Path(tb, "nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv")
	c10Once.Do(func() {
		f, err := os.Open(p)
		if err != nil {
			c10Err = err
			return
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			c10Err = err
			return
		}
		t := &c10{}
		for _, r := range rows[1:] {
			c, err := nb201.Parse(r[5])
			if err != nil {
				c10Err = err
				return
			}
			t.codes = append(t.codes, c.Code())
			t.archs = append(t.archs, r[5])
			num := func(s string) float64 {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil && c10Err == nil {
					c10Err = err
				}
				return v
			}
			t.valid = append(t.valid, num(r[13]))
			t.test = append(t.test, num(r[17]))
			t.trainT = append(t.trainT, num(r[11]))
		}
		t.sp, c10Err = search.NewNB201(t.codes)
		c10Tab = t
	})
	if c10Err != nil {
		tb.Fatal(c10Err)
	}
	return c10Tab
}
