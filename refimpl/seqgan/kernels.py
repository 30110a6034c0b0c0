r"""The hot loop of the LSTM: the per-time-step gate pass, forward and backward, as NumPy/numba twins.

At every step the pre-activations :math:`z = x W + h_{t-1} U + b` (B, 4H), in the gate order
i, f, o, c̃ of SeqGAN's code, become

.. math::
    i, f, o = \sigma(z_i), \sigma(z_f), \sigma(z_o), \quad \tilde c = \tanh(z_c), \quad
    c_t = f \odot c_{t-1} + i \odot \tilde c, \quad h_t = o \odot \tanh c_t .

Backward, given :math:`\partial L/\partial h_t` and :math:`\partial L/\partial c_t` from later steps:

.. math::
    \bar c = \frac{\partial L}{\partial c_t} + \frac{\partial L}{\partial h_t} \odot o \odot (1 - \tanh^2 c_t), \quad
    \frac{\partial L}{\partial z_i} = \bar c\,\tilde c\, i(1 - i), \quad
    \frac{\partial L}{\partial z_f} = \bar c\, c_{t-1} f(1 - f), \\
    \frac{\partial L}{\partial z_o} = \frac{\partial L}{\partial h_t} \tanh c_t\, o(1 - o), \quad
    \frac{\partial L}{\partial z_c} = \bar c\, i\,(1 - \tilde c^2), \quad
    \frac{\partial L}{\partial c_{t-1}} = \bar c \odot f .

Both twins write into preallocated outputs and are registered under :data:`GATES_FORWARD` and
:data:`GATES_BACKWARD`; the matrix products around them stay in NumPy's BLAS (``@`` outside numba: ``np.dot``
inside numba would use SciPy's second OpenBLAS, whose threads fight NumPy's).
"""

import numpy as np
from numba import njit

from refimpl.core.backend import get_kernel, register
from refimpl.core.unchecked import sigmoid  # inside the time loop: the caller validated the inputs

GATES_FORWARD = "seqgan_lstm_gates_forward"
GATES_BACKWARD = "seqgan_lstm_gates_backward"

# the twins are internal (registered under the names above and reached through gate_kernels)
__all__ = ["GATES_FORWARD", "GATES_BACKWARD", "gate_kernels"]


@register(GATES_FORWARD, "numpy")
def gates_forward_numpy(z, c_prev, gates, c, tanh_c, h):
    """Gate pass of one step. z (B, 4H), c_prev (B, H) → gates (B, 4H) = (i, f, o, c̃), c, tanh_c, h (B, H)."""
    H = c_prev.shape[1]
    gates[:, :3 * H] = sigmoid(z[:, :3 * H])
    gates[:, 3 * H:] = np.tanh(z[:, 3 * H:])
    i, f, o, candidate = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    c[...] = f * c_prev + i * candidate
    tanh_c[...] = np.tanh(c)
    h[...] = o * tanh_c


@register(GATES_BACKWARD, "numpy")
def gates_backward_numpy(dh, dc, gates, c_prev, tanh_c, dz):
    """Backward gate pass of one step; ``dc`` (B, H) is updated in place from ∂L/∂c_t to ∂L/∂c_{t-1}.

    dh (B, H), gates (B, 4H), c_prev, tanh_c (B, H) → dz (B, 4H).
    """
    H = dh.shape[1]
    i, f, o, candidate = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc_total = dc + dh * o * (1.0 - tanh_c * tanh_c)
    dz[:, :H] = dc_total * candidate * i * (1.0 - i)
    dz[:, H:2 * H] = dc_total * c_prev * f * (1.0 - f)
    dz[:, 2 * H:3 * H] = dh * tanh_c * o * (1.0 - o)
    dz[:, 3 * H:] = dc_total * i * (1.0 - candidate * candidate)
    dc[...] = dc_total * f


@njit(cache=True)
def _sigmoid(x):
    # overflow-free with one exponential (logaddexp, as in refimpl.core.layers.sigmoid, costs three times more)
    if x >= 0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


@register(GATES_FORWARD, "numba")
@njit(cache=True)
def gates_forward_numba(z, c_prev, gates, c, tanh_c, h):
    """numba twin of :func:`gates_forward_numpy`: one fused sweep over (B, H)."""
    B, H = c_prev.shape
    for n in range(B):
        for j in range(H):
            i = _sigmoid(z[n, j])
            f = _sigmoid(z[n, H + j])
            o = _sigmoid(z[n, 2 * H + j])
            candidate = np.tanh(z[n, 3 * H + j])
            gates[n, j], gates[n, H + j], gates[n, 2 * H + j], gates[n, 3 * H + j] = i, f, o, candidate
            cell = f * c_prev[n, j] + i * candidate
            c[n, j] = cell
            tanh_c[n, j] = np.tanh(cell)
            h[n, j] = o * tanh_c[n, j]


@register(GATES_BACKWARD, "numba")
@njit(cache=True)
def gates_backward_numba(dh, dc, gates, c_prev, tanh_c, dz):
    """numba twin of :func:`gates_backward_numpy`."""
    B, H = dh.shape
    for n in range(B):
        for j in range(H):
            i, f, o, candidate = gates[n, j], gates[n, H + j], gates[n, 2 * H + j], gates[n, 3 * H + j]
            squashed = tanh_c[n, j]
            dc_total = dc[n, j] + dh[n, j] * o * (1.0 - squashed * squashed)
            dz[n, j] = dc_total * candidate * i * (1.0 - i)
            dz[n, H + j] = dc_total * c_prev[n, j] * f * (1.0 - f)
            dz[n, 2 * H + j] = dh[n, j] * squashed * o * (1.0 - o)
            dz[n, 3 * H + j] = dc_total * i * (1.0 - candidate * candidate)
            dc[n, j] = dc_total * f


def gate_kernels(backend):
    """The (forward, backward) gate kernels of ``backend`` ("numpy" or "numba")."""
    return get_kernel(GATES_FORWARD, backend), get_kernel(GATES_BACKWARD, backend)
