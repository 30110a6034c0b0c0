r"""The adversarial losses of Lipizzaner, Mustangs and E-GAN, on the discriminator's logits.

The public code ends the discriminator in a sigmoid, :math:`p = \sigma(s)`, and applies torch's
``BCELoss``/``MSELoss`` to :math:`p`; here every loss takes the logit :math:`s` (shape (n,)) and returns
``(loss, ∂loss/∂s)``. Generator losses, minimised by the generator (Lipizzaner/Mustangs code:
``GeneratorNet.compute_loss_against``, ``HeuristicLoss``; E-GAN: Wang et al. 2019, eqs. 3–5):

.. math::
    L^{bce}_G = -\tfrac1n\textstyle\sum\log p \;(\text{"BCE" of the code: non-saturating}),\quad
    L^{mse}_G = \tfrac1n\textstyle\sum (p - 1)^2,\quad
    L^{heu}_G = -\tfrac{1}{2n}\textstyle\sum\log p,\quad
    L^{mm}_G = \tfrac1n\textstyle\sum\log(1 - p)

The discriminator always minimises the BCE *sum* of the code,
:math:`L_D = -\tfrac1n\sum\log p(x) - \tfrac1n\sum\log(1 - p(G(z)))`. Mustangs (``"mustangs"``) draws the
generator loss uniformly from {bce, mse, heuristic} at every call (every mini-batch and every fitness
evaluation, as ``mustang/src/networks/competetive_net.py`` does).
"""

import numpy as np

from refimpl.core import unchecked as nn
from refimpl.core.validate import as_float_array, check_choice, check_rng

__all__ = ["mse_generator_loss", "heuristic_generator_loss", "generator_loss", "discriminator_loss", "draw_loss"]

GENERATOR_LOSSES = ("bce", "mse", "heuristic", "minimax")
"""Generator losses by name; ``"mustangs"`` draws one of :data:`MUSTANGS_LOSSES` per call."""
MUSTANGS_LOSSES = ("bce", "mse", "heuristic")
LOSS_NAMES = GENERATOR_LOSSES + ("mustangs",)


def check_logits(name, logits):
    """Logits of one batch as a finite, non-empty floating array of shape (n,) (float32 kept), or raise naming ``name``."""
    logits = as_float_array(name, logits, ndim=1, dtype=None)
    if logits.size == 0:
        raise ValueError(f"{name} must hold at least one logit; got shape {logits.shape}")
    return logits


def mse_generator_loss(logits):
    r"""Least squares on the sigmoid output, as torch's ``MSELoss(D(G(z)), 1)``.

    .. math:: L = \frac1n \sum (\sigma(s) - 1)^2, \qquad
              \frac{\partial L}{\partial s} = \frac2n (\sigma(s) - 1)\,\sigma(s)(1 - \sigma(s))
    """
    return _mse_generator_loss(check_logits("logits", logits))


def _mse_generator_loss(logits):
    probabilities, cache = nn.sigmoid_forward(logits)
    residual = (probabilities - 1.0) / logits.size
    return float(np.sum((probabilities - 1.0) ** 2)) / logits.size, nn.sigmoid_backward(2.0 * residual, cache)


def heuristic_generator_loss(logits):
    r"""The code's ``HeuristicLoss``: :math:`L = -\frac{1}{2n}\sum \log\sigma(s)`, half the non-saturating loss."""
    return _heuristic_generator_loss(check_logits("logits", logits))


def _heuristic_generator_loss(logits):
    loss, dlogits = _non_saturating_generator_loss(logits)
    return 0.5 * loss, 0.5 * dlogits


def _non_saturating_generator_loss(logits):
    r""":math:`-\frac1n\sum\log\sigma(s)`, the BCE of the fakes against label 1 (core's non-saturating loss)."""
    return nn.binary_cross_entropy_with_logits(logits, np.ones_like(logits))


def _minimax_generator_loss(logits):
    r""":math:`\frac1n\sum\log(1 - \sigma(s))` and its gradient :math:`-\sigma(s)/n` (core's minimax loss)."""
    n = logits.size
    return -float(np.sum(np.logaddexp(0.0, logits))) / n, -nn.sigmoid(logits) / n


_GENERATOR = {"bce": _non_saturating_generator_loss, "mse": _mse_generator_loss,
              "heuristic": _heuristic_generator_loss, "minimax": _minimax_generator_loss}


def generator_loss(loss, logits):
    """Loss and its gradient (n,) for the generator loss named ``loss`` (one of :data:`GENERATOR_LOSSES`)."""
    return _GENERATOR[check_choice("loss", loss, GENERATOR_LOSSES)](check_logits("logits", logits))


def _generator_loss(loss, logits):
    """:func:`generator_loss` without validation, for the training loops (``loss`` from :func:`draw_loss`)."""
    return _GENERATOR[loss](logits)


def discriminator_loss(real_logits, fake_logits):
    """The BCE sum of the code on logits: ``(loss, ∂/∂real_logits, ∂/∂fake_logits)``."""
    return _discriminator_loss(check_logits("real_logits", real_logits), check_logits("fake_logits", fake_logits))


def _discriminator_loss(real_logits, fake_logits):
    real_loss, d_real = nn.binary_cross_entropy_with_logits(real_logits, np.ones_like(real_logits))
    fake_loss, d_fake = nn.binary_cross_entropy_with_logits(fake_logits, np.zeros_like(fake_logits))
    return real_loss + fake_loss, d_real, d_fake


def draw_loss(loss, rng):
    """The loss to use for one call: ``loss`` itself, or for ``"mustangs"`` one of bce/mse/heuristic, uniformly."""
    return _draw_loss(check_choice("loss", loss, LOSS_NAMES), check_rng("rng", rng))


def _draw_loss(loss, rng):
    if loss == "mustangs":
        return MUSTANGS_LOSSES[int(rng.integers(len(MUSTANGS_LOSSES)))]
    return loss
