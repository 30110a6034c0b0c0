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

from refimpl.core.layers import sigmoid_backward, sigmoid_forward
from refimpl.core.losses import (gan_discriminator_loss, least_squares_generator_loss, minimax_generator_loss,
                                 non_saturating_generator_loss)
from refimpl.core.validate import check_choice

GENERATOR_LOSSES = ("bce", "mse", "heuristic", "minimax")
"""Generator losses by name; ``"mustangs"`` draws one of :data:`MUSTANGS_LOSSES` per call."""
MUSTANGS_LOSSES = ("bce", "mse", "heuristic")
LOSS_NAMES = GENERATOR_LOSSES + ("mustangs",)


def mse_generator_loss(logits):
    r"""Least squares on the sigmoid output, as torch's ``MSELoss(D(G(z)), 1)``.

    .. math:: L = \frac1n \sum (\sigma(s) - 1)^2, \qquad
              \frac{\partial L}{\partial s} = \frac2n (\sigma(s) - 1)\,\sigma(s)(1 - \sigma(s))
    """
    probabilities, cache = sigmoid_forward(logits)
    half_loss, dprobabilities = least_squares_generator_loss(probabilities)
    return 2.0 * half_loss, sigmoid_backward(2.0 * dprobabilities, cache)


def heuristic_generator_loss(logits):
    r"""The code's ``HeuristicLoss``: :math:`L = -\frac{1}{2n}\sum \log\sigma(s)`, half the non-saturating loss."""
    loss, dlogits = non_saturating_generator_loss(logits)
    return 0.5 * loss, 0.5 * dlogits


_GENERATOR = {"bce": non_saturating_generator_loss, "mse": mse_generator_loss,
              "heuristic": heuristic_generator_loss, "minimax": minimax_generator_loss}


def generator_loss(name, logits):
    """Loss and its gradient (n,) for the generator loss ``name`` (one of :data:`GENERATOR_LOSSES`)."""
    return _GENERATOR[check_choice("loss", name, GENERATOR_LOSSES)](logits)


def discriminator_loss(real_logits, fake_logits):
    """The BCE sum of the code on logits: ``(loss, ∂/∂real_logits, ∂/∂fake_logits)``."""
    return gan_discriminator_loss(real_logits, fake_logits)


def draw_loss(name, rng):
    """The loss to use for one call: ``name`` itself, or for ``"mustangs"`` one of bce/mse/heuristic, uniformly."""
    if check_choice("loss", name, LOSS_NAMES) == "mustangs":
        return MUSTANGS_LOSSES[int(rng.integers(len(MUSTANGS_LOSSES)))]
    return name
