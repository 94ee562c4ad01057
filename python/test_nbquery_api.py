"""Tests of the Python client against a running ``nbquery serve``.

The Go test cmd/nbquery TestPythonClient starts the server on a free
loopback port over a store of the shared real data and runs these with
Debian's python3: NBQUERY_URL is the server, NBQUERY_GOLDEN the golden
arch 0/11/284 JSON. Every value is a golden number of
../shared/notes/FACTS.md, compared exactly unless FACTS rounds it.
"""

import json
import os
import unittest

from nbquery_api import API, ModelSpec, NASBench, NBQueryError, OutOfDomainError

URL = os.environ.get("NBQUERY_URL")
GOLDEN = os.environ.get("NBQUERY_GOLDEN")
ARCH_6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ARCH_1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def info_key(dataset, split):
    """get_more_info's key of a raw set (the official remapping)."""
    if split == "x-valid":
        return "valid-accuracy"
    if split == "ori-test" and dataset in ("cifar100", "ImageNet16-120"):
        return "valtest-accuracy"
    return "test-accuracy"


@unittest.skipUnless(URL, "NBQUERY_URL is not set (run through go test ./cmd/nbquery -run TestPythonClient)")
class NB201Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.api = API(URL, rand_seed=7)
        with open(GOLDEN) as f:
            cls.golden = json.load(f)

    def test_golden_archs(self):
        self.assertEqual(len(self.golden), 3)
        for idx, g in self.golden.items():
            self.assertEqual(self.api.arch(int(idx)), g["arch_str"])
            self.assertEqual(self.api.query_index_by_arch(g["arch_str"]), int(idx))
            for hp in ("12", "200"):
                for name, want in g["hp" + hp].items():
                    dataset, split = name.split("_", 1)
                    with self.subTest(idx=idx, hp=hp, name=name):
                        info = self.api.get_more_info(int(idx), dataset, hp=hp, is_random=False)
                        self.assertEqual(info[info_key(dataset, split)], want)
            cost = g["cost_cifar10_seed777"]
            ans = self.api.query_by_index(int(idx), "cifar10", hp="200", is_random=777)
            self.assertEqual((ans["params"], ans["flops"], ans["latency"]),
                             (cost["params_MB"], cost["flop_M"], cost["latency_s"][0]))
            mean_cost = self.api.get_cost_info(int(idx), "cifar10", hp="200")
            self.assertEqual(sorted(mean_cost), ["flops", "latency", "params"])
            self.assertAlmostEqual(mean_cost["params"], cost["params_MB"], places=9)
            for hp in ("200", "12"):
                for dataset, seeds in g["seeds_hp" + hp].items():
                    for s in seeds:
                        self.assertIn("train-accuracy", self.api.get_more_info(int(idx), dataset, hp=hp, is_random=s))
                    with self.assertRaises(NBQueryError) as cm:
                        self.api.get_more_info(int(idx), dataset, hp=hp, is_random=4242)
                    self.assertEqual((cm.exception.status, cm.exception.kind), (404, "unavailable"))

    def test_single_seeds(self):
        for seed, want in ((777, 82.09199998291015), (888, 81.61599997314453), (999, 82.24000001464844)):
            self.assertEqual(self.api.get_more_info(0, "cifar10-valid", hp="200", is_random=seed)["valid-accuracy"], want)
        self.assertEqual(self.api.get_more_info(0, "cifar10", hp="200", is_random=777)["test-accuracy"], 85.62)
        # is_random=True draws one of the recorded seeds.
        got = self.api.get_more_info(0, "cifar10-valid", hp="200", is_random=True)["valid-accuracy"]
        self.assertIn(got, (82.09199998291015, 81.61599997314453, 82.24000001464844))

    def test_optimum_and_top5(self):
        top = self.api.top("cifar10-valid", "x-valid", hp="200", k=8)
        self.assertEqual([r["index"] for r in top[:5]], [6111, 9930, 2581, 13390, 14174])
        self.assertEqual((top[0]["value"], top[0]["arch"]), (91.60666665, ARCH_6111))
        self.assertEqual(top[7]["index"], 1459)  # the best-ori-test arch is 8th by x-valid
        best_test = self.api.top("cifar10-valid", "ori-test", hp="200", k=1)[0]
        self.assertEqual((best_test["index"], best_test["value"]), (1459, 91.52333333))
        info = self.api.get_more_info(ARCH_6111, "cifar10-valid", hp="200", is_random=False)
        self.assertEqual((info["valid-accuracy"], info["test-accuracy"]), (91.60666665, 91.09))
        # FACTS: 90.76933332438152; the store's cifar10_avg.csv keeps 10 significant digits.
        self.assertEqual(round(self.api.get_more_info(1, "cifar10-valid", hp="200", is_random=False)["valid-accuracy"], 8), 90.76933332)
        self.assertEqual(self.api.arch(1), ARCH_1)
        stats = self.api.stats("cifar10-valid", "x-valid", hp="200")
        self.assertEqual((stats["count"], stats["argmax"], round(stats["mean"], 4)), (15625, 6111, 83.6869))

    def test_hp12_optima(self):
        for dataset, split, index, value in (
            ("cifar10", "ori-test", 5374, 89.16),
            ("cifar10-valid", "x-valid", 13714, 84.892),
            ("cifar100", "x-test", 2581, 61.18),
            ("ImageNet16-120", "x-test", 2581, 38.2667),
            ("ImageNet16-120", "x-valid", 2581, 38.6667),
        ):
            with self.subTest(dataset=dataset, split=split):
                best = self.api.top(dataset, split, hp="12", k=1)[0]
                self.assertEqual(best["index"], index)
                self.assertEqual(round(best["value"], 4), value)
        tie = self.api.top("cifar100", "x-valid", hp="12", k=2)
        self.assertEqual(sorted(r["index"] for r in tie), [10165, 13714])
        self.assertEqual({round(r["value"], 2) for r in tie}, {61.32})

    def test_hardware(self):
        for idx, want in (
            (0, {"raspi4": 10.481976820010459, "pixel3": 3.6058499999999998, "eyeriss": 3.645620000000001, "fpga": 2.57296}),
            (1, {"raspi4": 54.77739761998237, "pixel3": 17.2381, "eyeriss": 7.577780000000003, "fpga": 5.31536}),
        ):
            ans = self.api.query_by_index(idx, "cifar10-valid", hp="200", devices=True)
            for dev, v in want.items():
                self.assertEqual(ans["latency:" + dev], v)
        col = self.api.batch("", metric="hw:pixel3", indices=[0, 1])
        self.assertEqual(col, [3.6058499999999998, 17.2381])

    def test_batch_whole_space(self):
        v = self.api.batch("cifar10-valid", "valid", hp="200")
        self.assertEqual(len(v), 15625)
        self.assertEqual(len(self.api), 15625)
        best = max(range(len(v)), key=lambda i: v[i])
        self.assertEqual((best, v[best]), (6111, 91.60666665))
        self.assertEqual(round(sum(v) / len(v), 4), 83.6869)
        cols = self.api.batch_many([
            {"name": "valid", "dataset": "cifar10-valid", "split": "valid", "hp": "200"},
            {"name": "test", "dataset": "cifar10-valid", "split": "test", "hp": "200"},
        ], indices=[6111, 1459], arch=True)
        self.assertEqual(cols["index"], [6111, 1459])
        self.assertEqual(cols["arch"][0], ARCH_6111)
        self.assertEqual(cols["valid"][0], 91.60666665)
        self.assertEqual(cols["test"], [91.09, 91.52333333])

    def test_simulate_train_eval(self):
        api = API(URL, rand_seed=3)
        acc, lat, cost, total = api.simulate_train_eval(0, "cifar10", hp="200")
        self.assertIn(acc, (82.09199998291015, 81.61599997314453, 82.24000001464844))
        self.assertGreater(cost, 0)
        self.assertEqual(total, cost)
        _, _, cost2, total2 = api.simulate_train_eval(self.golden["11"]["arch_str"], "cifar10", hp="200")
        self.assertAlmostEqual(total2, cost + cost2)

    def test_errors(self):
        self.assertEqual(self.api.query_index_by_arch("|conv~0|"), -1)
        with self.assertRaises(ValueError):
            self.api.get_more_info(0, "cifar10", is_random=False)  # no hp: never a silent default
        with self.assertRaises(NBQueryError) as cm:
            self.api.get_more_info(15625, "cifar10", hp="200")
        self.assertEqual(cm.exception.status, 404)
        with self.assertRaises(NBQueryError) as cm:
            self.api.get_more_info(0, "mnist", hp="200")
        self.assertEqual((cm.exception.status, cm.exception.kind), (400, "usage"))
        with self.assertRaises(NBQueryError) as cm:
            self.api.get_more_info(0, "cifar10", hp="two hundred")
        self.assertEqual((cm.exception.status, cm.exception.kind), (400, "usage"))


@unittest.skipUnless(URL, "NBQUERY_URL is not set")
class NB101Test(unittest.TestCase):
    """The 30 real NB101 cells of nb101_naslib_dummy (FACTS: all with 3
    repeats at 108 epochs; best mean test 0.929687519868215)."""

    BEST = "ff9707907f5c17ef8f80cc68fff30f74"

    @classmethod
    def setUpClass(cls):
        cls.nb = NASBench(URL, rand_seed=1)

    def test_slice(self):
        hashes = list(self.nb.hash_iterator())
        self.assertEqual(len(hashes), 30)
        best, best_mean = None, -1.0
        for h in hashes:
            fixed, computed = self.nb.get_metrics_from_hash(h)
            self.assertEqual(fixed["module_hash"], h)
            runs = computed[108]
            self.assertEqual(len(runs), 3)
            mean = ((runs[0]["final_test_accuracy"] + runs[1]["final_test_accuracy"]) + runs[2]["final_test_accuracy"]) / 3
            if mean > best_mean:
                best, best_mean = h, mean
        self.assertEqual((best, best_mean), (self.BEST, 0.929687519868215))
        top = self.nb._call("/v1/nb101/top", {"metric": "final_test_accuracy", "k": 1})["results"][0]
        self.assertEqual((top["hash"], top["value"]), (self.BEST, 0.929687519868215))

    def test_query(self):
        fixed, computed = self.nb.get_metrics_from_hash(self.BEST)
        spec = ModelSpec(fixed["module_adjacency"], fixed["module_operations"])
        self.nb.reset_budget_counters()
        r = self.nb.query(spec, epochs=108)
        self.assertEqual(sorted(r), sorted(["module_adjacency", "module_operations", "trainable_parameters",
                                            "training_time", "train_accuracy", "validation_accuracy", "test_accuracy"]))
        self.assertIn(r["test_accuracy"], [x["final_test_accuracy"] for x in computed[108]])
        self.assertEqual(r["trainable_parameters"], fixed["trainable_parameters"])
        self.assertEqual(self.nb.get_budget_counters()[1], 108)
        self.assertEqual(self.nb.get_metrics_from_spec(spec)[0]["module_hash"], self.BEST)

    def test_errors(self):
        with self.assertRaises(OutOfDomainError):
            self.nb.query(ModelSpec([[0, 1], [0, 0]], ["input", "conv5x5"]))
        # The README/Colab Inception cell (28cfc787...) is a real cell, but not in this 30-cell slice.
        inception = ModelSpec(
            [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
             [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
            ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output"])
        with self.assertRaises(NBQueryError) as cm:
            self.nb.query(inception)
        self.assertEqual((cm.exception.status, cm.exception.kind), (404, "not_found"))
        self.assertIn("28cfc7874f6d200472e1a9dcd8650aa0", cm.exception.message)



SLICE = os.environ.get("NBQUERY_URL_SLICE")


@unittest.skipUnless(SLICE, "NBQUERY_URL_SLICE is not set")
class NB101SliceTest(unittest.TestCase):
    """The real 30,001-cell NB101 slice (one-repeat validation accuracy at
    4/12/36/108 epochs; FACTS: mean val@108 0.9104, max 0.94912 at 096f593e)."""

    @classmethod
    def setUpClass(cls):
        cls.nb = NASBench(SLICE, rand_seed=2)

    def test_distribution(self):
        st = self.nb._call("/v1/nb101/stats", {"split": "valid", "hp": "108"})
        self.assertEqual(st["count"], 30001)
        self.assertLess(abs(st["mean"] - 0.9104), 1e-4)
        self.assertEqual(round(st["max"], 5), 0.94912)
        self.assertTrue(st["argmax"].startswith("096f593e"), st["argmax"])
        self.assertEqual(len(list(self.nb.hash_iterator())), 30001)

    def test_nasbench_rs_cell(self):
        # The nasbench-rs README cell: hash 00005c14..., 8,555,530 parameters.
        adj = "0100110001000000010010000010000001000000010000000"
        matrix = [[int(adj[7 * i + j]) for j in range(7)] for i in range(7)]
        ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]
        fixed, computed = self.nb.get_metrics_from_spec(ModelSpec(matrix, ops))
        self.assertEqual((fixed["module_hash"], fixed["trainable_parameters"]), ("00005c142e6f48ac74fdcf73e3439874", 8555530))
        r = self.nb.query(ModelSpec(matrix, ops), epochs=108)
        self.assertEqual(r["validation_accuracy"], computed[108][0]["final_validation_accuracy"])
        self.assertIsNone(r["test_accuracy"])  # the slice records no test accuracy: None, never 0
        ans = self.nb._call("/v1/nb101/query", {"matrix": matrix, "ops": ops, "repeat": "0"})
        self.assertIn("final_test_accuracy", ans["missing"])
        self.assertEqual(ans["sources"], ["nb101_tiga_30001_val_4-12-36-108.csv"])


if __name__ == "__main__":
    unittest.main()
