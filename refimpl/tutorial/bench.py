"""Benchmark ``tutorial``: one training step of the three-layer CNN on a batch of 64 MNIST digits.

Forward pass, softmax cross-entropy, backward pass and an SGD update, timed in one run for the numba
kernels (all threads and one thread), the NumPy reference kernels, and torch on the CPU (float64, the
same architecture and parameters, at its default thread count and at one thread; only when torch is
installed). Ratios are best times relative to numba at its default thread count.
"""

import numpy as np

from refimpl.bench import register_bench, time_call, torch_available
from refimpl.core import optim
from refimpl.core.backend import numba_threads
from refimpl.data import load_mnist
from refimpl.tutorial.model import ThreeLayerConvNet

BATCH_SIZE = 64
LR = 0.01


@register_bench("tutorial")
def bench_tutorial(quick):
    import numba

    x, labels = (a[:BATCH_SIZE] for a in load_mnist().flat()[:2])
    params = ThreeLayerConvNet().init_params(np.random.default_rng(0))
    options = {"repeat": 3, "min_seconds": 0.2} if quick else {"repeat": 7, "min_seconds": 1.0}
    rows = []

    def add(implementation, threads, step):
        timing = time_call(step, **options)
        rows.append({"implementation": implementation, "threads": threads, "first_s": timing["first"],
                     "best_ms": 1e3 * timing["best"], "median_ms": 1e3 * timing["median"]})

    add("numba", numba.get_num_threads(), _refimpl_step("numba", params, x, labels))
    with numba_threads(1):
        add("numba", 1, _refimpl_step("numba", params, x, labels))
    add("numpy reference", "BLAS", _refimpl_step("numpy", params, x, labels))
    if torch_available():
        from refimpl.crosscheck import torch_reference

        torch_threads = torch_reference.get_num_threads()
        add("torch CPU float64", torch_threads, torch_reference.three_layer_cnn_sgd_step(params, x, labels, LR))
        torch_reference.set_num_threads(1)
        try:
            add("torch CPU float64", 1, torch_reference.three_layer_cnn_sgd_step(params, x, labels, LR))
        finally:
            torch_reference.set_num_threads(torch_threads)
    numba_best = rows[0]["best_ms"]
    for row in rows:
        row["time_vs_numba"] = row["best_ms"] / numba_best
    return {"rows": rows, "batch_size": BATCH_SIZE, "step": "forward + softmax cross-entropy + backward + SGD",
            "architecture": "conv 8@5x5 (pad 2), ReLU, 2x2 max-pool, affine 1568->100, ReLU, affine 100->10",
            "ratios": {f"{row['implementation']} ({row['threads']} threads) / numba": row["time_vs_numba"]
                       for row in rows[1:]}}


def _refimpl_step(backend, params, x, labels):
    network = ThreeLayerConvNet(backend=backend)
    params = {k: v.copy() for k, v in params.items()}
    optimizer = optim.SGD(lr=LR)

    def step():
        _, grads = network.loss(params, x, labels)
        optimizer.step(params, grads)

    return step
