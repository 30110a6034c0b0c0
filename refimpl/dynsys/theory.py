r"""Closed forms and bounds of seed 004: Lipschitz constants of the flow-map layers, the pair rule and its
learned reparametrisation, power iteration, the per-pair certificate and the log-log order fit.

Contractive step (Murari's lecture notes, "contractive.pdf"): for :math:`X(x) = -A^\top\Sigma(Ax + b)` with
:math:`A^\top A = I` and :math:`\sigma' \in [\mu, 1]`, the notes bound
:math:`\|\Psi_C^h(y) - \Psi_C^h(x)\|^2 \le (1 - 2\mu h + h^2)\|y - x\|^2`. For orthogonal A the exact constant is

.. math:: \mathrm{Lip}(\Psi_C^h) = \max(|1 - h|,\ |1 - \mu h|) < 1 \quad (0 < h < 2,\ \mu > 0),

tighter (0.95 instead of 0.954 at h = 0.1, 1/2 instead of 1 at h = 1); the certificate uses it. Expansive step:
:math:`\mathrm{Lip}(\Psi_E^h) \le 1 + h\|W\|_2`. A pair is 1-Lipschitz when
:math:`\max(|1 - h_C|, |1 - \mu h_C|)\,(1 + h_E) \le 1`.

Certificate (per pair of classes): with logits :math:`z = C\,g(x) + c` and :math:`\mathrm{Lip}(g) \le L`,
:math:`z_y - z_j` is :math:`\|c_y - c_j\| L`-Lipschitz, so the prediction cannot change within the radius
:math:`\min_{j \ne y} (z_y - z_j) / (\|c_y - c_j\| L)`, never smaller than Tsuzuku et al.'s (2018)
:math:`(z_y - \max_j z_j)/(\sqrt2\,\|C\|_2 L)`, since :math:`\|c_y - c_j\| \le \sqrt2\,\|C\|_2`.
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


def contractive_lipschitz_sqrt(h_C, mu=LEAKY_SLOPE):
    r"""The lecture notes' bound :math:`\sqrt{1 - 2\mu h_C + h_C^2}` of a contractive step with orthogonal A
    (safe, but looser than :func:`contractive_lipschitz_bound`); h_C > 0, μ in [0, 1]."""
    h_C, mu = check_positive("h_C", h_C), _check_slope(mu)
    return float(np.sqrt(1.0 - 2.0 * mu * h_C + h_C**2))


def contractive_lipschitz_bound(h_C, mu=LEAKY_SLOPE):
    r"""The certified (exact) constant :math:`\max(|1 - h_C|, |1 - \mu h_C|)` of a contractive step with
    orthogonal A and slopes of Σ in [μ, 1]; h_C > 0, μ in [0, 1].

    Along a segment, :math:`\Psi_C(y) - \Psi_C(x) = (I - h_C A^\top \bar D A)(y - x)` with
    :math:`\bar D` the diagonal of mean slopes, in [μ, 1]; the matrix is symmetric with spectrum in
    :math:`[1 - h_C, 1 - \mu h_C]`, so the bound holds, and it is attained where all slopes are 1 or all μ.
    It is below 1 exactly when 0 < h_C < 2 and μ > 0.
    """
    h_C, mu = check_positive("h_C", h_C), _check_slope(mu)
    return float(max(abs(1.0 - h_C), abs(1.0 - mu * h_C)))


def max_expansive_step(h_C, mu=LEAKY_SLOPE):
    r"""Largest :math:`h_E` of the pair rule, :math:`1/\max(|1 - h_C|, |1 - \mu h_C|) - 1`
    (1 at h_C = 1, μ = 1/2; 2 at the most contractive h_C = 2/(1 + μ))."""
    constant = contractive_lipschitz_bound(check_contractive_step(h_C, mu), mu)
    return np.inf if constant == 0.0 else 1.0 / constant - 1.0  # h_C = μ = 1: the step maps onto a point


def check_contractive_step(h_C, mu=LEAKY_SLOPE):
    """Raise ValueError unless 0 < h_C < 2 and μ > 0, where the contractive constant max(|1 − h_C|, |1 − μh_C|)
    is < 1."""
    h_C, mu = check_positive("h_C", h_C), _check_slope(mu)
    if not (h_C < 2.0 and mu > 0.0):
        raise ValueError(f"h_C = {h_C!r} (mu = {mu:g}) gives no contraction: max(|1 - h_C|, |1 - mu h_C|) < 1 "
                         "needs 0 < h_C < 2 and mu > 0")
    return h_C


def check_pair_rule(h_C, h_E, mu=LEAKY_SLOPE):
    """Raise ValueError unless the (expansive h_E, contractive h_C) pair is 1-Lipschitz by the pair rule
    max(|1 − h_C|, |1 − μh_C|)(1 + h_E) ≤ 1; returns the pair's constant."""
    h_C, h_E = check_contractive_step(h_C, mu), check_positive("h_E", h_E)
    bound = contractive_lipschitz_bound(h_C, mu) * (1.0 + h_E)
    if bound > 1.0 + 1e-12:
        raise ValueError(f"h_E = {h_E!r} with h_C = {h_C!r} breaks the pair rule max(|1 - h_C|, |1 - mu h_C|)"
                         f"(1 + h_E) = {bound:.6f} > 1 (mu = {mu:g}); use h_E <= {max_expansive_step(h_C, mu):.6f}")
    return bound


PAIR_H_C_MAX = 2.0  # the learned h_C = PAIR_H_C_MAX·sigmoid(θ) stays in (0, 2), where the step contracts


def pair_rule_steps(theta, mu=LEAKY_SLOPE):
    r"""Step sizes of a learned pair that satisfy the pair rule for every θ, and their derivatives.

    .. math:: h_C = 2\,\mathrm{sigmoid}(\theta) \in (0, 2), \qquad
              h_E = \frac{1}{c(h_C)} - 1, \quad c(h) = \max(|1 - h|, |1 - \mu h|)

    so that :math:`c(h_C)(1 + h_E) = 1`: the rule holds with equality at every optimiser step, and no step
    can leave the admissible set. :math:`dh_E/dh_C = -c'(h_C)/c(h_C)^2` with :math:`c' = -\mu` below the
    kink :math:`h_C = 2/(1 + \mu)` and +1 above it. Returns ``(h_C, h_E, dh_C/dθ, dh_E/dθ)``; μ in (0, 1).
    """
    theta, mu = check_real("theta", theta), _check_slope(mu)
    if not 0.0 < mu < 1.0:  # μ = 1 (a linear Σ) makes c(1) = 0 and h_E unbounded
        raise ValueError(f"mu must be in (0, 1) for a learned pair; got {mu!r}")
    sigmoid = 0.5 * (1.0 + np.tanh(0.5 * theta))  # stable for large |θ|
    h_C = PAIR_H_C_MAX * sigmoid
    above_kink = abs(1.0 - h_C) > abs(1.0 - mu * h_C)
    c = abs(1.0 - h_C) if above_kink else 1.0 - mu * h_C
    dc = 1.0 if above_kink else -mu
    dh_C = PAIR_H_C_MAX * sigmoid * (1.0 - sigmoid)
    return float(h_C), float(1.0 / c - 1.0), float(dh_C), float(-dc / c**2 * dh_C)


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
            _check_spectral(layer, index)
        elif layer.kind == "contractive":
            if index == 0 or kinds[index - 1] != "expansive":
                check_contractive_step(layer.config["h"])
            _check_orthogonal(layer, index)
        elif layer.kind == "lipschitz_pair":
            _check_spectral(layer, index)
            _check_orthogonal(layer, index)


def _check_spectral(layer, index):
    norm = np.linalg.norm(layer.params["W"], 2)
    if norm > 1.0 + ORTHOGONALITY_TOLERANCE:
        raise ValueError(f"layer {index}: {layer.kind} W must have spectral norm <= 1; got {norm:.6g}")


def _check_orthogonal(layer, index):
    A = layer.params["A"]
    if A.shape[0] != A.shape[1] or not np.allclose(A.T @ A, np.eye(A.shape[1]), atol=ORTHOGONALITY_TOLERANCE):
        raise ValueError(f"layer {index}: {layer.kind} A must be square orthogonal (AᵀA = I); got shape {A.shape}")


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


NON_EXPANSIVE_KINDS = ("cpl", "sll")  # 1-Lipschitz for any weights


def layer_lipschitz_bound(layer):
    r"""Certified Lipschitz constant (2-norm) of one layer, from exact singular values.

    CPL and SLL layers are non-expansive for any weights (Meunier et al. 2022, Thm. 3; Araujo et al. 2023,
    Thm. 3); a groupsort layer MaxMin(Qx + b) has constant ‖Q‖₂ (MaxMin is a piecewise permutation); a
    learned pair has :math:`c(h_C)(1 + h_E\|W\|_2)` with h_C, h_E from :func:`pair_rule_steps`.
    """
    if _check_layer(layer).kind == "linear":
        return float(np.linalg.norm(layer.params["W"], 2))
    if layer.kind in ("expansive", "contractive"):
        check_lipschitz_activation(layer)
    if layer.kind == "expansive":
        return 1.0 + layer.config["h"] * float(np.linalg.norm(layer.params["W"], 2))
    if layer.kind == "contractive":
        return contractive_lipschitz_bound(layer.config["h"])
    if layer.kind == "lipschitz_pair":
        h_C, h_E, _, _ = pair_rule_steps(layer.params["theta"][0])
        return contractive_lipschitz_bound(h_C) * (1.0 + h_E * float(np.linalg.norm(layer.params["W"], 2)))
    if layer.kind == "groupsort":
        return float(np.linalg.norm(layer.params["Q"], 2))
    if layer.kind in NON_EXPANSIVE_KINDS:
        return 1.0
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


def body_lipschitz(network):
    r"""Certified constant of every layer but the last (the head), :math:`L = \prod_{i<k}\mathrm{Lip}(\Psi_i)`."""
    from refimpl.dynsys.model import check_network  # model imports this module: import it back only when called

    return float(np.prod([layer_lipschitz_bound(layer) for layer in check_network(network).layers[:-1]]))


def head_pair_norms(C):
    r""":math:`N_{ij} = \|c_i - c_j\|_2` for the rows of the head C (k, m), and the differences
    :math:`c_i - c_j` (k, k, m)."""
    C = as_float_array("C", C, ndim=2)
    if C.size == 0:
        raise ValueError(f"C must be a non-empty (k, m) head; got shape {C.shape}")
    differences = C[:, None, :] - C[None, :, :]
    return np.sqrt(np.einsum("ijm,ijm->ij", differences, differences)), differences


def pair_lipschitz(network):
    r"""Per-pair constants :math:`K_{ij} = \|c_i - c_j\|\,L` (k, k) of a network whose last layer is linear
    (the head C), with L = :func:`body_lipschitz`; :math:`z_i - z_j` is :math:`K_{ij}`-Lipschitz."""
    from refimpl.dynsys.model import check_network

    head = check_network(network).layers[-1]
    if head.kind != "linear":
        raise ValueError(f"network must end with a linear head for the per-pair certificate; got {head.kind}")
    return head_pair_norms(head.params["W"])[0] * body_lipschitz(network)


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


def _check_pair_constants(name, K, k):
    """``K`` as a finite non-negative (k, k) array of per-pair Lipschitz constants."""
    K = check_shape(name, as_float_array(name, K, ndim=2), (k, k), described="(k, k)",
                    context=f"to match logits with k = {k} classes")
    if np.any(K < 0):
        raise ValueError(f"{name} must be non-negative Lipschitz constants; got min {K.min():g}")
    return K


def certified_radii(logits, labels, pair_constants):
    r"""Certified L2 radius of every point, :math:`r = \max(0, \min_{j\ne y}(z_y - z_j)/K_{yj})`, shape (n,).

    Zero for a misclassified point (or a tie); inf where every :math:`K_{yj} = 0` and the point is correct.
    logits (n, k), labels (n,), pair_constants K (k, k) from :func:`pair_lipschitz` (or
    :math:`\sqrt2 L (1 - I)` for a global constant L).
    """
    logits, labels = check_logits(logits, labels)
    return _certified_radii(logits, labels, _check_pair_constants("pair_constants", pair_constants, logits.shape[1]))


def _certified_radii(logits, labels, K):
    rows = np.arange(len(labels))
    gaps = logits[rows, labels][:, None] - logits
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(gaps > 0, gaps / K[labels], np.where(gaps < 0, -np.inf, 0.0))
    ratios[rows, labels] = np.inf
    return np.maximum(ratios.min(axis=1), 0.0)


def certified_accuracy(logits, labels, pair_constants, eps):
    r"""Fraction certified at L2 radius ε (certified radius > ε; :func:`certified_radii`).

    logits (n, k), labels (n,), pair_constants (k, k) certified per-pair constants, eps >= 0.
    """
    eps = check_positive("eps", eps, allow_zero=True)
    return float(np.mean(certified_radii(logits, labels, pair_constants) > eps))
