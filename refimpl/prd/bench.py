"""Benchmark ``prd``: the generator's gradient under L_sup and L_aug, NumPy against numba, per step.

Rows time one gradient evaluation (first call apart: it includes numba's compilation or cache load):
the supervised kernel, the adversarial kernel, and L_aug two ways: the sum of both kernels, and the
shifted-target route of :func:`refimpl.prd.model.augmented_parts` that the training loop uses (one
pass of the supervised kernel with targets Y + ∇g(Z)). Run with ``refimpl bench prd``.
"""

import numpy as np

from refimpl.bench import register_bench, time_call
from refimpl.prd import model

SIZES = {"theory": (16, 10, 256, 1), "mnist-quick": (100, 784, 144, 10), "mnist-full": (500, 784, 256, 10)}


def _augmented_by_sum(X, Y, U, V, W, a, backend):
    model.supervised_gradient(X, Y, U, V, backend=backend)
    model.adversarial_gradient(X, U, V, W, a, backend=backend)


@register_bench("prd")
def bench_prd(quick):
    rng = np.random.default_rng(0)
    rows, repeat = [], 3 if quick else 7
    sizes = {k: v for k, v in SIZES.items() if not (quick and k == "mnist-full")}
    for label, (n, d_in, m, d_out) in sizes.items():
        X = model.normalise_inputs(rng.standard_normal((n, d_in)))
        Y = rng.standard_normal((n, d_out))
        U, V = model.init_generator(rng, d_in, d_out, m)
        W, a = model.init_critic(rng, d_out, m)
        calls = {
            "L_sup": lambda b: model.supervised_gradient(X, Y, U, V, backend=b),
            "L_adv": lambda b: model.adversarial_gradient(X, U, V, W, a, backend=b),
            "L_aug (sum of kernels)": lambda b: _augmented_by_sum(X, Y, U, V, W, a, b),
            "L_aug (shifted targets)": lambda b: model.augmented_parts(X, Y, U, V, W, a, backend=b),
        }
        for name, call in calls.items():
            times = {b: time_call(lambda: call(b), repeat=repeat, min_seconds=0.05) for b in ("numpy", "numba")}
            rows.append({"size": label, "n, d_in, m, d_out": f"{n}, {d_in}, {m}, {d_out}", "gradient": name,
                         "numpy_ms": 1e3 * times["numpy"]["median"], "numba_ms": 1e3 * times["numba"]["median"],
                         "numba_first_s": times["numba"]["first"],
                         "numpy_over_numba": times["numpy"]["median"] / times["numba"]["median"]})
    return {"rows": rows}
