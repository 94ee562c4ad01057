"""Fit sklearn's MLPRegressor from given initial weights (TestMLPMatchesSklearn).

usage: /usr/bin/python3 sklearn_mlp.py IN.json OUT.json
IN: {"X": [[...]], "y": [...], "hidden": [...], "epochs": E, "float32": bool,
     "coefs": [[...] per layer, row-major fan_in x fan_out], "intercepts": [[...]],
     "predict": [[...]]}
OUT: {"version": sklearn.__version__, "loss_curve": [...], "predict": [...], "n_iter": n}
Exit 3 when sklearn is missing.
"""
import json
import sys
import warnings

try:
    import numpy as np
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor
except ImportError as e:
    print(f"sklearn missing: {e}", file=sys.stderr)
    sys.exit(3)

inp = json.load(open(sys.argv[1]))
dt = np.float32 if inp["float32"] else np.float64
X = np.asarray(inp["X"], dtype=dt)
y = np.asarray(inp["y"], dtype=dt)
hidden = tuple(inp["hidden"])
sizes = [X.shape[1], *hidden, 1]

m = MLPRegressor(hidden_layer_sizes=hidden, max_iter=1, shuffle=False, warm_start=True, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    m.fit(X, y)  # sets every attribute; the weights are replaced below
m.coefs_ = [np.asarray(c, dtype=dt).reshape(a, b) for c, a, b in zip(inp["coefs"], sizes[:-1], sizes[1:])]
m.intercepts_ = [np.asarray(b, dtype=dt) for b in inp["intercepts"]]
# Back to the state _initialize leaves (warm_start keeps the weights; the
# optimizer is rebuilt by fit because incremental is False).
m.loss_curve_, m.best_loss_, m._no_improvement_count, m.n_iter_, m.t_ = [], np.inf, 0, 0, 0
m.max_iter = inp["epochs"]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    m.fit(X, y)
P = np.asarray(inp["predict"], dtype=dt)
json.dump({"version": sklearn.__version__, "loss_curve": [float(v) for v in m.loss_curve_],
           "predict": [float(v) for v in m.predict(P)], "n_iter": m.n_iter_}, open(sys.argv[2], "w"))
