r"""CUDA twin of the PRD adversarial gradient (``numba.cuda``), imported only when ``backend="cuda"`` is asked for.

Same equations as :mod:`refimpl.prd.kernels`, built from the device helpers of
:mod:`refimpl.core.cuda_kernels` (the supervised gradient's CUDA twin is core's,
``two_layer_squared_error_gradient_cuda``): the matrix products run on cuBLAS through CuPy when it is
installed, else on the tiled numba.cuda product (the reasons are in that module's docstring); the
element-wise passes are fused kernels (ReLU, mask, and one pass over the critic's pre-activations Q that
writes the gates G and σ(Q)). The column sums da = c·σ(Q)ᵀ1 are one more product, with a column of ones,
so no atomic adds contend on m_c addresses. Run with ``NUMBA_ENABLE_CUDASIM=1`` on a CPU.
"""

import numpy as np
from numba import cuda

from refimpl.core.cuda_kernels import backward_to_U, hidden_layer, launch, matmul, to_device


@cuda.jit
def _critic_gates(Q, a, critic_scale, G, positive_part):
    """G = c · 1{Q > 0} ⊙ a and σ(Q), element-wise."""
    r, p = cuda.grid(2)  # x along a row of Q: consecutive threads, consecutive addresses
    if p < Q.shape[0] and r < Q.shape[1]:
        active = Q[p, r] > 0
        G[p, r] = critic_scale * a[r] if active else 0.0
        positive_part[p, r] = Q[p, r] if active else 0.0


def adversarial_gradient_cuda(X, U, V, W, a, scale, critic_scale):
    """CUDA twin of ``prd_adversarial_gradient``: returns (L_adv, dU, dV, dW, da)."""
    X, U, V, W, a = to_device(X, U, V, W, a)
    n, d_out, m_c = X.shape[0], V.shape[0], W.shape[0]
    pre_activation, hidden = hidden_layer(X, U)
    Z = matmul(hidden, V, (n, d_out), scale, transpose_b=True)
    Q = matmul(Z, W, (n, m_c), transpose_b=True)
    G = cuda.device_array((n, m_c), dtype=np.float64)
    positive_part = cuda.device_array((n, m_c), dtype=np.float64)
    launch(_critic_gates, (n, m_c), Q, a, float(critic_scale), G, positive_part)
    dW = matmul(G, Z, (m_c, d_out), transpose_a=True)
    dZ = matmul(G, W, (n, d_out))
    dV = matmul(dZ, hidden, V.shape, scale, transpose_a=True)
    dU = backward_to_U(X, V, dZ, pre_activation, scale)
    ones = cuda.to_device(np.ones((n, 1)))
    column_sums = matmul(positive_part, ones, (m_c, 1), float(critic_scale), transpose_a=True)  # da
    column_sums = column_sums.copy_to_host()[:, 0]
    return (float(column_sums @ a.copy_to_host()), dU.copy_to_host(), dV.copy_to_host(), dW.copy_to_host(),
            column_sums)
