package search_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/nbquery/nbquery/search"
)

// TestCountingRules: what a repeated query and a query of an isomorph cost
// under each rule, and which cells count as the optimum.
func TestCountingRules(t *testing.T) {
	tab := loadC10(t)
	o, err := search.NewOracle(tab.valid, tab.test, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two isomorphic cells (same class, different indices).
	a, b := -1, -1
	for i := 0; i < tab.sp.Len() && b < 0; i++ {
		for j := i + 1; j < tab.sp.Len(); j++ {
			if tab.sp.Class(i) == tab.sp.Class(j) {
				a, b = i, j
				break
			}
		}
	}
	for _, test := range []struct {
		c                 search.Count
		afterRepeat, isoB int // queries after a, a and after b
	}{
		{search.CountAll, 2, 3},
		{search.CountDistinct, 1, 2},
		{search.CountIsomorph, 1, 1},
	} {
		t.Run(test.c.String(), func(t *testing.T) {
			s, err := search.NewCountingSession(tab.sp, o, 10, test.c)
			if err != nil {
				t.Fatal(err)
			}
			s.Query(a)
			s.Query(a)
			if len(s.Queries) != test.afterRepeat || !s.Seen(a) {
				t.Errorf("after a, a: %d queries, want %d", len(s.Queries), test.afterRepeat)
			}
			s.Query(b)
			if len(s.Queries) != test.isoB {
				t.Errorf("after the isomorph b: %d queries, want %d", len(s.Queries), test.isoB)
			}
			if c, err := search.ParseCount(test.c.String()); err != nil || c != test.c {
				t.Errorf("ParseCount(%q) = %v, %v", test.c, c, err)
			}
		})
	}
	// Only CountIsomorph counts an isomorph of the optimum 6111 as optimal.
	var iso int = -1
	for j := 0; j < tab.sp.Len(); j++ {
		if j != 6111 && tab.sp.Class(j) == tab.sp.Class(6111) {
			iso = j
		}
	}
	if iso >= 0 {
		for c, want := range map[search.Count]bool{search.CountAll: false, search.CountDistinct: false, search.CountIsomorph: true} {
			s, _ := search.NewCountingSession(tab.sp, o, 10, c)
			if s.IsOptimal(iso) != want {
				t.Errorf("%s: IsOptimal(%d) = %v", c, iso, !want)
			}
		}
	}
	// Budgets: beyond the space only under CountAll; the limits name the rule.
	if _, err := search.NewCountingSession(tab.sp, o, 20000, search.CountAll); err != nil {
		t.Error(err)
	}
	for _, c := range []search.Count{search.CountDistinct, search.CountIsomorph} {
		if _, err := search.NewCountingSession(tab.sp, o, 15626, c); !errors.Is(err, search.ErrBadInput) {
			t.Errorf("%s: budget 15626: %v", c, err)
		}
	}
	if _, err := search.ParseCount("some"); !errors.Is(err, search.ErrBadInput) {
		t.Errorf("ParseCount(some) = %v", err)
	}
}

// TestEvolutionSettings: a one-edge RE under CountAll spends samples on
// repeats (the child of a seen parent is often seen); the unseen mutation
// never repeats; an impossible setting is an error.
func TestEvolutionSettings(t *testing.T) {
	tab := loadC10(t)
	o, _ := search.NewOracle(tab.valid, tab.test, nil, nil)
	s, _ := search.NewCountingSession(tab.sp, o, 500, search.CountAll)
	distinct := func() int {
		seen := map[int]bool{}
		for _, i := range s.Queries {
			seen[i] = true
		}
		return len(seen)
	}
	for _, test := range []struct {
		e       search.Evolution
		repeats bool
	}{
		{search.Evolution{Population: 10, Tournament: 3, WithReplacement: true}, true},
		{search.Evolution{Population: 10, Tournament: 3, Mutation: search.MutateUnseen}, false},
	} {
		s.Reset()
		if err := test.e.Search(context.Background(), s, rand.New(rand.NewPCG(1, 1))); err != nil {
			t.Fatal(err)
		}
		if len(s.Queries) != 500 || (distinct() < 500) != test.repeats {
			t.Errorf("%+v: %d queries, %d distinct", test.e, len(s.Queries), distinct())
		}
	}
	if err := (search.Evolution{Population: 3, Tournament: 5}).Search(context.Background(), s, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, search.ErrBadInput) {
		t.Errorf("tournament 5 of 3 without replacement: %v", err)
	}
}

// TestEvolutionExhaustsSpace: one-edge RE under CountDistinct, where
// repeats are free, still spends a budget of the whole space (a population
// whose neighbourhoods are all queried falls back to random unseen cells
// instead of looping).
func TestEvolutionExhaustsSpace(t *testing.T) {
	tab := loadC10(t)
	o, _ := search.NewOracle(tab.valid, tab.test, nil, nil)
	s, _ := search.NewCountingSession(tab.sp, o, o.Len(), search.CountDistinct)
	if err := (search.Evolution{Population: 10, Tournament: 3}).Search(context.Background(), s, rand.New(rand.NewPCG(2, 2))); err != nil {
		t.Fatal(err)
	}
	if len(s.Queries) != o.Len() || s.StrictAt == 0 {
		t.Fatalf("%d queries, optimum at %d", len(s.Queries), s.StrictAt)
	}
}
