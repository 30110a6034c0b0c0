"""Benchmark ``core``: the hand-derived two-layer squared-error gradient against torch autograd.

One configuration, as the foundation issue fixes it: n = 1000 samples, d_in = 784, m = 1024 hidden
units, d_out = 10, float64. The NumPy reference, its numba twin and torch's autograd (forward and
backward of the same loss, same data) are timed in one run, torch on as many intra-op threads as NumPy's BLAS
has (``OPENBLAS_NUM_THREADS=1`` does not reach torch); each row records its thread count and the harness
computes ``speedup_vs_torch_autograd`` where they are equal.
"""

import os

import numpy as np

from refimpl.bench import bench_row, register_bench, time_call, torch_available
from refimpl.core.kernels import two_layer_squared_error_gradient


@register_bench("core")
def bench_core(quick):
    """Seconds per gradient evaluation: NumPy reference, numba twin and torch autograd, one run."""
    n, d_in, m, d_out = (200, 784, 256, 10) if quick else (1000, 784, 1024, 10)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    U, V = rng.standard_normal((m, d_in)), rng.standard_normal((d_out, m))
    scale = 1.0 / np.sqrt(d_out * m)
    repeat, min_seconds = (3, 0.05) if quick else (5, 1.0)  # full: each timed sample lasts >= 1 s
    case = f"two-layer gradient n={n} d_in={d_in} m={m} d_out={d_out}"
    threads = _blas_threads()
    rows = [bench_row(case, name, time_call(lambda b=name: two_layer_squared_error_gradient(X, Y, U, V, scale, backend=b),
                                            repeat=repeat, min_seconds=min_seconds),
                      ours=True, threads=threads, dtype="float64") for name in ("numpy", "numba")]
    notes = {"cpu_count": os.cpu_count()}
    if torch_available():
        from refimpl.crosscheck import torch_reference

        before = torch_reference.get_num_threads()
        torch_reference.set_num_threads(threads)
        try:
            timing, agreement = _time_torch(X, Y, U, V, scale, repeat, min_seconds)
            torch_threads = torch_reference.get_num_threads()
        finally:
            torch_reference.set_num_threads(before)
        rows.append(bench_row(case, "torch autograd", timing, ours=False, threads=torch_threads, dtype="float64",
                              max_rel_diff_to_numpy=agreement))
    return {"rows": rows, "notes": notes}


def _blas_threads():
    """Threads of NumPy's BLAS (the products of every implementation here), as threadpoolctl reports them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count()
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts) if counts else 1


def _time_torch(X, Y, U, V, scale, repeat, min_seconds):
    from refimpl.crosscheck import torch_reference

    gradient = torch_reference.two_layer_squared_error_gradient(X, Y, U, V, scale)
    timing = time_call(gradient, repeat=repeat, min_seconds=min_seconds)
    _, dU, dV = two_layer_squared_error_gradient(X, Y, U, V, scale, backend="numpy")
    _, dU_torch, dV_torch = gradient()
    difference = max(np.max(np.abs(dU - dU_torch)) / np.max(np.abs(dU)),
                     np.max(np.abs(dV - dV_torch)) / np.max(np.abs(dV)))
    return timing, float(difference)
