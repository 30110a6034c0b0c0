"""Benchmark ``dynsys``: the mass-preserving Runge-Kutta rollout, NumPy reference against its numba twin.

Both twins advance the same points by the same number of steps in one run; the numba kernel's first call
(compilation, or loading from the cache) is reported apart from the steady state.
"""

import numpy as np

from refimpl.bench import register_bench, time_call
from refimpl.dynsys.kernels import mass_rollout

FULL = [(3, 16, 1000), (5, 16, 1000), (8, 64, 1000)]  # (d, n points, steps)
QUICK = [(3, 16, 200), (5, 16, 200)]


@register_bench("dynsys")
def bench_dynsys(quick):
    rows = []
    rng = np.random.default_rng(0)
    for d, n, steps in QUICK if quick else FULL:
        x, U, u = rng.standard_normal((n, d)), rng.standard_normal((d * d, d)) / np.sqrt(d), rng.standard_normal(d * d)
        for method in ("euler", "rk4"):
            times = {backend: time_call(lambda b=backend: mass_rollout(x, U, u, 0.05, steps, method, backend=b),
                                        repeat=3) for backend in ("numpy", "numba")}
            rows.append({"method": method, "d": d, "n": n, "steps": steps,
                         "numpy_s": times["numpy"]["best"], "numba_s": times["numba"]["best"],
                         "numba_first_s": times["numba"]["first"],
                         "speedup": times["numpy"]["best"] / times["numba"]["best"]})
    return {"rows": rows}
