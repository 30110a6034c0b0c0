r"""CUDA twin of the core kernel ``"two_layer_squared_error_gradient"`` (``numba.cuda``), and the device
helpers other CUDA twins build on (imported only when ``backend="cuda"`` is asked for).

Same equations as :mod:`refimpl.core.kernels`. At the sizes of seed 000 (n up to 10k samples, m up to
16k hidden units, d_in = 784) the four large products, :math:`XU^\top`, :math:`RV`, :math:`R^\top H` and
:math:`(\cdot)^\top X`, hold all but a fraction of a percent of the arithmetic; how they run decides the
speed:

- **Matrix products: cuBLAS through CuPy when it is installed** (``cupy.matmul`` on zero-copy views of the
  numba device arrays, ``__cuda_array_interface__``). numba.cuda has no matrix-multiply binding; a
  hand-written tiled kernel reaches a fraction of cuBLAS's rate (no tensor cores, no register blocking
  tuned per GPU), and CuPy's wheels already carry cuBLAS for the device's CUDA version. CuPy is not
  forced on ``pip install refimpl[cuda]`` (its wheels are large and CUDA-specific): the GPU script
  ``benchmarks/gpu/run.sh`` installs the right one.
- **Fallback: a tiled shared-memory GEMM** (:func:`gemm_kernel`: square tiles of :data:`GEMM_TILE`, each
  block loads one tile of op(A) and one of op(B) per step, threadIdx.x along the output's columns) when
  CuPy is missing or the CUDA simulator runs (CuPy has no simulator, so this is the path the CPU tests
  prove).
- **Element-wise passes fused** in numba.cuda kernels on a grid of :data:`BLOCK` (x = column, so a warp
  reads consecutive addresses): the ReLU, the residual with its squared sum (one atomic add per
  thread into the loss), the ReLU mask with the output scale.

Public helpers, reused by the CUDA twins of topics (e.g. :mod:`refimpl.prd.cuda_kernels`):

- kernels: :func:`relu_kernel`, :func:`mask_kernel`, :func:`residual_kernel`;
- host functions: :func:`launch`, :func:`matmul`, :func:`hidden_layer`, :func:`backward_to_U`,
  :func:`to_device`, :func:`cupy_or_none`, and for benchmarks :func:`time_device_call`,
  :func:`copy_bandwidth`, :func:`device_name`.
"""

import functools
import math
import os
import statistics

import numba
import numpy as np
from numba import cuda

BLOCK = (32, 8)  # (x = columns, y = rows) threads per block of the element-wise kernels
GEMM_TILE = 16  # side of the square tiles of the fallback product (16 × 16 threads per block)


@cuda.jit
def relu_kernel(pre_activation, hidden):
    """hidden = max(pre_activation, 0), element-wise."""
    j, i = cuda.grid(2)
    if i < hidden.shape[0] and j < hidden.shape[1]:
        hidden[i, j] = max(pre_activation[i, j], 0.0)


@cuda.jit
def mask_kernel(values, pre_activation, scale):
    """values ← scale · values · 1{pre_activation > 0}, in place."""
    j, i = cuda.grid(2)
    if i < values.shape[0] and j < values.shape[1]:
        values[i, j] = scale * values[i, j] if pre_activation[i, j] > 0 else 0.0


@cuda.jit
def residual_kernel(values, target, squared_sum):
    """values ← values − target in place, and squared_sum[0] += Σ (values − target)²."""
    j, i = cuda.grid(2)
    if i < values.shape[0] and j < values.shape[1]:
        residual = values[i, j] - target[i, j]
        values[i, j] = residual
        cuda.atomic.add(squared_sum, 0, residual * residual)


@functools.lru_cache(maxsize=None)
def gemm_kernel(tile):
    """The tiled product ``out = scale · op(A) op(B)`` for square tiles of side ``tile`` (compile-time)."""

    @cuda.jit
    def kernel(A, B, out, scale, transpose_a, transpose_b):
        tile_a = cuda.shared.array((tile, tile), numba.float64)
        tile_b = cuda.shared.array((tile, tile), numba.float64)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        row, column = cuda.blockIdx.y * tile + ty, cuda.blockIdx.x * tile + tx
        inner = A.shape[0] if transpose_a else A.shape[1]
        total = 0.0
        for start in range(0, inner, tile):
            k_a, k_b = start + tx, start + ty  # this thread loads op(A)[row, k_a] and op(B)[k_b, column]
            tile_a[ty, tx] = 0.0
            if row < out.shape[0] and k_a < inner:
                tile_a[ty, tx] = A[k_a, row] if transpose_a else A[row, k_a]
            tile_b[ty, tx] = 0.0
            if k_b < inner and column < out.shape[1]:
                tile_b[ty, tx] = B[column, k_b] if transpose_b else B[k_b, column]
            cuda.syncthreads()
            for k in range(tile):
                total += tile_a[ty, k] * tile_b[k, tx]
            cuda.syncthreads()
        if row < out.shape[0] and column < out.shape[1]:
            out[row, column] = scale * total

    return kernel


def launch(kernel, shape, *args):
    """Launch a 2-D element-wise ``kernel(*args)`` on enough :data:`BLOCK` blocks to cover ``shape``."""
    blocks = (math.ceil(shape[1] / BLOCK[0]), math.ceil(shape[0] / BLOCK[1]))
    kernel[blocks, BLOCK](*args)


def cupy_or_none():
    """CuPy when it imports and the simulator is off (CuPy needs a real device), else None."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return None
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def matmul(A, B, shape, scale=1.0, transpose_a=False, transpose_b=False):
    """A new device array of ``shape``: scale · op(A) op(B), op = transpose where the flag is set.

    cuBLAS through CuPy when available, else the tiled kernel (see the module docstring).
    """
    cupy = cupy_or_none()
    if cupy is not None:
        left, right = cupy.asarray(A), cupy.asarray(B)
        out = cupy.matmul(left.T if transpose_a else left, right.T if transpose_b else right)
        if scale != 1.0:
            out *= scale
        return cuda.as_cuda_array(out)
    out = cuda.device_array(shape, dtype=np.float64)
    blocks = (math.ceil(shape[1] / GEMM_TILE), math.ceil(shape[0] / GEMM_TILE))
    gemm_kernel(GEMM_TILE)[blocks, (GEMM_TILE, GEMM_TILE)](A, B, out, float(scale), transpose_a, transpose_b)
    return out


def hidden_layer(X, U):
    """P = X Uᵀ and H = σ(P), both (n, m), on the device."""
    shape = (X.shape[0], U.shape[0])
    pre_activation = matmul(X, U, shape, transpose_b=True)
    hidden = cuda.device_array(shape, dtype=np.float64)
    launch(relu_kernel, shape, pre_activation, hidden)
    return pre_activation, hidden


def backward_to_U(X, V, dZ, pre_activation, scale):
    """dU = (s · dZ V ⊙ 1{P > 0})ᵀ X, shape (m, d_in), given dZ = ∂L/∂(network output), (n, d_out)."""
    dhidden = matmul(dZ, V, pre_activation.shape)
    launch(mask_kernel, dhidden.shape, dhidden, pre_activation, scale)
    return matmul(dhidden, X, (V.shape[1], X.shape[1]), transpose_a=True)


def to_device(*arrays):
    """Each array on the device as contiguous float64: host arrays are copied, device arrays passed through
    (benchmarks keep the inputs resident, as the torch reference does)."""
    return [v if hasattr(v, "copy_to_host") else cuda.to_device(np.ascontiguousarray(v, dtype=np.float64))
            for v in arrays]


def two_layer_squared_error_gradient_cuda(X, Y, U, V, scale):
    """CUDA twin of ``"two_layer_squared_error_gradient"``: returns (loss, dU, dV) as host arrays.

    With R = s H Vᵀ − Y: dV = s Rᵀ H, dU = (s R V ⊙ 1{P > 0})ᵀ X, loss = ½ ‖R‖² (the module
    docstring of :mod:`refimpl.core.kernels`).
    """
    X, Y, U, V = to_device(X, Y, U, V)
    pre_activation, hidden = hidden_layer(X, U)
    residual = matmul(hidden, V, Y.shape, scale, transpose_b=True)
    squared_sum = cuda.to_device(np.zeros(1))
    launch(residual_kernel, Y.shape, residual, Y, squared_sum)
    dV = matmul(residual, hidden, V.shape, scale, transpose_a=True)
    dU = backward_to_U(X, V, residual, pre_activation, scale)
    return 0.5 * float(squared_sum.copy_to_host()[0]), dU.copy_to_host(), dV.copy_to_host()


def time_device_call(function, *, repeat=5, min_seconds=0.0):
    """Time ``function()`` (which launches device work) with CUDA events; same keys as
    :func:`refimpl.bench.time_call`: ``first`` (compilation included), ``best``, ``median`` seconds per call.

    Each sample records an event, makes enough calls to last ``min_seconds`` (from the first call's time),
    records a second event and waits for it: the time is the device's, not the host's launch loop.
    Under the CUDA simulator the events carry no time (its numbers are meaningless).
    """
    start, end = cuda.event(), cuda.event()

    def sample(calls):
        start.record()
        for _ in range(calls):
            function()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3 / calls  # milliseconds

    first, estimate = sample(1), sample(1)
    calls = max(1, math.ceil(min_seconds / estimate)) if estimate > 0 else 1  # the simulator's events say -1
    samples = [sample(calls) for _ in range(repeat)]
    return {"first": first, "best": min(samples), "median": statistics.median(samples)}


def device_name():
    """The current device's name, for benchmark notes (the simulator's included)."""
    name = getattr(cuda.get_current_device(), "name", "CUDA simulator")
    return name.decode() if isinstance(name, bytes) else str(name)


@cuda.jit
def _copy_kernel(source, target):
    i = cuda.grid(1)
    if i < source.shape[0]:
        target[i] = source[i]


def copy_bandwidth(n, repeat=5, min_seconds=0.2):
    """Device memory bandwidth in bytes/s: a copy kernel on ``n`` float64 (16 B moved per element)."""
    source, target = cuda.to_device(np.ones(n)), cuda.device_array(n)
    configured = _copy_kernel[math.ceil(n / 256), 256]
    timing = time_device_call(lambda: configured(source, target), repeat=repeat, min_seconds=min_seconds)
    return 16 * n / timing["best"]
