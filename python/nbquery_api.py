"""Python client of ``nbquery serve`` (standard library only, Python 3.9+).

Its calls mirror the official benchmark APIs, with the same names and keys,
so that an existing search script switches by changing two lines::

    # from nas_201_api import NASBench201API as API
    # api = API('NAS-Bench-201-v1_1-096897.pth', verbose=False)
    from nbquery_api import API
    api = API('http://127.0.0.1:8201')

    info = api.get_more_info(6111, 'cifar10-valid', hp='200', is_random=False)
    info['valid-accuracy']                                   # 91.60666665

NAS-Bench-101 (``from nasbench import api``; ``nasbench.query(spec)``)::

    from nbquery_api import NASBench, ModelSpec
    nasbench = NASBench('http://127.0.0.1:8201')
    nasbench.query(ModelSpec(matrix, ops), epochs=108)['validation_accuracy']

Differences from the official APIs, on purpose: ``hp`` is required (the
official APIs silently default to the 12-epoch schedule), and values the
benchmark never recorded are ``None`` or an ``NBQueryError``, never zeros.
"""

import json
import urllib.error
import urllib.request

__all__ = ["API", "NASBench", "ModelSpec", "NBQueryError", "OutOfDomainError"]


class NBQueryError(Exception):
    """An error answer of the server: ``status`` (HTTP), ``kind`` (usage,
    not_found, unavailable, out_of_domain, too_large, timeout, busy)."""

    def __init__(self, status, kind, message):
        super().__init__("nbquery: %s (HTTP %d, %s)" % (message, status, kind))
        self.status, self.kind, self.message = status, kind, message


class OutOfDomainError(NBQueryError, ValueError):
    """A NAS-Bench-101 spec outside the space (nasbench's OutOfDomainError)."""


class ModelSpec:
    """A NAS-Bench-101 cell: ``matrix`` (upper-triangular 0/1 adjacency) and
    ``ops`` (input, conv1x1-bn-relu, conv3x3-bn-relu, maxpool3x3, output)."""

    def __init__(self, matrix, ops, data_format="channels_last"):
        matrix = matrix.tolist() if hasattr(matrix, "tolist") else matrix
        self.original_matrix = [list(map(int, row)) for row in matrix]
        self.original_ops = list(ops)
        self.matrix, self.ops = self.original_matrix, self.original_ops
        self.data_format = data_format


def _hp(hp):
    if hp is None:
        raise ValueError("hp is required (the number of training epochs, e.g. '200' or '12'): "
                         "nbquery never defaults it to '12' as the official API does")
    return str(hp)


def _seed(is_random):
    if is_random is True:
        return "random"
    if is_random is False or is_random is None:
        return "mean"
    return str(int(is_random))


class API:
    """A NAS-Bench-201 / NATS-Bench (``bench='nats-sss'``) client with the
    calls of ``nas_201_api.NASBench201API`` and ``nats_bench``, plus the
    NAS-Bench-101 ``query`` and ``get_metrics_from_hash``."""

    def __init__(self, url="http://127.0.0.1:8201", bench="nb201", timeout=60.0, verbose=False, rand_seed=None):
        self.url = url.rstrip("/")
        self.bench = bench
        self.timeout = timeout
        self.verbose = verbose
        self.rand_seed = rand_seed  # seeds the server's draws of is_random=True, if set
        self._draws = 0
        self.used_time = 0.0  # simulate_train_eval's accumulated time
        self._budget_time, self._budget_epochs = 0.0, 0
        self._len = None

    # -- transport -------------------------------------------------------
    def _call(self, path, body=None, accept="application/json"):
        data = json.dumps(body if body is not None else {}).encode()
        req = urllib.request.Request(self.url + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json", "Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                raw = res.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                err = json.loads(raw)
                kind, msg = err.get("kind", "?"), err.get("error", raw.decode(errors="replace"))
            except ValueError:
                kind, msg = "?", raw.decode(errors="replace")
            cls = OutOfDomainError if kind == "out_of_domain" else NBQueryError
            raise cls(e.code, kind, msg) from None
        if accept != "application/json":
            return raw
        return json.loads(raw)

    def _get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=self.timeout) as res:
            return json.loads(res.read())

    def _next_seed(self):
        if self.rand_seed is None:
            return None
        self._draws += 1
        return (self.rand_seed * 1000003 + self._draws) % (1 << 64)

    def _arch_body(self, arch):
        if isinstance(arch, str):
            return {"arch": arch}
        if hasattr(arch, "tostr"):  # a CellStructure of the official API
            return {"arch": arch.tostr()}
        return {"index": int(arch)}

    # -- NAS-Bench-201 / NATS-Bench -------------------------------------
    def info(self):
        """The server's benchmarks and limits."""
        return self._get("/v1/info")

    def __len__(self):
        if self._len is None:
            for b in self.info()["benches"]:
                if b["name"] == self.bench:
                    self._len = b.get("archs", b.get("cells"))
        return self._len or 0

    def query_index_by_arch(self, arch):
        """The index of an architecture string, or -1 if it is not in the benchmark."""
        if not isinstance(arch, str) and not hasattr(arch, "tostr"):
            return int(arch)
        try:
            return self._call("/v1/%s/index" % self.bench, self._arch_body(arch))["index"]
        except NBQueryError as e:
            if e.status in (400, 404):
                return -1
            raise

    def arch(self, index):
        """The architecture string of an index (``api.arch(index)``)."""
        return self._call("/v1/%s/index" % self.bench, {"index": int(index)})["arch"]

    def __getitem__(self, index):
        return self.arch(index)

    def get_more_info(self, index, dataset, iepoch=None, hp=None, is_random=True):
        """``get_more_info``: train-*, valid-*, test-* and valtest-* loss,
        accuracy, per-time and all-time. ``is_random``: True (one random
        seed), False (the mean over seeds) or a seed number."""
        body = self._arch_body(index)
        body.update(dataset=dataset, hp=_hp(hp), seed=_seed(is_random))
        if iepoch is not None:
            body["epoch"] = int(iepoch)
        if is_random is True and self.rand_seed is not None:
            body["rand_seed"] = self._next_seed()
        ans = self._call("/v1/%s/query" % self.bench, body)
        return {k: v for k, v in ans.items() if k.split("-")[0] in ("train", "valid", "test", "valtest")}

    def query_by_index(self, index, dataset, hp=None, is_random=False, devices=False):
        """Everything the server answers for one architecture (the
        ``nbquery query --json`` object: index, arch, seed, every key of
        get_more_info, flops, params, latency and, with devices, latency:DEVICE)."""
        body = self._arch_body(index)
        body.update(dataset=dataset, hp=_hp(hp), seed=_seed(is_random), devices=bool(devices))
        return self._call("/v1/%s/query" % self.bench, body)

    def get_cost_info(self, index, dataset, hp=None):
        """``get_cost_info``: flops (M), params (MB), latency (s), means over seeds."""
        body = self._arch_body(index)
        body.update(dataset=dataset, hp=_hp(hp))
        ans = self._call("/v1/%s/cost" % self.bench, body)
        return {k: ans[k] for k in ("flops", "params", "latency")}

    def simulate_train_eval(self, arch, dataset, iepoch=None, hp=None, account_time=True):
        """``simulate_train_eval``: (validation accuracy, latency, time cost,
        total time) of one randomly drawn trial, as the official API."""
        body = self._arch_body(arch)
        body.update(dataset=dataset, hp=_hp(hp), seed="random")
        if iepoch is not None:
            body["epoch"] = int(iepoch)
        if self.rand_seed is not None:
            body["rand_seed"] = self._next_seed()
        ans = self._call("/v1/%s/simulate" % self.bench, body)
        if account_time:
            self.used_time += ans["time_cost"]
        return ans["valid_accuracy"], ans["latency"], ans["time_cost"], self.used_time

    def reset_time(self):
        self.used_time = 0.0

    def _metric(self, dataset, split, hp, metric, epoch, seed):
        q = {"dataset": dataset, "split": split, "hp": _hp(hp) if not str(metric).startswith("hw:") else "",
             "metric": metric, "seed": _seed(seed) if not isinstance(seed, str) else seed}
        if epoch is not None:
            q["epoch"] = int(epoch)
        return q

    def batch(self, dataset, split="valid", hp=None, metric="accuracy", indices=None, epoch=None, seed="mean"):
        """One number per architecture for the whole space (or ``indices``)
        in one request: a list of floats, None where the benchmark has no value."""
        q = self._metric(dataset, split, hp, metric, epoch, seed)
        q["name"] = "value"
        return self.batch_many([q], indices=indices)["value"]

    def batch_many(self, queries, indices=None, arch=False):
        """Several whole-space columns at once. ``queries`` are dicts with
        name, dataset, split, hp, metric, epoch, seed; the answer maps each
        name to its list, plus "index" (and "arch" if asked)."""
        body = {"queries": list(queries), "arch": bool(arch)}
        if indices is not None:
            body["indices"] = [int(i) for i in indices]
        ans = self._call("/v1/%s/batch" % self.bench, body)
        out = {"index": ans["index"]}
        if arch:
            out["arch"] = ans["arch"]
        out.update(ans["columns"])
        return out

    def top(self, dataset, split="valid", hp=None, metric="accuracy", k=10, lowest=None, epoch=None, seed="mean"):
        """The k best architectures: a list of {rank, index, value, arch}."""
        body = self._metric(dataset, split, hp, metric, epoch, seed)
        body["k"] = int(k)
        if lowest is not None:
            body["lowest"] = bool(lowest)
        return self._call("/v1/%s/top" % self.bench, body)["results"]

    def stats(self, dataset, split="valid", hp=None, metric="accuracy", epoch=None, seed="mean"):
        """count, missing, mean, std (ddof 0), min, q25, median, q75, max, argmin, argmax."""
        return self._call("/v1/%s/stats" % self.bench, self._metric(dataset, split, hp, metric, epoch, seed))

    # -- NAS-Bench-101 (nasbench.api.NASBench) ---------------------------
    def _spec_body(self, model_spec):
        if isinstance(model_spec, dict):
            return {"matrix": model_spec["matrix"], "ops": model_spec["ops"]}
        m = getattr(model_spec, "original_matrix", None) or model_spec.matrix
        m = m.tolist() if hasattr(m, "tolist") else m
        ops = getattr(model_spec, "original_ops", None) or model_spec.ops
        return {"matrix": [list(map(int, r)) for r in m], "ops": list(ops)}

    def query(self, model_spec, epochs=108, stop_halfway=False):
        """nasbench ``query``: module_adjacency, module_operations,
        trainable_parameters, training_time, train_accuracy,
        validation_accuracy, test_accuracy of one random repeat. Raises
        OutOfDomainError for a spec outside the space."""
        body = self._spec_body(model_spec)
        body.update(epochs=int(epochs), stop_halfway=bool(stop_halfway), repeat="random")
        if self.rand_seed is not None:
            body["rand_seed"] = self._next_seed()
        ans = self._call("/v1/nb101/query", body)
        self._budget_time += ans["training_time"] or 0.0
        self._budget_epochs += int(epochs) // 2 if stop_halfway else int(epochs)
        keys = ("module_adjacency", "module_operations", "trainable_parameters", "training_time",
                "train_accuracy", "validation_accuracy", "test_accuracy")
        return {k: ans[k] for k in keys}

    def get_metrics_from_hash(self, module_hash):
        """nasbench ``get_metrics_from_hash``: (fixed_stat, computed_stat),
        computed_stat keyed by the budget in epochs (int)."""
        ans = self._call("/v1/nb101/metrics", {"hash": module_hash})
        return ans["fixed"], {int(k): v for k, v in ans["computed"].items()}

    def get_metrics_from_spec(self, model_spec):
        ans = self._call("/v1/nb101/metrics", self._spec_body(model_spec))
        return ans["fixed"], {int(k): v for k, v in ans["computed"].items()}

    def hash_iterator(self):
        """Every module hash of the table, ascending."""
        ans = self._call("/v1/nb101/batch", {"queries": [{"name": "v", "metric": "final_validation_accuracy"}]})
        return iter(ans["hash"])

    def get_budget_counters(self):
        return self._budget_time, self._budget_epochs

    def reset_budget_counters(self):
        self._budget_time, self._budget_epochs = 0.0, 0


class NASBench(API):
    """``nasbench.api.NASBench`` over the server: ``NASBench(url)``."""

    def __init__(self, url="http://127.0.0.1:8201", timeout=60.0, rand_seed=None):
        super().__init__(url, bench="nb101", timeout=timeout, rand_seed=rand_seed)

