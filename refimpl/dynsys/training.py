r"""Training, attacks and empirical Lipschitz constants for the flow-map classifiers.

- :func:`multiclass_hinge`: the loss of the authors' code (``multiClassHinge.py``);
- :func:`certified_cross_entropy`: the certificate-aware loss, cross-entropy of the logits shifted by the
  per-pair margins :math:`\varepsilon K_{yj}` that certify the target radius ε (as GloRo nets, Leino et al. 2021);
- :func:`train_classifier`: core's training loop with Adam on either loss, the constraints restored after every
  step (:meth:`Network.project`);
- :func:`pgd_l2`: L2 projected gradient ascent on the margin, with the input gradient from the hand-derived
  backward pass (no autograd); :func:`ddn_l2`: the minimum-norm attack DDN (Rony et al. 2019), whose
  adversarial norms give the empirical robust accuracy at every radius at once;
- :func:`empirical_lipschitz`: :math:`\max_x\|J(x)\|_2` by power iteration on :math:`J^\top J` (JVP then VJP),
  a lower bound on the true constant, to set beside the certified upper bound.
"""

import numpy as np

from refimpl.core import classifier
from refimpl.core import unchecked as nn
from refimpl.core.classifier import Classifier
from refimpl.core.validate import check_choice, check_int, check_labels, check_positive, check_real, check_rng
from refimpl.dynsys import theory
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


def certified_cross_entropy(logits, labels, pair_constants, eps, temperature):
    r"""Cross-entropy at the target radius ε, with per-pair margins, and its gradients.

    .. math:: z'_{ij} = z_{ij} + \varepsilon K_{y_i j}\ (K_{yy} = 0), \qquad
              L = \mathrm{CE}(\tau z', y), \qquad
              \frac{\partial L}{\partial z} = \frac{\tau}{n}(\mathrm{softmax}(\tau z') - e_y), \quad
              \frac{\partial L}{\partial K_{aj}} = \varepsilon \sum_{i: y_i = a}\frac{\partial L}{\partial z_{ij}}

    :math:`z'` predicts y with a positive margin exactly when every :math:`z_y - z_j > \varepsilon K_{yj}`, i.e.
    when the point is certified at ε (:func:`refimpl.dynsys.theory.certified_radii`).

    logits (n, k), labels (n,), pair_constants K (k, k) >= 0, eps >= 0, temperature τ > 0.
    Returns ``(loss, dlogits (n, k), dpair_constants (k, k))``.
    """
    logits, labels = check_logits(logits, labels)
    K = theory._check_pair_constants("pair_constants", pair_constants, logits.shape[1])
    return _certified_cross_entropy(logits, labels, K, check_positive("eps", eps, allow_zero=True),
                                    check_positive("temperature", temperature))


def _certified_cross_entropy(logits, labels, K, eps, temperature):
    shifted = logits + eps * K[labels]
    loss, dshifted = nn.softmax_cross_entropy(temperature * shifted, labels)
    dlogits = temperature * dshifted
    dK = eps * np.eye(K.shape[0])[labels].T @ dlogits
    np.fill_diagonal(dK, 0.0)
    return loss, dlogits, dK


def head_pair_norms_backward(dnorms, C):
    r"""Gradient of :math:`\sum_{ij} \mathrm{dnorms}_{ij}\,\|c_i - c_j\|` with respect to C (k, m):
    :math:`dc_a = \sum_j S_{aj}(c_a - c_j)` with :math:`S = (\mathrm{dnorms} + \mathrm{dnorms}^\top)/N` off the
    diagonal (:math:`N_{ij} = \|c_i - c_j\|`; a pair of equal rows contributes nothing)."""
    norms, differences = theory.head_pair_norms(C)
    with np.errstate(divide="ignore", invalid="ignore"):
        S = np.where(norms > 0, (dnorms + dnorms.T) / norms, 0.0)
    np.fill_diagonal(S, 0.0)
    return np.einsum("ij,ijm->im", S, differences)


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


class CertifiedObjective(HingeObjective):
    r""":func:`certified_cross_entropy` of a network with a linear head C at radius ``eps``, temperature τ.

    :math:`K = L\,N(C)` with :math:`N_{ij} = \|c_i - c_j\|`; the gradient flows into C through N
    (:func:`head_pair_norms_backward`). The body's certified constant L is computed once, when the objective is
    built, and held fixed: the constraints keep it (1 for the 1-Lipschitz bodies here, with ‖P‖₂ ≤ 1 restored
    after every step), and the certificate after training recomputes it exactly.
    """

    def __init__(self, network, eps, temperature, d_out, warmup_steps=0):
        self.network, self.d_out = network, d_out
        self.eps, self.temperature = check_positive("eps", eps), check_positive("temperature", temperature)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
        self.head = f"{len(network.layers) - 1}.W"
        theory.pair_lipschitz(network)  # refuses a network without a linear head
        self.body_lipschitz = theory.body_lipschitz(network)
        self.calls = 0

    def radius(self):
        """The training radius of the next step: ε grows linearly from 0 over ``warmup_steps`` (as GloRo
        training does), so that the classes separate before they must be certified."""
        return self.eps * min(1.0, (self.calls + 1) / max(self.warmup_steps, 1))

    def loss(self, params, x, labels):
        logits, caches = self.network._forward(x)
        C = params[self.head]
        K = self.body_lipschitz * theory.head_pair_norms(C)[0]
        loss, dlogits, dK = _certified_cross_entropy(logits, labels, K, self.radius(), self.temperature)
        self.calls += 1
        grads = self.network._backward(dlogits, caches)[1]
        grads[self.head] = grads[self.head] + self.body_lipschitz * head_pair_norms_backward(dK, C)
        return loss, grads


LOSSES = ("hinge", "certified")


def train_classifier(network, X, y, rng, *, steps, batch_size, lr, margin=1.0, loss="hinge", eps=1.0,
                     temperature=1.0, warmup=0.0, on_step=None):
    """Train ``network`` in place on (X, y): core's :func:`~refimpl.core.classifier.train_classifier` with
    minibatch Adam, constraints restored after every step and exactly at the end.

    ``loss`` is ``"hinge"`` (:class:`HingeObjective`, margin ``margin``) or ``"certified"``
    (:class:`CertifiedObjective` at radius ``eps`` with ``temperature``, reached after the fraction ``warmup`` of
    the steps; the network must end with a linear head).
    ``on_step(step, steps, loss=loss)`` follows core's convention (every step, before the update; the default
    raises FloatingPointError naming the step when the loss is not finite; experiments pass ``run.check_finite``).
    Returns the losses, one per step.
    """
    X, y = _inputs_and_labels(network, X, y)
    rng = check_rng("rng", rng)
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be a function on_step(step, steps, loss=loss) or None; got {on_step!r}")
    margin, eps, temperature = check_positive("margin", margin), check_positive("eps", eps), check_positive(
        "temperature", temperature)
    warmup = check_real("warmup", warmup)
    if not 0.0 <= warmup <= 1.0:
        raise ValueError(f"warmup must be a fraction of the steps in [0, 1]; got {warmup!r}")
    if check_choice("loss", loss, LOSSES) == "hinge":
        objective = HingeObjective(network, margin, d_out=network.d_out)
    else:
        objective = CertifiedObjective(network, eps, temperature, d_out=network.d_out,
                                       warmup_steps=int(warmup * check_int("steps", steps, minimum=1)))
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


def ddn_l2(network, X, y, *, steps=100, gamma=0.05, alpha=1.0, init_norm=1.0, box=None):
    r"""Decoupled direction and norm attack (Rony et al. 2019, CVPR, Alg. 1): the smallest L2 perturbation found
    that changes the label of each point.

    .. math:: \delta \leftarrow \varepsilon_k\,\frac{\delta + \alpha_k g/\|g\|}{\|\delta + \alpha_k g/\|g\|\|},
              \qquad \varepsilon_k = \begin{cases}(1 - \gamma)\,\varepsilon_{k-1} & x + \delta
              \text{ misclassified}\\ (1 + \gamma)\,\varepsilon_{k-1} & \text{otherwise}\end{cases}

    with g the input gradient of the negated margin (the attack's objective, as :func:`pgd_l2`) and the step
    :math:`\alpha_k = \alpha(1 + \cos(\pi k/K))/2` annealed to 0. The iterates are clipped to ``box``.
    Returns ``(norms, X_adv)``: norms (n,) the smallest adversarial ‖δ‖₂ found (0 for a point already
    misclassified, inf where none was found), X_adv the corresponding points (X where none was found).
    Every norm is an upper bound on the point's true minimal adversarial distance.
    """
    X, y = _inputs_and_labels(network, X, y)
    steps, box = check_int("steps", steps, minimum=1), _check_box(box)
    gamma, alpha = check_positive("gamma", gamma), check_positive("alpha", alpha)
    if not gamma < 1.0:
        raise ValueError(f"gamma must be in (0, 1); got {gamma!r}")
    eps = np.full(len(X), check_positive("init_norm", init_norm))
    best, X_adv = np.full(len(X), np.inf), X.copy()
    delta = np.zeros_like(X)
    for step in range(steps + 1):
        candidate = X + delta if box is None else np.clip(X + delta, *box)
        negated_margin, gradient = margin_input_gradient(network, candidate, y)
        adversarial = negated_margin >= 0
        norms = np.linalg.norm(candidate - X, axis=1)
        better = adversarial & (norms < best)
        best[better], X_adv[better] = norms[better], candidate[better]
        if step == steps:
            break
        eps = np.where(adversarial, (1.0 - gamma) * eps, (1.0 + gamma) * eps)
        step_size = alpha * 0.5 * (1.0 + np.cos(np.pi * step / steps))
        delta = delta + step_size * gradient / np.maximum(np.linalg.norm(gradient, axis=1, keepdims=True), 1e-300)
        delta *= eps[:, None] / np.maximum(np.linalg.norm(delta, axis=1, keepdims=True), 1e-300)
        if box is not None:
            delta = np.clip(X + delta, *box) - X
    return best, X_adv


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
