"""Benchmark ``prd``: the generator's gradients and the training loop, numba twins against the NumPy references.

Two kinds of rows, all timed in one run at one BLAS thread (pinned with threadpoolctl: both twins keep the
matrix products in NumPy's BLAS and the kernels are serial, so one thread compares like with like):

- one gradient evaluation: the supervised kernel (L_sup), the adversarial kernel (L_adv), and L_aug two
  ways: the sum of both kernels, and the shifted-target route of :func:`refimpl.prd.model.augmented_parts`
  that the training loop uses (one pass of the supervised kernel with targets Y + ∇g(Z));
- the training loop itself: ``steps`` Euler steps of :func:`refimpl.prd.flow.train` under L_sup and under
  L_aug with a gradient-penalty critic trained by ascent, at the sizes of ``prd-theory`` (d_out = 1, V
  frozen) and ``prd-mnist`` (d_out = 10), with the steps and critic rates of those experiments.

Our numba twin rows have ``ours=True``; the NumPy reference twin rows have ``ours=False`` and
implementation "numpy reference", so the harness adds ``speedup_vs_numpy_reference``. The inputs are
random unit vectors (the time of a step does not depend on which digits they are). Run with
``refimpl bench prd``.
"""

import os

import numpy as np
from threadpoolctl import threadpool_limits

from refimpl.bench import bench_row, register_bench, time_call
from refimpl.prd import flow, model, theory

# n, d_in, m, d_out
SIZES = {"theory": (16, 10, 256, 1), "mnist-quick": (100, 784, 144, 10), "mnist-full": (500, 784, 256, 10)}
IMPLEMENTATIONS = (("numba", "numba", True), ("numpy", "numpy reference", False))  # backend, name, ours


def _augmented_by_sum(X, Y, U, V, W, a, backend):
    model.supervised_gradient(X, Y, U, V, backend=backend)
    model.adversarial_gradient(X, U, V, W, a, backend=backend)


def _problem(rng, n, d_in, m, d_out):
    X = model.normalise_inputs(rng.standard_normal((n, d_in)))
    U, V = model.init_generator(rng, d_in, d_out, m)
    W, a = model.init_critic(rng, d_out, m)
    return X, rng.standard_normal((n, d_out)), U, V, W, a


def _rows(case, call, timing_options, **extra):
    """A numba row and a NumPy-reference row of ``call(backend)``."""
    return [bench_row(case, name, time_call(lambda b=backend: call(b), **timing_options), ours=ours, threads=1,
                      dtype="float64", **extra) for backend, name, ours in IMPLEMENTATIONS]


def _gradient_rows(label, problem, timing_options):
    X, Y, U, V, W, a = problem
    calls = {
        "L_sup": lambda b: model.supervised_gradient(X, Y, U, V, backend=b),
        "L_adv": lambda b: model.adversarial_gradient(X, U, V, W, a, backend=b),
        "L_aug (sum of kernels)": lambda b: _augmented_by_sum(X, Y, U, V, W, a, b),
        "L_aug (shifted targets)": lambda b: model.augmented_parts(X, Y, U, V, W, a, backend=b),
    }
    (n, d_in), m, d_out = X.shape, U.shape[0], V.shape[0]
    return [row for name, call in calls.items()
            for row in _rows(f"{name} gradient, {label} (n={n}, d_in={d_in}, m={m}, d_out={d_out})", call,
                             timing_options)]


def _loop_rows(label, problem, steps, timing_options):
    """``steps`` Euler steps of flow.train as the experiment of that size runs them, without and with diffusion."""
    X, Y, U, V, W, a = problem
    lambda_max = float(np.linalg.eigvalsh(theory.gram_infinity(X))[-1])
    if label == "theory":  # prd-theory: dt = 0.5/λ_max, V frozen, critic step 0.25·dt
        dt, train_V, critic_rate = 0.5 / lambda_max, False, 0.25
    else:  # prd-mnist's loop (V trained, critic step 0.05 absolute) at dt = 0.5/λ_max: with Gaussian inputs and
        # targets in place of digits, prd-mnist's 1/λ_max diverges within 200 steps (the bench times, it does not fit)
        dt, train_V, critic_rate = 0.5 / lambda_max, True, 0.1 * lambda_max
    critic = flow.CriticSettings(rate=critic_rate, regulariser="penalty", penalty=10.0)
    common = dict(dt=dt, steps=steps, train_V=train_V, checkpoints=1)
    calls = {
        "L_sup": lambda b: flow.train(X, Y, U, V, adversarial=False, backend=b, **common),
        "L_aug, GP critic": lambda b: flow.train(X, Y, U, V, adversarial=True, W=W, a=a, critic=critic,
                                                 rng=np.random.default_rng(0), backend=b, **common),
    }
    (n, d_in), m, d_out = X.shape, U.shape[0], V.shape[0]
    return [row for name, call in calls.items()
            for row in _rows(f"{steps} Euler steps of flow.train, {name}, {label} (n={n}, d_in={d_in}, m={m}, "
                             f"d_out={d_out})", call, timing_options, work=steps, work_unit="Euler steps")]


@register_bench("prd")
def bench_prd(quick, backend="cpu"):
    """Seconds per gradient and per training loop of ``steps`` Euler steps: numba twin and NumPy reference;
    with ``backend="cuda"`` the GPU gradients at paper scale (:func:`refimpl.prd.bench_cuda.bench_prd_cuda`)."""
    if backend == "cuda":
        from refimpl.prd.bench_cuda import bench_prd_cuda

        return bench_prd_cuda(quick)
    rng = np.random.default_rng(0)
    gradient_timing = dict(repeat=3, min_seconds=0.05) if quick else dict(repeat=7, min_seconds=1.0)
    loop_timing = dict(repeat=2, min_seconds=0.05) if quick else dict(repeat=5, min_seconds=1.0)
    steps = 20 if quick else 200
    sizes = {k: v for k, v in SIZES.items() if not (quick and k == "mnist-full")}
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for label, size in sizes.items():
            problem = _problem(rng, *size)
            rows += _gradient_rows(label, problem, gradient_timing)
            rows += _loop_rows(label, problem, steps, loop_timing)
    notes = {"cpu_count": os.cpu_count(), "blas_threads": 1, "loop_steps": steps,
             "data": "random unit inputs and N(0, 1) targets; the initialisation of Theorems 1-2"}
    return {"rows": rows, "notes": notes}
