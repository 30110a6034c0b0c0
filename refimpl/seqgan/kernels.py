r"""The hot loops, as NumPy/numba twins: the LSTM's per-time-step gate pass, forward and backward, and the
plastic softmax's episode (:mod:`refimpl.seqgan.plastic`), forward and backward. (The output softmax over
(N, V) stays in NumPy: a fused numba sweep measured 2.7 times slower than NumPy's vectorised ``exp``.)

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
from refimpl.core.unchecked import sigmoid, softmax  # inside the time loops: the callers validated the inputs

GATES_FORWARD = "seqgan_lstm_gates_forward"
GATES_BACKWARD = "seqgan_lstm_gates_backward"

# the twins are internal (registered under the names above and reached through gate_kernels, plastic_kernels)
__all__ = ["GATES_FORWARD", "GATES_BACKWARD", "gate_kernels", "PLASTIC_FORWARD", "PLASTIC_BACKWARD", "RULE_CODES",
           "plastic_kernels"]


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


PLASTIC_FORWARD = "seqgan_plastic_episode_forward"
PLASTIC_BACKWARD = "seqgan_plastic_episode_backward"
RULE_CODES = {"hebb": 0, "oja": 1, "clip": 2}  # the rules of refimpl.seqgan.plastic, as the kernels' integer code


@register(PLASTIC_FORWARD, "numpy")
def plastic_forward_numpy(x, alpha, eta, rule, clip, logits, probabilities, traces):
    """The plastic softmax's episode, step by step (:mod:`refimpl.seqgan.plastic` has the equations).

    x (N, d); alpha (d, K); eta, clip floats; rule an integer of :data:`RULE_CODES`; ``logits`` (N, K) holds the
    fixed part x w + b on entry and a_t on return; ``probabilities`` (N, K) ← y_t; ``traces`` (N + 1, d, K)
    holds H_0 on entry and H_0 … H_N on return.
    """
    for t in range(len(x)):
        logits[t] += x[t] @ (alpha * traces[t])
        probabilities[t] = softmax(logits[t])
        traces[t + 1] = _trace_update(rule, traces[t], x[t], probabilities[t], eta, clip)


def _trace_update(rule, trace, x, y, eta, clip):
    """H_{t+1} from H_t (d, K), x_t (d,), y_t (K,) by the rule of code ``rule``."""
    if rule == RULE_CODES["oja"]:
        return trace + eta * y * (x[:, None] - y * trace)
    if rule == RULE_CODES["clip"]:
        return np.clip(trace + eta * np.outer(x, y), -clip, clip)
    return (1.0 - eta) * trace + eta * np.outer(x, y)


@register(PLASTIC_BACKWARD, "numpy")
def plastic_backward_numpy(dlogits, x, alpha, eta, rule, clip, probabilities, traces, delta, dx_plastic, dalpha):
    """BPTT through the episode. dlogits (N, K) = ∂L/∂a_t direct → ``delta`` (N, K) = ∂L/∂a_t in full,
    ``dx_plastic`` (N, d) the part of ∂L/∂x_t beyond δ_t wᵀ, ``dalpha`` (d, K) (zeros on entry); returns ∂L/∂η."""
    deta = 0.0
    G = np.zeros_like(alpha)
    for t in range(len(x) - 1, -1, -1):
        y = probabilities[t]
        dH, dx_trace, dy, deta_t = _trace_vjp(rule, G, traces[t], x[t], y, eta, clip)
        delta[t] = dlogits[t] + y * (dy - dy @ y)
        dM = np.outer(x[t], delta[t])
        dalpha += traces[t] * dM
        deta += deta_t
        dx_plastic[t] = dx_trace + (alpha * traces[t]) @ delta[t]
        G = dH + alpha * dM
    return deta


def _trace_vjp(rule, G, trace, x, y, eta, clip):
    """Vector-Jacobian products of H_{t+1}(H_t, x_t, y_t, η) with G = ∂L/∂H_{t+1}.

    Returns (∂/∂H_t, ∂/∂x_t (d,), ∂/∂y_t (K,), ∂/∂η), each of ⟨G, H_{t+1}⟩.
    """
    if rule == RULE_CODES["oja"]:
        return (G * (1.0 - eta * y * y), eta * (G @ y), eta * (x @ G - 2.0 * y * np.sum(G * trace, axis=0)),
                float(np.sum(G * y * (x[:, None] - y * trace))))
    if rule == RULE_CODES["clip"]:
        G = G * (np.abs(trace + eta * np.outer(x, y)) < clip)
        return G, eta * (G @ y), eta * (x @ G), float(x @ G @ y)
    return (1.0 - eta) * G, eta * (G @ y), eta * (x @ G), float(x @ G @ y - np.sum(G * trace))


@register(PLASTIC_FORWARD, "numba")
@njit(cache=True)
def plastic_forward_numba(x, alpha, eta, rule, clip, logits, probabilities, traces):
    """numba twin of :func:`plastic_forward_numpy`: one sweep over (d, K) per step, no temporaries."""
    N, d = x.shape
    K = alpha.shape[1]
    for t in range(N):
        for k in range(K):
            total = 0.0
            for i in range(d):
                total += x[t, i] * alpha[i, k] * traces[t, i, k]
            logits[t, k] += total
        largest = logits[t, 0]
        for k in range(1, K):
            largest = max(largest, logits[t, k])
        norm = 0.0
        for k in range(K):
            probabilities[t, k] = np.exp(logits[t, k] - largest)
            norm += probabilities[t, k]
        for k in range(K):
            probabilities[t, k] /= norm
        for i in range(d):
            for k in range(K):
                y, h = probabilities[t, k], traces[t, i, k]
                if rule == 1:
                    traces[t + 1, i, k] = h + eta * y * (x[t, i] - y * h)
                elif rule == 2:
                    traces[t + 1, i, k] = min(max(h + eta * x[t, i] * y, -clip), clip)
                else:
                    traces[t + 1, i, k] = (1.0 - eta) * h + eta * x[t, i] * y


@register(PLASTIC_BACKWARD, "numba")
@njit(cache=True)
def plastic_backward_numba(dlogits, x, alpha, eta, rule, clip, probabilities, traces, delta, dx_plastic, dalpha):
    """numba twin of :func:`plastic_backward_numpy`."""
    N, d = x.shape
    K = alpha.shape[1]
    G = np.zeros((d, K))
    dy = np.empty(K)
    deta = 0.0
    for t in range(N - 1, -1, -1):
        # the trace's vector-Jacobian products with G = ∂L/∂H_{t+1}; G becomes ∂L/∂H_t in place
        dy[:] = 0.0
        for i in range(d):
            dx_plastic[t, i] = 0.0
            for k in range(K):
                y, h, g = probabilities[t, k], traces[t, i, k], G[i, k]
                if rule == 1:
                    dy[k] += eta * g * (x[t, i] - 2.0 * y * h)
                    deta += g * y * (x[t, i] - y * h)
                    G[i, k] = g * (1.0 - eta * y * y)
                elif rule == 2:
                    if abs(h + eta * x[t, i] * y) >= clip:
                        g = 0.0
                    dy[k] += eta * x[t, i] * g
                    deta += x[t, i] * g * y
                    G[i, k] = g
                else:
                    dy[k] += eta * x[t, i] * g
                    deta += g * (x[t, i] * y - h)
                    G[i, k] = (1.0 - eta) * g
                dx_plastic[t, i] += eta * g * y
        weighted = 0.0
        for k in range(K):
            weighted += dy[k] * probabilities[t, k]
        for k in range(K):
            delta[t, k] = dlogits[t, k] + probabilities[t, k] * (dy[k] - weighted)
        for i in range(d):
            for k in range(K):
                dM = x[t, i] * delta[t, k]
                dalpha[i, k] += traces[t, i, k] * dM
                dx_plastic[t, i] += alpha[i, k] * traces[t, i, k] * delta[t, k]
                G[i, k] += alpha[i, k] * dM
    return deta


def plastic_kernels(backend):
    """The (forward, backward) episode kernels of the plastic softmax for ``backend`` ("numpy" or "numba")."""
    return get_kernel(PLASTIC_FORWARD, backend), get_kernel(PLASTIC_BACKWARD, backend)
