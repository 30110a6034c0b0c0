r"""A plastic softmax layer (Miconi et al. 2018, "Differentiable plasticity", eqs. 1–2; Oja's rule, their §2),
the seed's addition at the output of SeqGAN's discriminator, with gradients through the trace derived by hand.

An episode is a sequence of inputs :math:`x_t` (d,), t = 0 … N − 1. The effective weights are the fixed
:math:`w` plus a plastic part, :math:`\alpha` per connection times the Hebbian trace :math:`H_t` (d, K):

.. math::
    a_t = x_t\,(w + \alpha \odot H_t) + b, \qquad y_t = \mathrm{softmax}(a_t), \qquad H_0 = 0 \ (\text{or carried}),

and the trace learns from the pre-synaptic input and the post-synaptic softmax probabilities, by one of

.. math::
    \text{hebb:}\ H_{t+1} = (1 - \eta) H_t + \eta\, x_t^\top y_t, \qquad
    \text{oja:}\ H_{t+1,ij} = H_{t,ij} + \eta\, y_{tj} (x_{ti} - y_{tj} H_{t,ij}), \\
    \text{clip:}\ H_{t+1} = \mathrm{clip}(H_t + \eta\, x_t^\top y_t, -c, c) \ (\text{Backpropamine's bounded trace}).

:math:`w, b, \alpha` and the scalar :math:`\eta \in [0, 1]` are learned. What time is for a discriminator the
seed does not say; the default here is **one minibatch = one episode**: the samples of a batch, in order, are
the time steps, and the trace restarts from zero at every batch (the discriminator can carry it across batches
instead). So a sample's score depends on the samples before it in its batch.

Backward (BPTT over the episode), with :math:`G_{t+1} = \partial L/\partial H_{t+1}` (zero after the last step)
and :math:`\delta_t = \partial L/\partial a_t`:

.. math::
    \delta_t = \frac{\partial L}{\partial a_t}\Big|_\text{direct} + y_t \odot (g_t - \langle g_t, y_t\rangle), \quad
    g_t = \frac{\partial \langle G_{t+1}, H_{t+1}\rangle}{\partial y_t}, \\
    \frac{\partial L}{\partial w} = \sum_t x_t^\top \delta_t, \quad
    \frac{\partial L}{\partial \alpha} = \sum_t H_t \odot x_t^\top \delta_t, \quad
    \frac{\partial L}{\partial \eta} = \sum_t \Big\langle G_{t+1}, \frac{\partial H_{t+1}}{\partial \eta}\Big\rangle, \\
    G_t = \frac{\partial \langle G_{t+1}, H_{t+1}\rangle}{\partial H_t} + \alpha \odot x_t^\top \delta_t, \quad
    \frac{\partial L}{\partial x_t} = \delta_t (w + \alpha \odot H_t)^\top
        + \frac{\partial \langle G_{t+1}, H_{t+1}\rangle}{\partial x_t},

with, for hebb, :math:`g = \eta\, x G`, :math:`\partial_H = (1 - \eta) G`, :math:`\partial_\eta = x^\top y - H`,
:math:`\partial_x = \eta\, G y`; for oja, :math:`g_j = \eta \sum_i G_{ij}(x_i - 2 y_j H_{ij})`,
:math:`\partial_H = G \odot (1 - \eta y^2)`, :math:`\partial_\eta = y_j (x_i - y_j H_{ij})`,
:math:`\partial_x = \eta\, G y`; for clip, hebb's additive terms with :math:`G` masked where the clip is active.
"""

import numpy as np

from refimpl.core.validate import as_float_array, check_choice, check_positive, check_real, check_shape
from refimpl.seqgan.kernels import RULE_CODES, plastic_kernels

RULES = tuple(RULE_CODES)

__all__ = ["RULES", "check_plastic_layer", "plastic_softmax_forward", "plastic_softmax_backward"]


def check_plastic_layer(x, w, b, alpha, eta, trace=None):
    """Validate the inputs of :func:`plastic_softmax_forward`; return them as float64 arrays and η as float."""
    x = as_float_array("x", x, ndim=2)
    if len(x) == 0:
        raise ValueError(f"x must hold at least one time step (an episode of N >= 1 rows); got shape {x.shape}")
    d = x.shape[1]
    w = check_shape("w", as_float_array("w", w, ndim=2), (d, None), described="(d, K)",
                    context=f"to match x with d = {d}")
    K = w.shape[1]
    b = check_shape("b", as_float_array("b", b, ndim=1), (K,), described="(K,)", context="to match w")
    alpha = check_shape("alpha", as_float_array("alpha", alpha, ndim=2), (d, K), described="(d, K)",
                        context="to match w")
    eta = check_real("eta", eta)
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must be in [0, 1] (a trace update rate); got {eta!r}")
    trace = np.zeros((d, K)) if trace is None else check_shape(
        "trace", as_float_array("trace", trace, ndim=2), (d, K), described="(d, K)", context="to match w")
    return x, w, b, alpha, eta, trace


def plastic_softmax_forward(x, w, b, alpha, eta, *, rule="hebb", clip=2.0, trace=None, backend="numba"):
    r"""Forward pass over one episode, the rows of ``x`` in time order.

    Parameters
    ----------
    x : (N, d), the pre-synaptic inputs x_t
    w, alpha : (d, K), fixed weights and plasticity coefficients
    b : (K,)
    eta : float in [0, 1], the trace's update rate η
    rule : "hebb", "oja" or "clip"
    clip : float > 0, the bound c of the "clip" rule
    trace : (d, K), optional, H_0 (zeros: a fresh episode)
    backend : "numpy" or "numba", the episode loop's twin (:mod:`refimpl.seqgan.kernels`)

    Returns
    -------
    logits : (N, K), a_t
    probabilities : (N, K), y_t
    cache : what :func:`plastic_softmax_backward` needs; ``cache["traces"]`` (N + 1, d, K) holds H_0 … H_N
    """
    x, w, b, alpha, eta, trace = check_plastic_layer(x, w, b, alpha, eta, trace)
    check_choice("rule", rule, RULES)
    clip = check_positive("clip", clip)
    forward, _ = plastic_kernels(check_choice("backend", backend, ("numpy", "numba")))
    traces = np.empty((len(x) + 1,) + w.shape)
    traces[0] = trace
    logits = x @ w + b  # the fixed part for every step at once (BLAS); the plastic part is added step by step
    probabilities = np.empty_like(logits)
    forward(x, alpha, eta, RULE_CODES[rule], clip, logits, probabilities, traces)
    cache = {"x": x, "w": w, "alpha": alpha, "eta": eta, "rule": rule, "clip": clip, "traces": traces,
             "probabilities": probabilities, "backend": backend}
    return logits, probabilities, cache


def plastic_softmax_backward(dlogits, cache):
    r"""Gradients through the episode, given ``dlogits`` = ∂L/∂a_t (N, K) of the loss's direct dependence on
    the logits (e.g. :math:`(y_t - \text{onehot}_t)/N` for the mean cross-entropy).

    Returns
    -------
    dx : (N, d)
    dw : (d, K)
    db : (K,)
    dalpha : (d, K)
    deta : float
    """
    y_all = cache["probabilities"]
    dlogits = check_shape("dlogits", as_float_array("dlogits", dlogits, ndim=2), y_all.shape, described="(N, K)",
                          context="to match the forward pass")
    x, w, alpha = cache["x"], cache["w"], cache["alpha"]
    _, backward = plastic_kernels(cache["backend"])
    delta, dx_plastic, dalpha = np.empty_like(dlogits), np.empty_like(x), np.zeros_like(alpha)
    deta = backward(dlogits, x, alpha, cache["eta"], RULE_CODES[cache["rule"]], cache["clip"], y_all, cache["traces"],
                    delta, dx_plastic, dalpha)
    return delta @ w.T + dx_plastic, x.T @ delta, delta.sum(axis=0), dalpha, float(deta)
