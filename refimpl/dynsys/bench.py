"""Benchmark ``dynsys``: the mass-preserving Runge-Kutta rollout, NumPy reference against its numba twin.

Both twins (kernel ``"dynsys_mass_rollout"``, called directly: the inputs are validated once, outside the
timed region) advance the same points by the same number of steps in one run, on one thread each. The
NumPy twin is the baseline (``ours=False``, implementation ``"numpy reference"``): the point is the numba
kernel's speed-up over it, which the harness adds as ``speedup_vs_numpy_reference``. The numba kernel's
first call (compilation, or loading from the cache) is the row's ``first_call_seconds``.
"""

import numpy as np

from refimpl.bench import bench_row, register_bench, time_call
from refimpl.core.backend import get_kernel
from refimpl.dynsys.kernels import KERNEL

FULL = [(3, 16, 1000), (5, 16, 1000), (8, 64, 1000)]  # (d, n points, steps)
QUICK = [(3, 16, 200), (5, 16, 200)]
H = 0.05
ACTIVATION = "tanh"


@register_bench("dynsys")
def bench_dynsys(quick):
    """Seconds per rollout of each twin, for each (d, n, steps) and Runge-Kutta method."""
    rows = []
    rng = np.random.default_rng(0)
    repeat, min_seconds = (3, 0.05) if quick else (5, 1.0)
    for d, n, steps in QUICK if quick else FULL:
        x, U, u = rng.standard_normal((n, d)), rng.standard_normal((d * d, d)) / np.sqrt(d), rng.standard_normal(d * d)
        for method in ("euler", "rk4"):
            case = f"mass-preserving {method} rollout, d={d}, n={n}, {steps} steps, h={H}, {ACTIVATION}"
            for backend, implementation, ours in (("numpy", "numpy reference", False), ("numba", "numba", True)):
                kernel = get_kernel(KERNEL, backend)
                timing = time_call(lambda k=kernel: k(x, U, u, H, steps, method, ACTIVATION),
                                   repeat=repeat, min_seconds=min_seconds)
                rows.append(bench_row(case, implementation, timing, ours=ours, threads=1, dtype="float64",
                                      work=n * steps, work_unit="sample-steps", method=method, d=d, n=n,
                                      steps=steps))
    return {"rows": rows, "notes": {"h": H, "activation": ACTIVATION}}
