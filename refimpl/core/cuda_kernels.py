r"""CUDA twin of the core kernel ``"two_layer_squared_error_gradient"`` (``numba.cuda``), and the device
helpers other CUDA twins build on (imported only when ``backend="cuda"`` is asked for).

Same equations as :mod:`refimpl.core.kernels`. Each dense product is one launch of a small
one-thread-per-output-element kernel (:func:`product_kernel`), the ReLU and the mask are element-wise
kernels, all on a grid of :data:`BLOCK` blocks covering the output (:func:`launch`). Readable rather than
tuned: the point is a third implementation a test can hold against the other two (run with
``NUMBA_ENABLE_CUDASIM=1`` on a CPU).

Public helpers, reused by the CUDA twins of topics (e.g. :mod:`refimpl.prd.cuda_kernels`):

- kernels: :func:`product_kernel`, :func:`relu_kernel`, :func:`mask_kernel`, :func:`subtract_kernel`;
- host functions: :func:`launch`, :func:`matmul`, :func:`hidden_layer`, :func:`backward_to_U`,
  :func:`to_device`.
"""

import math

import numpy as np
from numba import cuda

BLOCK = (8, 8)  # threads per block; small, which also keeps the CPU simulator quick


@cuda.jit
def product_kernel(A, B, out, scale, transpose_a, transpose_b):
    """out = scale · op(A) op(B), op = transpose when the flag is set; one thread per out[i, j]."""
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        inner = A.shape[0] if transpose_a else A.shape[1]
        total = 0.0
        for k in range(inner):
            left = A[k, i] if transpose_a else A[i, k]
            right = B[j, k] if transpose_b else B[k, j]
            total += left * right
        out[i, j] = scale * total


@cuda.jit
def relu_kernel(pre_activation, hidden):
    """hidden = max(pre_activation, 0), element-wise."""
    i, j = cuda.grid(2)
    if i < hidden.shape[0] and j < hidden.shape[1]:
        hidden[i, j] = max(pre_activation[i, j], 0.0)


@cuda.jit
def mask_kernel(values, pre_activation, scale):
    """values ← scale · values · 1{pre_activation > 0}, in place."""
    i, j = cuda.grid(2)
    if i < values.shape[0] and j < values.shape[1]:
        values[i, j] = scale * values[i, j] if pre_activation[i, j] > 0 else 0.0


@cuda.jit
def subtract_kernel(values, target):
    """values ← values − target, in place."""
    i, j = cuda.grid(2)
    if i < values.shape[0] and j < values.shape[1]:
        values[i, j] -= target[i, j]


def launch(kernel, shape, *args):
    """Launch a 2-D element-wise ``kernel(*args)`` on enough :data:`BLOCK` blocks to cover ``shape``."""
    blocks = (math.ceil(shape[0] / BLOCK[0]), math.ceil(shape[1] / BLOCK[1]))
    kernel[blocks, BLOCK](*args)


def matmul(A, B, shape, scale=1.0, transpose_a=False, transpose_b=False):
    """A new device array of ``shape``: scale · op(A) op(B) (:func:`product_kernel`)."""
    out = cuda.device_array(shape, dtype=np.float64)
    launch(product_kernel, shape, A, B, out, scale, transpose_a, transpose_b)
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
    """Copy each array to the device as contiguous float64."""
    return [cuda.to_device(np.ascontiguousarray(v, dtype=np.float64)) for v in arrays]


def two_layer_squared_error_gradient_cuda(X, Y, U, V, scale):
    """CUDA twin of ``"two_layer_squared_error_gradient"``: returns (loss, dU, dV) as host arrays.

    With R = s H Vᵀ − Y: dV = s Rᵀ H, dU = (s R V ⊙ 1{P > 0})ᵀ X, loss = ½ ‖R‖² (the module
    docstring of :mod:`refimpl.core.kernels`).
    """
    X, Y, U, V = to_device(X, Y, U, V)
    pre_activation, hidden = hidden_layer(X, U)
    residual = matmul(hidden, V, Y.shape, scale, transpose_b=True)
    launch(subtract_kernel, Y.shape, residual, Y)
    dV = matmul(residual, hidden, V.shape, scale, transpose_a=True)
    dU = backward_to_U(X, V, residual, pre_activation, scale)
    residual = residual.copy_to_host()
    return 0.5 * float(np.sum(residual**2)), dU.copy_to_host(), dV.copy_to_host()
