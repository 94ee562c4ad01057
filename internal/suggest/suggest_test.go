package suggest

import (
	"fmt"
	"testing"
)

var datasets = []string{"cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"}

func TestClosest(t *testing.T) {
	for _, test := range []struct {
		v, want string
	}{
		{"cifar-10", "cifar10"},
		{"CIFAR10", "cifar10"},
		{"imagenet16-120", "ImageNet16-120"},
		{"cifar10", ""}, // valid values suggest nothing
		{"cifar10valid", "cifar10-valid"},
		{"cifar1000", "cifar100"},
		{"svhn", ""},
		{"ImageNet", "ImageNet16-120"}, // unique prefix
		{"", ""},
	} {
		if got := Closest(test.v, datasets); got != test.want {
			t.Errorf("Closest(%q) = %q, want %q", test.v, got, test.want)
		}
	}
	if got := Closest("tset", []string{"train", "valid", "test", "valtest"}); got != "test" {
		t.Errorf("Closest(tset) = %q, want test", got)
	}
}

func TestDistance(t *testing.T) {
	for _, test := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"tset", "test", 1}} {
		if d := distance(test.a, test.b); d != test.d {
			t.Errorf("distance(%q, %q) = %d, want %d", test.a, test.b, d, test.d)
		}
	}
}

func ExamplePhrase() {
	fmt.Printf("unknown dataset %q%s\n", "cifar-10", Phrase("cifar-10", datasets))
	// Output: unknown dataset "cifar-10" (did you mean "cifar10"?)
}
