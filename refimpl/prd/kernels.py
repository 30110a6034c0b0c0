r"""Hot loops of the PRD model: the supervised and the adversarial gradients, as twins.

The supervised gradient (L_sup, eqs. 48-49) *is* the core kernel ``"two_layer_squared_error_gradient"``
of :mod:`refimpl.core.kernels` (NumPy, numba and CUDA twins there); :data:`SUPERVISED` is its name, and its
arguments are ``(X, Y, U, V, scale)``.

``"prd_adversarial_gradient"`` (L_adv, eqs. 50-51 and the critic's gradients), arguments
``(X, U, V, W, a, scale, critic_scale)`` with X (n, d_in), U (m, d_in), V (d_out, m), W (m_c, d_out),
a (m_c,), returns ``(L_adv, dU, dV, dW, da)``:

.. math::
    P = XU^\top,\ H = \sigma(P),\ Z = sHV^\top,\ Q = ZW^\top,\ G = c\,1\{Q>0\}\odot a, \\
    L_{adv} = c \textstyle\sum_{p,r} a_r \sigma(Q_{pr}),\ dW = G^\top Z,\ da = c \textstyle\sum_p \sigma(Q_{p,:}),\
    dV = s (GW)^\top H,\ dU = (s\, GWV \odot 1\{P>0\})^\top X

NumPy reference; numba twin (matrix products in NumPy's BLAS, only the element-wise passes fused in
serial numba kernels, reusing the core kernel's :func:`~refimpl.core.kernels.relu_pass` and
:func:`~refimpl.core.kernels.masked_scale_pass`); CUDA twin registered lazily.
"""

import numpy as np
from numba import njit

from refimpl.core import kernels as core_kernels
from refimpl.core.backend import register, register_lazy

SUPERVISED = core_kernels.KERNEL  # L_sup is the core two-layer squared-error gradient
ADVERSARIAL = "prd_adversarial_gradient"

register_lazy(ADVERSARIAL, "cuda", "refimpl.prd.cuda_kernels:adversarial_gradient_cuda")


@register(ADVERSARIAL, "numpy")
def adversarial_gradient_numpy(X, U, V, W, a, scale, critic_scale):
    """NumPy reference; see the module docstring for the equations."""
    pre_activation = X @ U.T  # (n, m)
    hidden = np.maximum(pre_activation, 0.0)
    Z = scale * hidden @ V.T  # (n, d_out), the generator's outputs
    Q = Z @ W.T  # (n, m_c), the critic's pre-activations
    G = critic_scale * (Q > 0) * a  # ∂L_adv/∂Q
    dZ = G @ W  # (n, d_out)
    dhidden = scale * (dZ @ V) * (pre_activation > 0)
    loss = critic_scale * float(np.sum(np.maximum(Q, 0.0) @ a))
    return loss, dhidden.T @ X, scale * dZ.T @ hidden, G.T @ Z, critic_scale * np.maximum(Q, 0.0).sum(axis=0)


@register(ADVERSARIAL, "numba")
def adversarial_gradient_numba(X, U, V, W, a, scale, critic_scale):
    """numba twin: the matrix products stay with NumPy's BLAS (``@``), the O(n·m) and O(n·m_c)
    element-wise passes are fused numba kernels (as in :mod:`refimpl.core.kernels`: ``np.dot`` inside
    numba would call SciPy's OpenBLAS, whose thread pool fights NumPy's)."""
    pre_activation = X @ U.T  # (n, m)
    hidden = core_kernels.relu_pass(pre_activation)
    Z = scale * (hidden @ V.T)  # (n, d_out)
    Q = Z @ W.T  # (n, m_c)
    G, da, loss = _critic_pass(Q, np.ascontiguousarray(a, dtype=np.float64), float(critic_scale))
    dZ = G @ W  # (n, d_out)
    dhidden = core_kernels.masked_scale_pass(dZ @ V, pre_activation, float(scale))  # (n, m)
    return float(loss), dhidden.T @ X, scale * (dZ.T @ hidden), G.T @ Z, da


@njit(cache=True)
def _critic_pass(Q, a, critic_scale):
    """One sweep over Q (n, m_c): G = c·1{Q > 0}⊙a, da = c·Σ_p σ(Q), L_adv = c·Σ a_r σ(Q_pr)."""
    n, m_c = Q.shape
    G = np.zeros_like(Q)
    da = np.zeros(m_c)
    loss = 0.0
    for p in range(n):
        for r in range(m_c):
            if Q[p, r] > 0:
                G[p, r] = critic_scale * a[r]
                da[r] += critic_scale * Q[p, r]
                loss += a[r] * Q[p, r]
    return G, da, critic_scale * loss
