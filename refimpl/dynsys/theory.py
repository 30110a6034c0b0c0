r"""Closed forms and bounds of seed 004: Lipschitz constants of the flow-map layers, the pair rule,
power iteration, certified robustness and the log-log order fit.

Contractive step (Murari's lecture notes, "contractive.pdf"): for :math:`X(x) = -A^\top\Sigma(Ax + b)` with
:math:`A^\top A = I` and :math:`\sigma' \in [\mu, 1]`, :math:`\langle X(y) - X(x), y - x\rangle \le -\mu\|y - x\|^2` and
:math:`\|X(y) - X(x)\| \le \|y - x\|`, hence

.. math:: \|\Psi_C^h(y) - \Psi_C^h(x)\|^2 \le (1 - 2\mu h + h^2)\,\|y - x\|^2 .

Expansive step: :math:`\mathrm{Lip}(\Psi_E^h) \le 1 + h\|W\|_2`. A pair is 1-Lipschitz when
:math:`\sqrt{1 - 2\mu h_C + h_C^2}\,(1 + h_E) \le 1` (with μ = 1/2 the talk's :math:`\sqrt{1 - h_C + h_C^2}(1 + h_E)\le 1`).
"""

import numpy as np

from refimpl.core.fitting import loglog_slope  # noqa: F401  (the observed Strang order; tests call it from here)
from refimpl.core.validate import as_float_array, check_int, check_labels, check_positive, check_real, check_shape

LEAKY_SLOPE = 0.5  # μ, the smallest slope of Σ(x) = max(x, x/2)
LIPSCHITZ_ACTIVATION = "leaky_relu"  # the only Σ with μ > 0 here (tanh has μ = 0: no contraction)
ORTHOGONALITY_TOLERANCE = 1e-8


def _check_slope(mu):
    """μ, the smallest slope of Σ: a number in [0, 1] (Σ is 1-Lipschitz)."""
    mu = check_real("mu", mu)
    if not 0.0 <= mu <= 1.0:
        raise ValueError(f"mu must be the smallest slope of the activation, in [0, 1]; got {mu!r}")
    return mu


def contractive_lipschitz_bound(h_C, mu=LEAKY_SLOPE):
    r"""The certified constant :math:`\sqrt{1 - 2\mu h_C + h_C^2}` of a contractive step with orthogonal A;
    h_C > 0, μ in [0, 1]."""
    h_C, mu = check_positive("h_C", h_C), _check_slope(mu)
    return float(np.sqrt(1.0 - 2.0 * mu * h_C + h_C**2))


def contractive_lipschitz_exact(h_C, mu=LEAKY_SLOPE):
    r"""The exact constant :math:`\max(|1 - h_C|, |1 - \mu h_C|)` for orthogonal A: the Jacobian
    :math:`I - h_C A^\top D A` is symmetric with spectrum in :math:`[1 - h_C, 1 - \mu h_C]` (D = diag Σ')."""
    h_C, mu = check_positive("h_C", h_C), _check_slope(mu)
    return float(max(abs(1.0 - h_C), abs(1.0 - mu * h_C)))


def max_expansive_step(h_C, mu=LEAKY_SLOPE):
    r"""Largest :math:`h_E` of the pair rule, :math:`1/\sqrt{1 - 2\mu h_C + h_C^2} - 1` (≈ 0.1547 at h_C = 1/2)."""
    return 1.0 / contractive_lipschitz_bound(h_C, mu) - 1.0


def check_contractive_step(h_C, mu=LEAKY_SLOPE):
    """Raise ValueError unless 0 < h_C < 2μ, where the contractive bound sqrt(1 − 2μh_C + h_C²) is < 1."""
    h_C, mu = check_positive("h_C", h_C), _check_slope(mu)
    if not h_C < 2.0 * mu:
        raise ValueError(f"h_C = {h_C!r} gives no contraction: sqrt(1 - 2 mu h_C + h_C^2) < 1 needs "
                         f"0 < h_C < 2 mu = {2 * mu:g}")
    return h_C


def check_pair_rule(h_C, h_E, mu=LEAKY_SLOPE):
    """Raise ValueError unless the (expansive h_E, contractive h_C) pair is 1-Lipschitz by the pair rule."""
    h_C, h_E = check_contractive_step(h_C, mu), check_positive("h_E", h_E)
    bound = contractive_lipschitz_bound(h_C, mu) * (1.0 + h_E)
    if bound > 1.0 + 1e-12:
        raise ValueError(f"h_E = {h_E!r} with h_C = {h_C!r} breaks the pair rule sqrt(1 - 2 mu h_C + h_C^2)(1 + h_E) "
                         f"= {bound:.6f} > 1 (mu = {mu:g}); use h_E <= {max_expansive_step(h_C, mu):.6f}")
    return bound


def check_lipschitz_activation(layer, index=None):
    r"""Refuse a contractive or expansive layer whose Σ is not the leaky ReLU max(x, x/2).

    The bounds assume :math:`\sigma' \in [\mu, 1]` with μ = 1/2. With tanh, :math:`\sigma' \to 0` for large
    arguments, so μ = 0 and a contractive step is no contraction: a (expansive, contractive) tanh pair has
    :math:`\|J\| = 1 + h_E` where the contractive step saturates, above the pair rule's 1.
    """
    _check_layer(layer)
    if index is not None:
        check_int("index", index, minimum=0)
    name = layer.config.get("activation_name", LIPSCHITZ_ACTIVATION)
    if name != LIPSCHITZ_ACTIVATION:
        where = f"layer {index} ({layer.kind})" if index is not None else f"{layer.kind} layer"
        raise ValueError(f"{where}: activation_name = {name!r} is not certified; the 1-Lipschitz "
                         f"bounds need slopes in [mu, 1] with mu > 0, i.e. activation_name = {LIPSCHITZ_ACTIVATION!r} "
                         f"(mu = {LEAKY_SLOPE:g}); tanh has mu = 0")


def check_lipschitz_layers(layers):
    """Refuse networks whose contractive/expansive steps are not (expansive, contractive) pairs obeying the rule.

    Also checks that every contractive A is orthogonal, every expansive W has ‖W‖₂ ≤ 1 and both use the
    leaky ReLU (the hypotheses of the bounds), so that a network that is built is certified.
    """
    if not isinstance(layers, (list, tuple)):
        raise TypeError(f"layers must be a list of refimpl.dynsys.Layer; got {type(layers).__name__}")
    for layer in layers:
        _check_layer(layer)
    kinds = [layer.kind for layer in layers]
    for index, layer in enumerate(layers):
        if layer.kind in ("expansive", "contractive"):
            check_lipschitz_activation(layer, index)
        if layer.kind == "expansive":
            if index + 1 >= len(layers) or kinds[index + 1] != "contractive":
                raise ValueError(f"layer {index} is expansive but not followed by a contractive step; "
                                 "a 1-Lipschitz network alternates (expansive, contractive) pairs")
            check_pair_rule(layers[index + 1].config["h"], layer.config["h"])
            norm = np.linalg.norm(layer.params["W"], 2)
            if norm > 1.0 + ORTHOGONALITY_TOLERANCE:
                raise ValueError(f"layer {index}: expansive W must have spectral norm <= 1; got {norm:.6g}")
        elif layer.kind == "contractive":
            if index == 0 or kinds[index - 1] != "expansive":
                check_contractive_step(layer.config["h"])
            A = layer.params["A"]
            if A.shape[0] != A.shape[1] or not np.allclose(A.T @ A, np.eye(A.shape[1]),
                                                           atol=ORTHOGONALITY_TOLERANCE):
                raise ValueError(f"layer {index}: contractive A must be square orthogonal (AᵀA = I); "
                                 f"got shape {A.shape}")


def spectral_norm(W, n_iter=100, v0=None, tol=0.0):
    r"""Largest singular value of W by power iteration on :math:`W^\top W`.

    .. math:: v \leftarrow W^\top W v / \|W^\top W v\|, \qquad \hat\sigma = \|Wv\|

    :math:`\hat\sigma \le \|W\|_2` for every v (a lower bound that converges from below). ``v0`` warm-starts
    the iteration (training keeps the last vector); returns ``(sigma, v)``.

    W (m, d) non-empty; v0 (d,) non-zero or None (the ones vector); n_iter >= 1; tol >= 0.
    """
    W = as_float_array("W", W, ndim=2)
    if W.size == 0:
        raise ValueError(f"W must be a non-empty matrix; got shape {W.shape}")
    if v0 is not None:
        v0 = check_shape("v0", as_float_array("v0", v0, ndim=1), (W.shape[1],), described="(d,)",
                         context=f"to match W with d = {W.shape[1]}")
        if not np.any(v0):
            raise ValueError("v0 must be a non-zero vector")
    return _spectral_norm(W, check_int("n_iter", n_iter, minimum=1), v0,
                          check_positive("tol", tol, allow_zero=True))


def _spectral_norm(W, n_iter=100, v0=None, tol=0.0):
    """:func:`spectral_norm` on checked arguments (the constraint projection calls it every training step)."""
    v = np.ones(W.shape[1]) if v0 is None else np.array(v0, dtype=float)
    v /= np.linalg.norm(v)
    sigma = 0.0
    for _ in range(n_iter):
        w = W.T @ (W @ v)
        norm = np.linalg.norm(w)
        if norm == 0.0:
            return 0.0, v
        v = w / norm
        previous, sigma = sigma, float(np.linalg.norm(W @ v))
        if abs(sigma - previous) <= tol * sigma:
            break
    return sigma, v


def layer_lipschitz_bound(layer):
    """Certified Lipschitz constant (2-norm) of one layer, from exact singular values."""
    if _check_layer(layer).kind == "linear":
        return float(np.linalg.norm(layer.params["W"], 2))
    if layer.kind in ("expansive", "contractive"):
        check_lipschitz_activation(layer)
    if layer.kind == "expansive":
        return 1.0 + layer.config["h"] * float(np.linalg.norm(layer.params["W"], 2))
    if layer.kind == "contractive":
        return contractive_lipschitz_bound(layer.config["h"])
    if layer.kind == "resnet":
        # Σ is 1-Lipschitz for both activations: Lip ≤ 1 + h‖B‖‖A‖ (loose, but valid)
        return 1.0 + layer.config["h"] * float(np.linalg.norm(layer.params["B"], 2) *
                                               np.linalg.norm(layer.params["A"], 2))
    raise ValueError(f"no Lipschitz bound for a layer of kind {layer.kind!r}")


def certified_lipschitz(network):
    r"""Product of the layers' certified constants, :math:`L = \|C\|\,\prod_i \mathrm{Lip}(\Psi_i)\,\|P\|`."""
    from refimpl.dynsys.model import check_network  # model imports this module: import it back only when called

    check_network(network)
    return float(np.prod([layer_lipschitz_bound(layer) for layer in network.layers]))


def _check_layer(layer):
    from refimpl.dynsys.model import Layer  # model imports this module: import it back only when called

    if not isinstance(layer, Layer):
        raise TypeError(f"layer must be a refimpl.dynsys.Layer; got {type(layer).__name__}")
    return layer


def check_logits(logits, labels):
    """Logits as a finite (n, k) array with n >= 1, k >= 2, and integer labels (n,) in 0 .. k − 1."""
    logits = as_float_array("logits", logits, ndim=2)
    if logits.shape[0] == 0 or logits.shape[1] < 2:
        raise ValueError(f"logits must have shape (n, k) with n >= 1 and k >= 2 classes; got {logits.shape}")
    return logits, check_labels("labels", labels, len(logits), logits.shape[1])


def margins(logits, labels):
    r"""Classification margin :math:`z_y - \max_{j\ne y} z_j` (positive iff correct), shape (n,).

    logits (n, k), labels (n,) int in 0 .. k − 1.
    """
    return _margins(*check_logits(logits, labels))


def _margins(logits, labels):
    n = len(labels)
    true = logits[np.arange(n), labels]
    others = logits.copy()
    others[np.arange(n), labels] = -np.inf
    return true - others.max(axis=1)


def certified_accuracy(logits, labels, lipschitz, eps):
    r"""Fraction certified at L2 radius ε: margin :math:`> \sqrt2\,L\,\varepsilon` (Tsuzuku et al. 2018).

    logits (n, k), labels (n,), lipschitz L >= 0 (a certified bound), eps >= 0.
    """
    lipschitz = check_positive("lipschitz", lipschitz, allow_zero=True)
    eps = check_positive("eps", eps, allow_zero=True)
    return float(np.mean(margins(logits, labels) > np.sqrt(2.0) * lipschitz * eps))
