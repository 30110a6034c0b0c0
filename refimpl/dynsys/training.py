r"""Training, attacks and empirical Lipschitz constants for the flow-map classifiers.

- :func:`multiclass_hinge`: the loss of the authors' code (``multiClassHinge.py``);
- :func:`train_classifier`: core's training loop with Adam on the hinge loss, the constraints restored after every
  step (:meth:`Network.project`);
- :func:`pgd_l2`: L2 projected gradient ascent on the margin, with the input gradient from the hand-derived
  backward pass (no autograd);
- :func:`empirical_lipschitz`: :math:`\max_x\|J(x)\|_2` by power iteration on :math:`J^\top J` (JVP then VJP),
  a lower bound on the true constant, to set beside the certified upper bound.
"""

import numpy as np

from refimpl.core import classifier
from refimpl.core.classifier import Classifier
from refimpl.core.validate import check_int, check_labels, check_positive, check_real, check_rng
from refimpl.dynsys.model import check_network
from refimpl.dynsys.theory import _margins, check_logits


def multiclass_hinge(logits, labels, margin):
    r"""Mean multi-class hinge loss and its gradient.

    .. math:: L = \frac1n\sum_i\sum_{j\ne y_i}\max(0,\ m - z_{iy_i} + z_{ij}), \qquad
              \frac{\partial L}{\partial z_{ij}} = \frac{1\{\text{violated}_{ij}\}}{n},\quad
              \frac{\partial L}{\partial z_{iy_i}} = -\frac{\#\text{violated}_i}{n}

    logits (n, k), labels (n,) int, margin m > 0.
    """
    logits, labels = check_logits(logits, labels)
    return _multiclass_hinge(logits, labels, check_positive("margin", margin))


def _multiclass_hinge(logits, labels, margin):
    """:func:`multiclass_hinge` on checked arrays, once per training step."""
    n = len(labels)
    rows = np.arange(n)
    hinge = margin - logits[rows, labels][:, None] + logits
    hinge[rows, labels] = 0.0
    violated = hinge > 0
    dlogits = violated / n
    dlogits[rows, labels] = -violated.sum(axis=1) / n
    return float(np.sum(hinge * violated) / n), dlogits


def _inputs_and_labels(network, X, y):
    """X as a finite (n, d_in) float array (n >= 1) and y checked against n and the network's number of outputs."""
    X = check_network(network).check_input("X", X)
    return X, check_labels("y", y, len(X), network.d_out)


class HingeObjective(Classifier):
    """A flow-map network seen by :func:`refimpl.core.classifier.train_classifier`: the multi-class hinge loss
    of its logits, and its constraints (orthogonal A, ‖W‖₂ ≤ 1) restored after every update.

    The parameters are the network's own arrays (``network.parameters()``), which the optimiser updates in place.
    """

    def __init__(self, network, margin, d_out):
        self.network, self.margin, self.d_out = network, check_positive("margin", margin), d_out

    def loss(self, params, x, labels):
        logits, caches = self.network._forward(x)
        loss, dlogits = _multiclass_hinge(logits, labels, self.margin)
        return loss, self.network._backward(dlogits, caches)[1]

    def project(self, params):
        self.network.project()


def train_classifier(network, X, y, rng, *, steps, batch_size, lr, margin, on_step=None):
    """Train ``network`` in place on (X, y): core's :func:`~refimpl.core.classifier.train_classifier` with
    minibatch Adam on the :class:`HingeObjective`, constraints restored after every step and exactly at the end.

    ``on_step(step, steps, loss=loss)`` follows core's convention (every step, before the update; the default
    raises FloatingPointError naming the step when the loss is not finite; experiments pass ``run.check_finite``).
    Returns the losses, one per step.
    """
    X, y = _inputs_and_labels(network, X, y)
    rng = check_rng("rng", rng)
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be a function on_step(step, steps, loss=loss) or None; got {on_step!r}")
    objective = HingeObjective(network, margin, d_out=network.d_out)
    history = classifier.train_classifier(objective, network.parameters(), X, y, rng, steps=steps,
                                          batch_size=batch_size, optimizer="adam", lr=check_positive("lr", lr),
                                          on_step=on_step)
    network.project(exact=True)
    return history.step_losses


def margin_input_gradient(network, X, y):
    r"""Margins :math:`\max_{j\ne y}z_j - z_y` (the attack objective, negated margin) and their input gradients."""
    logits, caches = network._forward(X)
    n = len(y)
    others = logits.copy()
    others[np.arange(n), y] = -np.inf
    runner_up = others.argmax(axis=1)
    dlogits = np.zeros_like(logits)
    dlogits[np.arange(n), runner_up] = 1.0
    dlogits[np.arange(n), y] -= 1.0
    dx, _ = network._backward(dlogits, caches)
    return others.max(axis=1) - logits[np.arange(n), y], dx


def _project_ball(delta, eps):
    norms = np.linalg.norm(delta, axis=1, keepdims=True)
    return delta * np.minimum(1.0, eps / np.maximum(norms, 1e-300))


def pgd_l2(network, X, y, eps, rng, *, steps=50, restarts=1, box=None):
    r"""L2 projected gradient ascent on the negated margin (an untargeted attack).

    .. math:: \delta \leftarrow \Pi_{\|\delta\|\le\varepsilon,\ x+\delta\in\text{box}}
              \Big(\delta + \alpha\,\frac{\nabla_x m}{\|\nabla_x m\|}\Big), \qquad \alpha = 2.5\,\varepsilon/\text{steps}

    The first restart starts at δ = 0, the others uniformly in the ball. A point counts as broken if
    any iterate is misclassified. Returns ``(robust, X_adv)``: robust (n,) bool, and for broken points the
    first misclassified iterate (else the last iterate).
    """
    X, y = _inputs_and_labels(network, X, y)
    eps, rng, box = check_positive("eps", eps), check_rng("rng", rng), _check_box(box)
    alpha = 2.5 * eps / check_int("steps", steps, minimum=1)
    robust = np.ones(len(X), dtype=bool)
    X_adv = X.copy()
    for restart in range(check_int("restarts", restarts, minimum=1)):
        delta = np.zeros_like(X)
        if restart > 0:
            direction = rng.standard_normal(X.shape)
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            delta = direction * eps * rng.random((len(X), 1)) ** (1.0 / X.shape[1])
        for step in range(steps + 1):
            candidate = X + delta if box is None else np.clip(X + delta, *box)
            negated_margin, gradient = margin_input_gradient(network, candidate, y)
            broken = robust & (negated_margin >= 0)
            X_adv[broken] = candidate[broken]
            robust &= ~broken
            if step == steps or not robust.any():
                break
            norms = np.maximum(np.linalg.norm(gradient, axis=1, keepdims=True), 1e-300)
            delta = _project_ball(delta + alpha * gradient / norms, eps)
            if box is not None:
                delta = np.clip(X + delta, *box) - X
        X_adv[robust] = candidate[robust]
    return robust, X_adv


def _check_box(box):
    """None, or the (low, high) bounds of the inputs with low < high."""
    if box is None:
        return None
    if not isinstance(box, (tuple, list)) or len(box) != 2:
        raise TypeError(f"box must be None or a pair (low, high); got {box!r}")
    low, high = check_real("box low", box[0]), check_real("box high", box[1])
    if not low < high:
        raise ValueError(f"box must be (low, high) with low < high; got {box!r}")
    return low, high


def empirical_lipschitz(network, X, rng, *, n_iter=30):
    r"""Per-point :math:`\|J(x)\|_2` by power iteration on :math:`J^\top J`, shape (n,); each a lower bound on L.

    X (n, d_in); ``rng`` a Generator or an int seed draws the starting vectors.
    """
    X = check_network(network).check_input("X", X)
    rng, n_iter = check_rng("rng", rng), check_int("n_iter", n_iter, minimum=1)
    _, caches = network._forward(X)
    v = rng.standard_normal(X.shape)
    sigma = np.zeros(len(X))
    for _ in range(n_iter):
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
        Jv = network._jvp(v, caches)
        sigma = np.linalg.norm(Jv, axis=1)
        v, _ = network._backward(Jv, caches)
    return sigma


def accuracy(network, X, y):
    """Fraction of points with a positive margin (correct, ties counted as wrong)."""
    X, y = _inputs_and_labels(network, X, y)
    return float(np.mean(_margins(network._forward(X)[0], y) > 0))
