"""Time sklearn's MLPRegressor((1000,)*4): one epoch on 1,000 NB201 one-hot rows
and the prediction of all 15,625 cells (the peer of BenchmarkPaperMLPEpoch).

usage: /usr/bin/python3 bench_sklearn_mlp.py [EPOCHS]
Prints "sklearn epoch_s=... predict_s=... epoch_cpu_ms=... predict_cpu_ms=..." (wall seconds,
process CPU milliseconds over all threads; best of 3 predictions).
"""
import itertools
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
cells = np.array(list(itertools.product(range(5), repeat=6)))  # 15,625 x 6 op ids
X = np.zeros((len(cells), 30))
for e in range(6):
    X[np.arange(len(cells)), e * 5 + cells[:, e]] = 1
rng = np.random.default_rng(1)
y = X @ rng.normal(size=30) + 0.1 * rng.normal(size=len(X))
idx = rng.permutation(len(X))[:1000]
m = MLPRegressor(hidden_layer_sizes=(1000,) * 4, max_iter=epochs, n_iter_no_change=10**6, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    t0, c0 = time.perf_counter(), time.process_time()
    m.fit(X[idx], y[idx])
    fit, fitc = time.perf_counter() - t0, time.process_time() - c0
pred = []
for _ in range(3):
    t0, c0 = time.perf_counter(), time.process_time()
    m.predict(X)
    pred.append((time.perf_counter() - t0, time.process_time() - c0))
pw, pc = min(pred)
print(f"sklearn epoch_s={fit / m.n_iter_:.4f} predict_s={pw:.4f} epoch_cpu_ms={1000 * fitc / m.n_iter_:.1f} predict_cpu_ms={1000 * pc:.1f}")
