r"""CUDA twins of the PRD gradients (``numba.cuda``), imported only when ``backend="cuda"`` is asked for.

Same equations as :mod:`refimpl.prd.kernels`; each dense product is one launch of a small
one-thread-per-output-element kernel (:func:`_product`), the ReLUs and masks are element-wise kernels.
Readable rather than tuned: the arrays of this model are small, the point is a third implementation
that a test can hold against the other two (run with ``NUMBA_ENABLE_CUDASIM=1`` on a CPU).
"""

import math

import numpy as np
from numba import cuda

_BLOCK = (8, 8)  # small arrays; a small block also keeps the CPU simulator quick


@cuda.jit
def _product(A, B, out, scale, transpose_a, transpose_b):
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
def _relu(pre_activation, hidden):
    i, j = cuda.grid(2)
    if i < hidden.shape[0] and j < hidden.shape[1]:
        hidden[i, j] = max(pre_activation[i, j], 0.0)


@cuda.jit
def _mask(values, pre_activation, scale):
    """values ← scale · values · 1{pre_activation > 0}, in place."""
    i, j = cuda.grid(2)
    if i < values.shape[0] and j < values.shape[1]:
        values[i, j] = scale * values[i, j] if pre_activation[i, j] > 0 else 0.0


@cuda.jit
def _subtract(values, target):
    i, j = cuda.grid(2)
    if i < values.shape[0] and j < values.shape[1]:
        values[i, j] -= target[i, j]


@cuda.jit
def _critic_gates(Q, a, critic_scale, G, positive_part):
    """G = c · 1{Q > 0} ⊙ a and σ(Q), element-wise."""
    p, r = cuda.grid(2)
    if p < Q.shape[0] and r < Q.shape[1]:
        active = Q[p, r] > 0
        G[p, r] = critic_scale * a[r] if active else 0.0
        positive_part[p, r] = Q[p, r] if active else 0.0


def _grid(shape):
    return (math.ceil(shape[0] / _BLOCK[0]), math.ceil(shape[1] / _BLOCK[1]))


def _launch(kernel, shape, *args):
    kernel[_grid(shape), _BLOCK](*args)


def _matmul(A, B, shape, scale=1.0, transpose_a=False, transpose_b=False):
    out = cuda.device_array(shape, dtype=np.float64)
    _launch(_product, shape, A, B, out, scale, transpose_a, transpose_b)
    return out


def _hidden_layer(X, U):
    """P = X Uᵀ and H = σ(P) on the device."""
    shape = (X.shape[0], U.shape[0])
    pre_activation = _matmul(X, U, shape, transpose_b=True)
    hidden = cuda.device_array(shape, dtype=np.float64)
    _launch(_relu, shape, pre_activation, hidden)
    return pre_activation, hidden


def _backward_to_U(X, V, dZ, pre_activation, scale):
    """dU = (s · dZ V ⊙ 1{P > 0})ᵀ X."""
    dhidden = _matmul(dZ, V, pre_activation.shape)
    _launch(_mask, dhidden.shape, dhidden, pre_activation, scale)
    return _matmul(dhidden, X, (V.shape[1], X.shape[1]), transpose_a=True)


def _to_device(*arrays):
    return [cuda.to_device(np.ascontiguousarray(v, dtype=np.float64)) for v in arrays]


def supervised_gradient_cuda(X, Y, U, V, scale):
    """CUDA twin of ``prd_supervised_gradient``: returns (L_sup, dU, dV)."""
    X, Y, U, V = _to_device(X, Y, U, V)
    pre_activation, hidden = _hidden_layer(X, U)
    residual = _matmul(hidden, V, Y.shape, scale, transpose_b=True)
    _launch(_subtract, Y.shape, residual, Y)
    dV = _matmul(residual, hidden, V.shape, scale, transpose_a=True)
    dU = _backward_to_U(X, V, residual, pre_activation, scale)
    residual = residual.copy_to_host()
    return 0.5 * float(np.sum(residual**2)), dU.copy_to_host(), dV.copy_to_host()


def adversarial_gradient_cuda(X, U, V, W, a, scale, critic_scale):
    """CUDA twin of ``prd_adversarial_gradient``: returns (L_adv, dU, dV, dW, da)."""
    X, U, V, W, a = _to_device(X, U, V, W, a)
    n, d_out, m_c = X.shape[0], V.shape[0], W.shape[0]
    pre_activation, hidden = _hidden_layer(X, U)
    Z = _matmul(hidden, V, (n, d_out), scale, transpose_b=True)
    Q = _matmul(Z, W, (n, m_c), transpose_b=True)
    G = cuda.device_array((n, m_c), dtype=np.float64)
    positive_part = cuda.device_array((n, m_c), dtype=np.float64)
    _launch(_critic_gates, (n, m_c), Q, a, float(critic_scale), G, positive_part)
    dW = _matmul(G, Z, (m_c, d_out), transpose_a=True)
    dZ = _matmul(G, W, (n, d_out))
    dV = _matmul(dZ, hidden, V.shape, scale, transpose_a=True)
    dU = _backward_to_U(X, V, dZ, pre_activation, scale)
    column_sums = critic_scale * positive_part.copy_to_host().sum(axis=0)  # da; the loss is aᵀ da
    return (float(column_sums @ a.copy_to_host()), dU.copy_to_host(), dV.copy_to_host(), dW.copy_to_host(),
            column_sums)
