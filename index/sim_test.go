package index_test

import (
	"math/rand/v2"
	"testing"

	"github.com/nbquery/nbquery/index"
)

func TestSimulateTrainEval(t *testing.T) {
	st, err := index.Open(realStore(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, _ := st.Bench(index.NB201)
	sim := &index.Simulator{B: b, HP: "200", Seed: index.FixedSeed(777)}
	acc, lat, cost, used, err := sim.TrainEval(0, "cifar10", -1)
	if err != nil {
		t.Fatal(err)
	}
	train, _ := b.GetMetrics(0, "cifar10-valid", "200", index.SetTrain, -1, index.FixedSeed(777))
	valid, _ := b.GetMetrics(0, "cifar10-valid", "200", index.SetXValid, -1, index.FixedSeed(777))
	if acc != 82.09199998291015 || cost != train.AllTime+valid.PerTime || used != cost {
		t.Errorf("TrainEval = %v %v %v, want 82.09199998291015, %v", acc, cost, used, train.AllTime+valid.PerTime)
	}
	if lat <= 0 {
		t.Errorf("latency %v", lat)
	}
	_, _, cost2, used2, err := sim.TrainEval(11, "cifar100", 50)
	if err == nil {
		t.Errorf("cifar100 x-valid at epoch 50 is not recorded, got cost %v", cost2)
	}
	if used2 != used {
		t.Errorf("a failed call changed the used time: %v -> %v", used, used2)
	}
	if _, _, _, _, err := sim.TrainEval(0, "cifar10-valid", -1); err == nil {
		t.Error("cifar10-valid is not a simulate_train_eval dataset")
	}
	r := &index.Simulator{B: b, HP: "12", Seed: index.RandomSeed(rand.New(rand.NewPCG(1, 1)))}
	for range 5 {
		if _, _, _, _, err := r.TrainEval(284, "ImageNet16-120", 5); err != nil {
			t.Fatal(err)
		}
	}
	if r.UsedTime <= 0 {
		t.Error("no time accounted")
	}
}
