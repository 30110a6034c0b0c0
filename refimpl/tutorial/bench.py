"""Benchmark ``tutorial``: one training step of the tutorial's CNN on a batch of 64 MNIST digits.

Forward pass, softmax cross-entropy, backward pass and an SGD update (float64), timed in one run for
refimpl's numba kernels, its NumPy reference kernels (``ours=False``, "numpy reference": the point is the
speed-up of the twin) and torch on the CPU (float64, the same architecture and parameters; only when torch
is installed), each at 1 and 2 threads. "Threads" pins every pool the row uses: OpenBLAS (threadpoolctl),
numba and torch; the harness adds ``speedup_vs_<reference>`` at equal thread counts.
"""

from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

from refimpl.bench import bench_row, register_bench, time_call, torch_available
from refimpl.core import optim
from refimpl.core.backend import numba_threads
from refimpl.data import load_mnist
from refimpl.tutorial.model import three_layer_convnet

BATCH_SIZE = 64
LR = 0.01
THREADS = (1, 2)
CASE = "cnn_sgd_step_batch64"


@register_bench("tutorial")
def bench_tutorial(quick):
    x, labels = (a[:BATCH_SIZE] for a in load_mnist().flat()[:2])
    params = three_layer_convnet().init_params(np.random.default_rng(0))
    options = {"repeat": 3, "min_seconds": 0.2} if quick else {"repeat": 7, "min_seconds": 1.0}
    steps = {("numba", True): lambda: _refimpl_step("numba", params, x, labels),
             ("numpy reference", False): lambda: _refimpl_step("numpy", params, x, labels)}
    if torch_available():
        from refimpl.crosscheck import torch_reference

        steps["torch CPU", False] = lambda: torch_reference.conv_net_sgd_step(three_layer_convnet(), params, x,
                                                                               labels, LR)
    rows = []
    for threads in THREADS:
        for (implementation, ours), make_step in steps.items():
            with _pinned_threads(threads):
                step = make_step()
                rows.append(bench_row(CASE, implementation, time_call(step, **options), ours=ours, threads=threads,
                                      dtype="float64"))
    return {"rows": rows, "notes": {
        "batch_size": BATCH_SIZE, "step": "forward + softmax cross-entropy + backward + SGD update",
        "architecture": "conv 8@5x5 (pad 2), 2x2 max-pool, ReLU, affine 1568->100, ReLU, affine 100->10",
        "threads": "OpenBLAS, numba and torch all pinned to the row's thread count"}}


@contextmanager
def _pinned_threads(count):
    """BLAS, numba and (when installed) torch on ``count`` threads inside the block."""
    torch_threads = None
    if torch_available():
        from refimpl.crosscheck import torch_reference

        torch_threads = torch_reference.get_num_threads()
        torch_reference.set_num_threads(count)
    try:
        with threadpool_limits(limits=count), numba_threads(count):
            yield
    finally:
        if torch_threads is not None:
            torch_reference.set_num_threads(torch_threads)


def _refimpl_step(backend, params, x, labels):
    network = three_layer_convnet(backend=backend)
    params = {k: v.copy() for k, v in params.items()}
    optimizer = optim.SGD(lr=LR)

    def step():
        _, grads = network.loss(params, x, labels)
        optimizer.step(params, grads)

    return step
