"""Benchmark ``core``: the hand-derived two-layer squared-error gradient against torch autograd.

One configuration, as the foundation issue fixes it: n = 1000 samples, d_in = 784, m = 1024 hidden
units, d_out = 10, float64. The NumPy reference, its numba twin and torch's autograd (forward and
backward of the same loss, same data) are timed in one run; ratios are times relative to torch.
"""

import os

import numpy as np

from refimpl.bench import register_bench, time_call, torch_available
from refimpl.core.kernels import two_layer_squared_error_gradient


@register_bench("core")
def bench_core(quick):
    """Seconds per gradient evaluation and the ratio torch / ours (> 1: ours is faster)."""
    n, d_in, m, d_out = (200, 784, 256, 10) if quick else (1000, 784, 1024, 10)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    U, V = rng.standard_normal((m, d_in)), rng.standard_normal((d_out, m))
    scale = 1.0 / np.sqrt(d_out * m)
    repeat = 3 if quick else 10
    timings = {name: time_call(lambda b=name: two_layer_squared_error_gradient(X, Y, U, V, scale, backend=b),
                               repeat=repeat, min_seconds=0.05) for name in ("numpy", "numba")}
    result = {"shape": {"n": n, "d_in": d_in, "m": m, "d_out": d_out}, "cpu_count": os.cpu_count()}
    if torch_available():
        timings["torch"], agreement = _time_torch(X, Y, U, V, scale, repeat)
        result["torch_max_rel_diff"] = agreement
    rows = [{"implementation": name, "best_s": t["best"], "median_s": t["median"], "first_call_s": t["first"]}
            for name, t in timings.items()]
    if "torch" in timings:
        for row in rows:
            row["torch_over_this"] = timings["torch"]["best"] / timings[row["implementation"]]["best"]
    result["rows"] = rows
    return result


def _time_torch(X, Y, U, V, scale, repeat):
    from refimpl.crosscheck import torch_reference

    gradient = torch_reference.two_layer_squared_error_gradient(X, Y, U, V, scale)
    timing = time_call(gradient, repeat=repeat, min_seconds=0.05)
    _, dU, dV = two_layer_squared_error_gradient(X, Y, U, V, scale, backend="numpy")
    _, dU_torch, dV_torch = gradient()
    difference = max(np.max(np.abs(dU - dU_torch)) / np.max(np.abs(dU)),
                     np.max(np.abs(dV - dV_torch)) / np.max(np.abs(dV)))
    return timing, float(difference)
