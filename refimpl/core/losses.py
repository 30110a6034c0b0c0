r"""Losses with their hand-derived gradients.

Each function returns the loss and its gradient with respect to every array argument, in order::

    loss, dpred = squared_error(pred, target)
    loss, d_real, d_fake = wasserstein_critic_loss(real_scores, fake_scores)

Reductions: :func:`squared_error` is the sum :math:`\tfrac12\|\cdot\|_F^2` (the form of L_sup in
seed 000); every other loss is a mean over the ``n`` samples of its batch. GAN losses take the critic's
raw scores (logits) of real and generated samples, shape (n,), and are written for the player that
minimises them: ``*_discriminator_loss`` for the critic, ``*_generator_loss`` for the generator.

Every function validates its arguments (same shapes, finite, non-empty; labels integer and in range;
targets in [0, 1]); :mod:`refimpl.core.unchecked` holds the same losses without the checks.
"""

import numpy as np

from refimpl.core.layers import _sigmoid as sigmoid, _softmax as softmax
from refimpl.core.validate import as_float_array, check_labels, check_shape


def squared_error(pred, target):
    r"""Half the squared Frobenius norm of the residual.

    .. math:: L = \tfrac12 \|\mathrm{pred} - \mathrm{target}\|_F^2, \qquad
              \frac{\partial L}{\partial\,\mathrm{pred}} = \mathrm{pred} - \mathrm{target}

    Parameters
    ----------
    pred, target : arrays of the same shape (no broadcasting: a (4, 1) prediction against a (4,) target
        is refused, not turned into a (4, 4) residual)
    """
    pred = _scores("pred", pred)
    target = check_shape("target", as_float_array("target", target, dtype=None), pred.shape,
                         context="to match pred")
    return _squared_error(pred, target)


def _squared_error(pred, target):
    residual = pred - target
    return 0.5 * float(np.sum(residual**2)), residual


def softmax_cross_entropy(logits, labels):
    r"""Mean cross-entropy of integer ``labels`` (n,) under the softmax of ``logits`` (n, k).

    .. math:: L = -\frac1n \sum_i \log p_{i, y_i}, \qquad
              \frac{\partial L}{\partial z_{ic}} = \frac{p_{ic} - 1\{c = y_i\}}{n}
    """
    logits = _scores("logits", logits, ndim=2)
    if logits.shape[1] == 0:
        raise ValueError(f"logits must have at least one class; got shape {logits.shape}")
    labels = check_labels("labels", labels, logits.shape[0], logits.shape[1])
    return _softmax_cross_entropy(logits, labels)


def _softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -float(log_probabilities[np.arange(n), labels].mean())
    dlogits = softmax(logits)
    dlogits[np.arange(n), labels] -= 1.0
    return loss, dlogits / n


def binary_cross_entropy_with_logits(logits, targets):
    r"""Mean binary cross-entropy of ``targets`` in [0, 1] given ``logits``, any shape.

    .. math:: L = \frac1n \sum \big[\mathrm{softplus}(z) - t z\big], \qquad
              \frac{\partial L}{\partial z} = \frac{\sigma(z) - t}{n}

    Written with ``logaddexp`` so that large :math:`|z|` neither overflows nor loses the loss.
    """
    logits = _scores("logits", logits)
    targets = check_shape("targets", as_float_array("targets", targets, dtype=None), logits.shape,
                          context="to match logits")
    if np.any((targets < 0) | (targets > 1)):
        raise ValueError(f"targets must lie in [0, 1]; got values from {targets.min():g} to {targets.max():g}")
    return _binary_cross_entropy_with_logits(logits, targets)


def _binary_cross_entropy_with_logits(logits, targets):
    n = logits.size
    loss = float(np.sum(np.logaddexp(0.0, logits) - targets * logits)) / n
    return loss, (sigmoid(logits) - targets) / n


def least_squares_discriminator_loss(real_scores, fake_scores):
    r"""LSGAN critic loss (Mao et al. 2017) with targets 1 (real) and 0 (fake).

    .. math:: L_D = \frac{1}{2n}\sum (D(x) - 1)^2 + \frac{1}{2n}\sum D(G(z))^2
    """
    real_scores, fake_scores = _scores("real_scores", real_scores), _scores("fake_scores", fake_scores)
    n_real, n_fake = real_scores.size, fake_scores.size
    loss = 0.5 * float(np.sum((real_scores - 1.0) ** 2)) / n_real + 0.5 * float(np.sum(fake_scores**2)) / n_fake
    return loss, (real_scores - 1.0) / n_real, fake_scores / n_fake


def least_squares_generator_loss(fake_scores):
    r"""LSGAN generator loss, :math:`L_G = \frac{1}{2n}\sum (D(G(z)) - 1)^2`."""
    fake_scores = _scores("fake_scores", fake_scores)
    n = fake_scores.size
    return 0.5 * float(np.sum((fake_scores - 1.0) ** 2)) / n, (fake_scores - 1.0) / n


def gan_discriminator_loss(real_scores, fake_scores):
    r"""The original GAN critic loss (Goodfellow et al. 2014) on logits: BCE with real → 1, fake → 0.

    .. math:: L_D = -\frac1n\sum \log \sigma(D(x)) - \frac1n\sum \log\big(1 - \sigma(D(G(z)))\big)
    """
    real_scores, fake_scores = _scores("real_scores", real_scores), _scores("fake_scores", fake_scores)
    real_loss, d_real = _binary_cross_entropy_with_logits(real_scores, np.ones_like(real_scores))
    fake_loss, d_fake = _binary_cross_entropy_with_logits(fake_scores, np.zeros_like(fake_scores))
    return real_loss + fake_loss, d_real, d_fake


def non_saturating_generator_loss(fake_scores):
    r"""Non-saturating generator loss, :math:`L_G = -\frac1n \sum \log \sigma(D(G(z)))`.

    Its gradient stays large while the critic confidently rejects the samples, unlike the minimax form.
    """
    fake_scores = _scores("fake_scores", fake_scores)
    return _binary_cross_entropy_with_logits(fake_scores, np.ones_like(fake_scores))


def minimax_generator_loss(fake_scores):
    r"""Minimax (saturating) generator loss, :math:`L_G = \frac1n \sum \log(1 - \sigma(D(G(z))))`.

    .. math:: \frac{\partial L_G}{\partial s} = -\frac{\sigma(s)}{n}
    """
    fake_scores = _scores("fake_scores", fake_scores)
    n = fake_scores.size
    loss = -float(np.sum(np.logaddexp(0.0, fake_scores))) / n
    return loss, -sigmoid(fake_scores) / n


def wasserstein_critic_loss(real_scores, fake_scores):
    r"""WGAN critic loss (Arjovsky et al. 2017), minimised by the critic.

    .. math:: L_D = \frac1n \sum D(G(z)) - \frac1n \sum D(x)
    """
    real_scores, fake_scores = _scores("real_scores", real_scores), _scores("fake_scores", fake_scores)
    n_real, n_fake = real_scores.size, fake_scores.size
    loss = float(np.mean(fake_scores)) - float(np.mean(real_scores))
    return loss, np.full_like(real_scores, -1.0 / n_real), np.full_like(fake_scores, 1.0 / n_fake)


def wasserstein_generator_loss(fake_scores):
    r"""WGAN generator loss, :math:`L_G = -\frac1n \sum D(G(z))`."""
    fake_scores = _scores("fake_scores", fake_scores)
    n = fake_scores.size
    return -float(np.mean(fake_scores)), np.full_like(fake_scores, -1.0 / n)


def _scores(name, values, ndim=None):
    """A finite, non-empty floating array (floating dtypes kept), or a clear error naming it."""
    array = as_float_array(name, values, ndim=ndim, dtype=None)
    if array.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {array.shape}")
    return array
