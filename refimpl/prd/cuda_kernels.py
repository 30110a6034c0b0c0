r"""CUDA twin of the PRD adversarial gradient (``numba.cuda``), imported only when ``backend="cuda"`` is asked for.

Same equations as :mod:`refimpl.prd.kernels`, built from the device helpers of
:mod:`refimpl.core.cuda_kernels` (products, ReLU, mask; the supervised gradient's CUDA twin is core's,
``two_layer_squared_error_gradient_cuda``) and one element-wise kernel of the critic's gates.
Readable rather than tuned (run with ``NUMBA_ENABLE_CUDASIM=1`` on a CPU).
"""

import numpy as np
from numba import cuda

from refimpl.core.cuda_kernels import backward_to_U, hidden_layer, launch, matmul, to_device


@cuda.jit
def _critic_gates(Q, a, critic_scale, G, positive_part):
    """G = c · 1{Q > 0} ⊙ a and σ(Q), element-wise."""
    p, r = cuda.grid(2)
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
    column_sums = critic_scale * positive_part.copy_to_host().sum(axis=0)  # da; the loss is aᵀ da
    return (float(column_sums @ a.copy_to_host()), dU.copy_to_host(), dV.copy_to_host(), dW.copy_to_host(),
            column_sums)
