"""Benchmark ``prd`` on a GPU: the generator's L_sup and L_adv gradients of seed 000 at paper scale.

:func:`bench_prd_cuda` is what ``refimpl bench prd --backend cuda`` runs (``refimpl/prd/bench.py`` calls
it for ``backend="cuda"``). Rows of the bench schema (``threads`` = 1: one GPU), timed with CUDA events
(:func:`refimpl.core.cuda_kernels.time_device_call`); the inputs stay on the device, one call computes
the loss and the gradients and copies them to host arrays:

- ``"numba.cuda + cuBLAS (CuPy)"`` or ``"numba.cuda tiled"``: our CUDA twins, whichever product path runs
  (see :mod:`refimpl.core.cuda_kernels`);
- ``"torch CUDA autograd"`` (L_sup and L_adv, ``ours=False``) when torch sees a CUDA device: the same loss
  on float64 tensors resident on the device, the gradients copied back as ours are.

``work`` is the floating-point operations of the products (2 × multiply-adds), so ``throughput`` is in
flop/s; ``max_rel_diff_to_torch`` compares the gradients.
"""

import numpy as np

from refimpl.bench import bench_row, torch_available
from refimpl.prd import model

#: (n, d_in, m, d_out, m_c): the MNIST setting of seed 000 at growing width, up to its paper scale
FULL = {"mnist n=10k m=4k": (10_000, 784, 4096, 10, 256), "mnist n=10k m=16k": (10_000, 784, 16_384, 10, 256)}
QUICK = {"mnist n=1k m=1k": (1000, 784, 1024, 10, 64)}


def bench_prd_cuda(quick):
    """L_sup and L_adv gradients on the device, ours against torch's autograd where available."""
    from refimpl.core import cuda_kernels
    from refimpl.prd.cuda_kernels import adversarial_gradient_cuda

    implementation = "numba.cuda tiled" if cuda_kernels.cupy_or_none() is None else "numba.cuda + cuBLAS (CuPy)"
    torch_reference = _torch_reference()
    repeat, min_seconds = (3, 0.05) if quick else (5, 1.0)
    rows, rng = [], np.random.default_rng(0)
    for label, (n, d_in, m, d_out, m_c) in (QUICK if quick else FULL).items():
        X = model.normalise_inputs(rng.standard_normal((n, d_in)))
        Y = rng.standard_normal((n, d_out))
        U, V = model.init_generator(rng, d_in, d_out, m)
        W, a = model.init_critic(rng, d_out, m_c)
        scale = 1.0 / np.sqrt(d_out * m)
        device = cuda_kernels.to_device(X, Y, U, V, W, a)
        supervised_flop = 2 * n * m * (2 * d_in + 3 * d_out)  # XUᵀ, (·)ᵀX; HVᵀ, RᵀH, RV
        adversarial_flop = supervised_flop + 2 * n * m_c * (3 * d_out + 1)  # and ZWᵀ, GᵀZ, GW, σ(Q)ᵀ1
        case = f"L_sup gradient, {label} (n, d_in, m, d_out = {n}, {d_in}, {m}, {d_out})"
        ours = lambda: cuda_kernels.two_layer_squared_error_gradient_cuda(*device[:4], scale)  # noqa: E731
        theirs = torch_reference and torch_reference.two_layer_squared_error_gradient(X, Y, U, V, scale, "cuda")
        rows += _rows(case, implementation, ours, theirs, supervised_flop, repeat, min_seconds)
        case = f"L_adv gradient, {label} (n, d_in, m, d_out, m_c = {n}, {d_in}, {m}, {d_out}, {m_c})"
        critic_scale = 1.0 / np.sqrt(m_c)
        ours = lambda: adversarial_gradient_cuda(device[0], *device[2:], scale, critic_scale)  # noqa: E731
        theirs = torch_reference and torch_reference.adversarial_gradient(X, U, V, W, a, scale, critic_scale, "cuda")
        rows += _rows(case, implementation, ours, theirs, adversarial_flop, repeat, min_seconds)
    notes = {"device": cuda_kernels.device_name(), "products": implementation,
             "torch": "CUDA autograd, float64" if torch_reference is not None else "not available",
             "timing": "CUDA events; inputs resident on the device, gradients copied back to the host"}
    return {"rows": rows, "notes": notes}


def _rows(case, implementation, ours, theirs, flop, repeat, min_seconds):
    """Our row, and torch's before it when ``theirs`` (a callable returning the same tuple) is given; ours then
    carries ``max_rel_diff_to_torch`` over the gradients (the tuple's entries after the loss)."""
    from refimpl.core.cuda_kernels import time_device_call

    rows, extra = [], {}
    if theirs:
        timing = time_device_call(theirs, repeat=repeat, min_seconds=min_seconds)
        rows.append(bench_row(case, "torch CUDA autograd", timing, ours=False, threads=1, dtype="float64", work=flop,
                              work_unit="flop"))
        extra["max_rel_diff_to_torch"] = _max_rel_diff(ours()[1:], theirs()[1:])
    timing = time_device_call(ours, repeat=repeat, min_seconds=min_seconds)
    return [*rows, bench_row(case, implementation, timing, ours=True, threads=1, dtype="float64", work=flop,
                             work_unit="flop", **extra)]


def _torch_reference():
    """``refimpl.crosscheck.torch_reference`` when torch imports and sees a CUDA device, else None."""
    if not torch_available():
        return None
    from refimpl.crosscheck import torch_reference

    return torch_reference if torch_reference.cuda_available() else None


def _max_rel_diff(ours, theirs):
    return max(float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)) for a, b in zip(ours, theirs))
