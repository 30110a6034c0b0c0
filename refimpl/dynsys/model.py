r"""Layers as flow maps of structured vector fields (seed 004, Celledoni, Murari, Owren, Schönlieb, Sherry).

A network is a composition of integrator steps, :math:`\mathcal N = \Psi^{h_k}_{f_k}\circ\dots\circ\Psi^{h_1}_{f_1}`.
Every layer here is three pure functions on a batch of row vectors ``x`` of shape (n, d):

- ``*_forward(x, <params>, <config>) -> (out, cache)``;
- ``*_backward(dout, cache) -> (dx, d<param>, ...)``, the gradients in the order of the forward's array
  arguments (the convention of :mod:`refimpl.core`; the names are :data:`LAYER_PARAMS`);
- ``*_jvp(t, cache) -> J t``, the Jacobian-vector product at the cached point (for power iteration).

The column-vector equations of the paper are written for rows: :math:`Ax + b` is ``x @ A.T + b`` and
:math:`A^\top\Sigma(Ax+b)` is ``Sigma(x @ A.T + b) @ A``. Σ is ``"leaky_relu"`` (Σ(z) = max(z, z/2), smallest
slope μ = 1/2) or ``"tanh"``. Every backward pass is checked against finite differences and torch in
``tests/dynsys``. :class:`Network` composes the layers; the builders at the end make the networks of the talk.
"""

from dataclasses import dataclass, field

import numpy as np

from refimpl.core import unchecked as nn
from refimpl.core.validate import (as_float_array, check_choice, check_int, check_positive, check_real, check_rng,
                                   check_shape)
from refimpl.dynsys import theory

ACTIVATIONS = ("leaky_relu", "tanh")
SLOPE = theory.LEAKY_SLOPE  # Σ(z) = max(z, z/2): the activation of the 1-Lipschitz networks


def activation(z, name):
    """Σ(z) and Σ'(z) element-wise, from the core layers; ``name`` one of ``ACTIVATIONS``
    (``"leaky_relu"`` has slope 1/2)."""
    if check_choice("activation_name", name, ACTIVATIONS) == "leaky_relu":
        s, cache = nn.leaky_relu_forward(z, SLOPE)
        return s, nn.leaky_relu_backward(np.ones_like(z), cache)
    s, cache = nn.tanh_forward(z)
    return s, nn.tanh_backward(np.ones_like(z), cache)


# ---------------------------------------------------------------------------------------------------------------
# Linear map (lift and head)
# ---------------------------------------------------------------------------------------------------------------

def linear_forward(x, W, b):
    r"""Affine lift or head, :math:`x \mapsto Wx + b`. x (n, d_in), W (d_out, d_in), b (d_out,)."""
    out, cache = nn.affine_forward(x, W, b)
    return out, {"affine": cache, "W": W}


def linear_backward(dout, cache):
    dx, dW, db = nn.affine_backward(dout, cache["affine"])
    return dx, dW, db


def linear_jvp(t, cache):
    return t @ cache["W"].T


# ---------------------------------------------------------------------------------------------------------------
# ResNet = explicit Euler step
# ---------------------------------------------------------------------------------------------------------------

def resnet_forward(x, A, B, b, h, activation_name="tanh"):
    r"""One explicit Euler step of :math:`\dot x = B\Sigma(Ax + b)`.

    .. math:: \Psi^h(x) = x + h\,B\,\Sigma(Ax + b)

    x (n, d), A (m, d), B (d, m), b (m,), h > 0.
    """
    z = x @ A.T + b
    s, ds = activation(z, activation_name)
    return x + h * s @ B.T, {"x": x, "z": z, "s": s, "ds": ds, "A": A, "B": B, "h": h}


def resnet_backward(dout, cache):
    r""":math:`g = h\,(\mathrm{dout}\,B)\odot\Sigma'(z)`, :math:`dx = \mathrm{dout} + gA`, :math:`dA = g^\top x`,
    :math:`dB = h\,\mathrm{dout}^\top\Sigma(z)`, :math:`db = \sum_n g`."""
    h = cache["h"]
    g = h * (dout @ cache["B"]) * cache["ds"]
    return dout + g @ cache["A"], g.T @ cache["x"], h * dout.T @ cache["s"], g.sum(axis=0)


def resnet_jvp(t, cache):
    return t + cache["h"] * ((t @ cache["A"].T) * cache["ds"]) @ cache["B"].T


# ---------------------------------------------------------------------------------------------------------------
# 1-Lipschitz pair: contractive gradient step and expansive step
# ---------------------------------------------------------------------------------------------------------------

def contractive_forward(x, A, b, h, activation_name=theory.LIPSCHITZ_ACTIVATION):
    r"""Explicit Euler step of the gradient flow :math:`\dot x = -\nabla V(x) = -A^\top\Sigma(Ax + b)`.

    .. math:: \Psi_C^{h}(x) = x - h\,A^\top\Sigma(Ax + b), \qquad
              \mathrm{Lip}(\Psi_C^h) \le \sqrt{1 - 2\mu h + h^2} \ \text{ for } A^\top A = I

    x (n, d), A (d, d) orthogonal, b (d,), 0 < h < 1.
    """
    z = x @ A.T + b
    s, ds = activation(z, activation_name)
    return x - h * s @ A, {"x": x, "z": z, "s": s, "ds": ds, "A": A, "h": h}


def contractive_backward(dout, cache):
    r""":math:`g = -h\,(\mathrm{dout}\,A^\top)\odot\Sigma'(z)`, :math:`dx = \mathrm{dout} + gA`,
    :math:`dA = -h\,\Sigma(z)^\top\mathrm{dout} + g^\top x` (A appears twice), :math:`db = \sum_n g`."""
    A, h = cache["A"], cache["h"]
    g = -h * (dout @ A.T) * cache["ds"]
    dA = -h * cache["s"].T @ dout + g.T @ cache["x"]
    return dout + g @ A, dA, g.sum(axis=0)


def contractive_jvp(t, cache):
    A = cache["A"]
    return t - cache["h"] * ((t @ A.T) * cache["ds"]) @ A


def expansive_forward(x, W, v, h, activation_name=theory.LIPSCHITZ_ACTIVATION):
    r"""Explicit Euler step of :math:`\dot x = \Sigma(Wx + v)`.

    .. math:: \Psi_E^{h}(x) = x + h\,\Sigma(Wx + v), \qquad \mathrm{Lip}(\Psi_E^h) \le 1 + h\|W\|_2

    x (n, d), W (d, d) with ‖W‖₂ ≤ 1, v (d,).
    """
    z = x @ W.T + v
    s, ds = activation(z, activation_name)
    return x + h * s, {"x": x, "z": z, "s": s, "ds": ds, "W": W, "h": h}


def expansive_backward(dout, cache):
    r""":math:`g = h\,\mathrm{dout}\odot\Sigma'(z)`, :math:`dx = \mathrm{dout} + gW`, :math:`dW = g^\top x`."""
    g = cache["h"] * dout * cache["ds"]
    return dout + g @ cache["W"], g.T @ cache["x"], g.sum(axis=0)


def expansive_jvp(t, cache):
    return t + cache["h"] * (t @ cache["W"].T) * cache["ds"]


def lipschitz_pair_forward(x, W, v, A, b, theta):
    r"""An (expansive, contractive) pair whose step sizes are learned through θ under the pair rule.

    .. math:: \Psi(x) = \Psi_C^{h_C}\big(\Psi_E^{h_E}(x)\big), \qquad h_C = 2\,\mathrm{sigmoid}(\theta),\quad
              h_E = 1/\max(|1 - h_C|, |1 - \mu h_C|) - 1

    (:func:`refimpl.dynsys.theory.pair_rule_steps`), so that the pair is 1-Lipschitz for every θ when
    ‖W‖₂ ≤ 1 and A is orthogonal. x (n, d), W, A (d, d), v, b (d,), theta (1,); Σ the leaky ReLU.
    """
    h_C, h_E, dh_C, dh_E = theory.pair_rule_steps(theta[0])
    mid, expansive = expansive_forward(x, W, v, h_E)
    out, contractive = contractive_forward(mid, A, b, h_C)
    kink = np.array([h_C - 2.0 / (1.0 + SLOPE)])  # where c(h_C) switches branch; "z": a kink for the tests
    return out, {"expansive": expansive, "contractive": contractive, "dh": (dh_C, dh_E), "z_rule": kink}


def lipschitz_pair_backward(dout, cache):
    r"""The two steps' backward passes, and :math:`\partial L/\partial\theta = \partial L/\partial h_C\, h_C'
    + \partial L/\partial h_E\, h_E'` with :math:`\partial L/\partial h_C = -\sum \mathrm{dout}\odot\Sigma(z_C)A`
    and :math:`\partial L/\partial h_E = \sum \mathrm{dmid}\odot\Sigma(z_E)`."""
    expansive, contractive = cache["expansive"], cache["contractive"]
    dmid, dA, db = contractive_backward(dout, contractive)
    dx, dW, dv = expansive_backward(dmid, expansive)
    dh_C = -np.sum(dout * (contractive["s"] @ contractive["A"]))
    dh_E = np.sum(dmid * expansive["s"])
    dtheta = dh_C * cache["dh"][0] + dh_E * cache["dh"][1]
    return dx, dW, dv, dA, db, np.array([dtheta])


def lipschitz_pair_jvp(t, cache):
    return contractive_jvp(expansive_jvp(t, cache["expansive"]), cache["contractive"])


# ---------------------------------------------------------------------------------------------------------------
# Baselines from the 1-Lipschitz literature: CPL, SLL, MaxMin with orthogonal weights
# ---------------------------------------------------------------------------------------------------------------

def _top_singular(W):
    """σ₁(W), its singular vectors u (m,), v (d,) (∂σ₁/∂W = u vᵀ when σ₁ is simple) and the gap σ₁ − σ₂."""
    left, singular, right = np.linalg.svd(W, full_matrices=False)
    gap = singular[0] - singular[1] if len(singular) > 1 else singular[0]
    return singular[0], left[:, 0], right[0], np.array([gap])


def cpl_forward(x, W, b):
    r"""Convex potential layer (Meunier et al. 2022, ICML), an explicit Euler step of :math:`-\nabla V`:

    .. math:: \Psi(x) = x - \frac{2}{\|W\|_2^2}\,W^\top\mathrm{ReLU}(Wx + b)

    non-expansive for every W (the step 2/‖W‖² is the largest that keeps it so). x (n, d), W (m, d), b (m,).
    """
    z = x @ W.T + b
    s, _ = nn.relu_forward(z)
    sigma, u, v, gap = _top_singular(W)
    h = 2.0 / sigma**2
    return x - h * s @ W, {"x": x, "z": z, "s": s, "ds": (z > 0).astype(float), "W": W, "h": h,
                           "sigma": sigma, "u": u, "v": v, "z_singular_gap": gap}


def cpl_backward(dout, cache):
    r"""As :func:`contractive_backward` with W for A, plus the path through :math:`h = 2/\sigma_1^2`:
    :math:`dW \mathrel{+}= (\partial L/\partial h)(-4/\sigma_1^3)\,u v^\top`,
    :math:`\partial L/\partial h = -\sum \mathrm{dout}\odot\mathrm{ReLU}(z)W`."""
    W, h = cache["W"], cache["h"]
    g = -h * (dout @ W.T) * cache["ds"]
    dh = -np.sum(dout * (cache["s"] @ W))
    dW = -h * cache["s"].T @ dout + g.T @ cache["x"] + dh * (-4.0 / cache["sigma"]**3) * np.outer(cache["u"],
                                                                                                  cache["v"])
    return dout + g @ W, dW, g.sum(axis=0)


def cpl_jvp(t, cache):
    W = cache["W"]
    return t - cache["h"] * ((t @ W.T) * cache["ds"]) @ W


def sll_forward(x, W, b, q):
    r"""SDP-based Lipschitz layer (Araujo et al. 2023, ICLR, Thm. 3):

    .. math:: \Psi(x) = x - 2\,W^\top T^{-1}\mathrm{ReLU}(Wx + b), \qquad
              T = \mathrm{diag}(t), \quad t_i = \sum_j |WW^\top|_{ij}\, e^{q_j - q_i}

    non-expansive for every W and q (the rescaling makes :math:`W^\top T^{-1} W \preceq I`).
    x (n, d), W (m, d), b, q (m,).
    """
    z = x @ W.T + b
    s, _ = nn.relu_forward(z)
    gram = W @ W.T
    scale = np.exp(q - q.max())  # the ratios e^{q_j - q_i} do not change; no overflow
    t = (np.abs(gram) @ scale) / scale
    return x - 2.0 * (s / t) @ W, {"x": x, "z": z, "s": s, "ds": (z > 0).astype(float), "W": W, "t": t,
                                   "z_gram": gram, "scale": scale}


def sll_backward(dout, cache):
    r"""With :math:`r = s/t`: :math:`dr = -2\,\mathrm{dout}\,W^\top`, :math:`dz = (dr/t)\odot\mathrm{ReLU}'(z)`,
    :math:`dt = -\sum_n dr\odot s/t^2`; through :math:`G = WW^\top`,
    :math:`dG_{ij} = dt_i\,\mathrm{sign}(G_{ij})\,e^{q_j - q_i}`, :math:`dW \mathrel{+}= (dG + dG^\top)W`;
    :math:`dq_k = \sum_i dt_i |G_{ik}| e^{q_k - q_i} - dt_k t_k`."""
    W, t, s, scale, gram = cache["W"], cache["t"], cache["s"], cache["scale"], cache["z_gram"]
    r = s / t
    dr = -2.0 * dout @ W.T
    dz = dr / t * cache["ds"]
    dt = -np.sum(dr * s, axis=0) / t**2
    ratio = scale[None, :] / scale[:, None]  # e^{q_j - q_i}
    dgram = dt[:, None] * np.sign(gram) * ratio
    dW = -2.0 * r.T @ dout + dz.T @ cache["x"] + (dgram + dgram.T) @ W
    dq = (dt[:, None] * np.abs(gram) * ratio).sum(axis=0) - dt * t
    return dout + dz @ W, dW, dz.sum(axis=0), dq


def sll_jvp(t, cache):
    return t - 2.0 * ((t @ cache["W"].T) * cache["ds"] / cache["t"]) @ cache["W"]


def _maxmin(z):
    """MaxMin on consecutive pairs (Anil et al. 2019): (a, c) -> (max(a, c), min(a, c)); also the mask a > c."""
    a, c = z[:, 0::2], z[:, 1::2]
    first = a > c
    out = np.empty_like(z)
    out[:, 0::2], out[:, 1::2] = np.where(first, a, c), np.where(first, c, a)
    return out, first


def _route(t, first):
    """Apply the MaxMin Jacobian at the mask ``first`` to t (a permutation); its transpose is itself."""
    a, c = t[:, 0::2], t[:, 1::2]
    out = np.empty_like(t)
    out[:, 0::2], out[:, 1::2] = np.where(first, a, c), np.where(first, c, a)
    return out


def groupsort_forward(x, Q, b):
    r"""Orthogonal linear map then MaxMin (GroupSort with groups of 2; Anil, Lucas & Grosse 2019, ICML):

    .. math:: \Psi(x) = \mathrm{MaxMin}(Qx + b), \qquad \mathrm{MaxMin}(a, c) = (\max(a, c), \min(a, c))

    1-Lipschitz with Q orthogonal (kept so by the polar projection, the fixed point of the Björck iteration).
    MaxMin is gradient-norm preserving: its Jacobian is a permutation. x (n, d), Q (d, d), b (d,), d even.
    """
    z = x @ Q.T + b
    out, first = _maxmin(z)
    return out, {"x": x, "z_pair_gap": z[:, 0::2] - z[:, 1::2], "first": first, "Q": Q}


def groupsort_backward(dout, cache):
    """dz = the permutation of dout (the Jacobian of MaxMin is symmetric), then the affine map."""
    dz = _route(dout, cache["first"])
    return dz @ cache["Q"], dz.T @ cache["x"], dz.sum(axis=0)


def groupsort_jvp(t, cache):
    return _route(t @ cache["Q"].T, cache["first"])


# ---------------------------------------------------------------------------------------------------------------
# Volume-preserving split step and Hamiltonian (symplectic Euler) step, on x = [q | v]
# ---------------------------------------------------------------------------------------------------------------

def _halves(x):
    k = x.shape[1] // 2
    return x[:, :k], x[:, k:]


def volume_preserving_forward(x, A, a, B, b, h, activation_name="tanh"):
    r"""Shear-splitting step of the divergence-free field :math:`X(q, v) = (\Sigma(Av + a), \Sigma(Bq + b))`.

    .. math:: q' = q + h\,\Sigma(Av + a), \qquad v' = v + h\,\Sigma(Bq' + b)

    Each half is a shear with unit determinant, so :math:`\det\partial\Psi/\partial x = 1` exactly.
    x (n, 2k) = [q | v], A, B (k, k), a, b (k,).
    """
    q, v = _halves(x)
    z1 = v @ A.T + a
    s1, ds1 = activation(z1, activation_name)
    q1 = q + h * s1
    z2 = q1 @ B.T + b
    s2, ds2 = activation(z2, activation_name)
    out = np.concatenate([q1, v + h * s2], axis=1)
    return out, {"v": v, "q1": q1, "z1": z1, "z2": z2, "ds1": ds1, "ds2": ds2, "A": A, "B": B, "h": h}


def volume_preserving_backward(dout, cache):
    """Reverse the two shears: first v' = v + hΣ(Bq' + b), then q' = q + hΣ(Av + a)."""
    h = cache["h"]
    dq1, dv = (d.copy() for d in _halves(dout))
    g2 = h * dv * cache["ds2"]
    dq1 += g2 @ cache["B"]
    g1 = h * dq1 * cache["ds1"]
    dv += g1 @ cache["A"]
    return np.concatenate([dq1, dv], axis=1), g1.T @ cache["v"], g1.sum(axis=0), g2.T @ cache["q1"], g2.sum(axis=0)


def volume_preserving_jvp(t, cache):
    h = cache["h"]
    tq, tv = _halves(t)
    tq1 = tq + h * (tv @ cache["A"].T) * cache["ds1"]
    return np.concatenate([tq1, tv + h * (tq1 @ cache["B"].T) * cache["ds2"]], axis=1)


def hamiltonian_forward(x, K, a, U, b, h, activation_name="tanh"):
    r"""Symplectic Euler step of :math:`\dot x = \mathbb J A^\top\Sigma(Ax + c)` with block-diagonal
    :math:`A = \mathrm{diag}(U, K)`, i.e. the separable Hamiltonian
    :math:`H(q, p) = \sum\gamma(Kp + a) + \sum\gamma(Uq + b)` with :math:`\gamma' = \sigma`.

    .. math:: q' = q + h\,K^\top\Sigma(Kp + a), \qquad p' = p - h\,U^\top\Sigma(Uq' + b)

    Each half is the exact flow of a Hamiltonian of p alone or of q alone, so the step is symplectic:
    :math:`J^\top\Omega J = \Omega` with :math:`\Omega = [[0, I], [-I, 0]]`.
    x (n, 2k) = [q | p], K, U (m, k), a, b (m,).
    """
    q, p = _halves(x)
    z1 = p @ K.T + a
    s1, ds1 = activation(z1, activation_name)
    q1 = q + h * s1 @ K
    z2 = q1 @ U.T + b
    s2, ds2 = activation(z2, activation_name)
    out = np.concatenate([q1, p - h * s2 @ U], axis=1)
    return out, {"p": p, "q1": q1, "z1": z1, "z2": z2, "s1": s1, "s2": s2, "ds1": ds1, "ds2": ds2,
                 "K": K, "U": U, "h": h}


def hamiltonian_backward(dout, cache):
    """Reverse the kick p' = p − hUᵀΣ(Uq' + b), then the drift q' = q + hKᵀΣ(Kp + a)."""
    h, K, U = cache["h"], cache["K"], cache["U"]
    dq1, dp = (d.copy() for d in _halves(dout))
    g2 = -h * (dp @ U.T) * cache["ds2"]
    dq1 += g2 @ U
    dU = -h * cache["s2"].T @ dp + g2.T @ cache["q1"]
    g1 = h * (dq1 @ K.T) * cache["ds1"]
    dp += g1 @ K
    dK = h * cache["s1"].T @ dq1 + g1.T @ cache["p"]
    return np.concatenate([dq1, dp], axis=1), dK, g1.sum(axis=0), dU, g2.sum(axis=0)


def hamiltonian_jvp(t, cache):
    h, K, U = cache["h"], cache["K"], cache["U"]
    tq, tp = _halves(t)
    tq1 = tq + h * ((tp @ K.T) * cache["ds1"]) @ K
    return np.concatenate([tq1, tp - h * ((tq1 @ U.T) * cache["ds2"]) @ U], axis=1)


# ---------------------------------------------------------------------------------------------------------------
# Mass-preserving field integrated by explicit Runge-Kutta
# ---------------------------------------------------------------------------------------------------------------

RK_TABLEAUS = {  # explicit Butcher tableaus (a strictly lower triangular, weights b)
    "euler": (np.zeros((1, 1)), np.array([1.0])),
    "heun": (np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([0.5, 0.5])),
    "rk4": (np.array([[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1.0, 0]]),
            np.array([1.0, 2.0, 2.0, 1.0]) / 6.0),
}


def mass_field_forward(x, U, u, activation_name="tanh"):
    r"""The mass-preserving field :math:`f(x) = (A(x) - A(x)^\top)\mathbb 1`, :math:`\mathrm{vec}\,A(x) = \Sigma(Ux + u)`.

    :math:`\mathbb 1^\top f(x) = \mathbb 1^\top(A - A^\top)\mathbb 1 = 0`, so :math:`\mathbb 1^\top x` is a linear
    invariant, which every Runge-Kutta method preserves. x (n, d), U (d², d), u (d²,); A is row-major.
    """
    n, d = x.shape
    z = x @ U.T + u
    s, ds = activation(z, activation_name)
    M = s.reshape(n, d, d)
    return M.sum(axis=2) - M.sum(axis=1), {"x": x, "z": z, "ds": ds, "U": U}


def mass_field_backward(dout, cache):
    r""":math:`\partial f_i/\partial A_{jk} = \delta_{ij} - \delta_{ik}`, so :math:`dA = g\mathbb 1^\top - \mathbb 1 g^\top`
    row by row; then through Σ and the affine map."""
    n, d = dout.shape
    dz = (dout[:, :, None] - dout[:, None, :]).reshape(n, d * d) * cache["ds"]
    return dz @ cache["U"], dz.T @ cache["x"], dz.sum(axis=0)


def mass_field_jvp(t, cache):
    n, d = t.shape
    dM = ((t @ cache["U"].T) * cache["ds"]).reshape(n, d, d)
    return dM.sum(axis=2) - dM.sum(axis=1)


def mass_rk_forward(x, U, u, h, method="rk4", activation_name="tanh"):
    r"""One explicit Runge-Kutta step of the mass-preserving field.

    .. math:: k_i = f\Big(x + h\sum_{j<i} a_{ij}k_j\Big), \qquad \Psi^h(x) = x + h\sum_i b_i k_i

    x (n, d), U (d², d), u (d²,); ``method`` one of ``RK_TABLEAUS``.
    """
    a, weights = RK_TABLEAUS[check_choice("method", method, tuple(RK_TABLEAUS))]
    stages, caches = [], []
    for i in range(len(weights)):
        stage_input = x + h * sum((a[i, j] * stages[j] for j in range(i) if a[i, j] != 0), np.zeros_like(x))
        k, cache = mass_field_forward(stage_input, U, u, activation_name)
        stages.append(k)
        caches.append(cache)
    out = x + h * sum(w * k for w, k in zip(weights, stages))
    return out, {"caches": caches, "method": method, "h": h}


def mass_rk_backward(dout, cache):
    """Reverse the stages: stage i's input receives :math:`dk_i`, and passes :math:`h a_{ij}` of it to stage j < i."""
    a, weights = RK_TABLEAUS[cache["method"]]
    h, caches = cache["h"], cache["caches"]
    dstages = [h * w * dout for w in weights]
    dx = dout.copy()
    dU = du = 0.0
    for i in reversed(range(len(weights))):
        dinput, stage_dU, stage_du = mass_field_backward(dstages[i], caches[i])
        dx += dinput
        for j in range(i):
            dstages[j] = dstages[j] + h * a[i, j] * dinput
        dU, du = dU + stage_dU, du + stage_du
    return dx, dU, du


def mass_rk_jvp(t, cache):
    a, weights = RK_TABLEAUS[cache["method"]]
    h, caches = cache["h"], cache["caches"]
    dstages = []
    for i in range(len(weights)):
        dinput = t + h * sum((a[i, j] * dstages[j] for j in range(i)), np.zeros_like(t))
        dstages.append(mass_field_jvp(dinput, caches[i]))
    return t + h * sum(w * k for w, k in zip(weights, dstages))


# ---------------------------------------------------------------------------------------------------------------
# Networks: a list of layers composed left to right
# ---------------------------------------------------------------------------------------------------------------

LAYER_KINDS = {
    "linear": (linear_forward, linear_backward, linear_jvp),
    "resnet": (resnet_forward, resnet_backward, resnet_jvp),
    "contractive": (contractive_forward, contractive_backward, contractive_jvp),
    "expansive": (expansive_forward, expansive_backward, expansive_jvp),
    "lipschitz_pair": (lipschitz_pair_forward, lipschitz_pair_backward, lipschitz_pair_jvp),
    "cpl": (cpl_forward, cpl_backward, cpl_jvp),
    "sll": (sll_forward, sll_backward, sll_jvp),
    "groupsort": (groupsort_forward, groupsort_backward, groupsort_jvp),
    "volume_preserving": (volume_preserving_forward, volume_preserving_backward, volume_preserving_jvp),
    "hamiltonian": (hamiltonian_forward, hamiltonian_backward, hamiltonian_jvp),
    "mass_rk": (mass_rk_forward, mass_rk_backward, mass_rk_jvp),
}


LAYER_SHAPES = {  # the array arguments of each forward pass after x, in order (the order of its backward's
    # gradients), with their axes: d the state's width (2k for the split layers), m a hidden width, dd = d²
    "linear": {"W": ("m", "d"), "b": ("m",)},
    "resnet": {"A": ("m", "d"), "B": ("d", "m"), "b": ("m",)},
    "contractive": {"A": ("d", "d"), "b": ("d",)},
    "expansive": {"W": ("d", "d"), "v": ("d",)},
    "lipschitz_pair": {"W": ("d", "d"), "v": ("d",), "A": ("d", "d"), "b": ("d",), "theta": ("one",)},
    "cpl": {"W": ("m", "d"), "b": ("m",)},
    "sll": {"W": ("m", "d"), "b": ("m",), "q": ("m",)},
    "groupsort": {"Q": ("d", "d"), "b": ("d",)},
    "volume_preserving": {"A": ("k", "k"), "a": ("k",), "B": ("k", "k"), "b": ("k",)},
    "hamiltonian": {"K": ("m", "k"), "a": ("m",), "U": ("m", "k"), "b": ("m",)},
    "mass_rk": {"U": ("dd", "d"), "u": ("dd",)},
}
LAYER_PARAMS = {kind: tuple(shapes) for kind, shapes in LAYER_SHAPES.items()}


def layer_param_shapes(kind, d, m):
    """The parameter shapes of a layer of ``kind`` on a state of width ``d`` (even for the split layers:
    k = d/2) with hidden width ``m``, from :data:`LAYER_SHAPES`."""
    kind = check_choice("kind", kind, tuple(LAYER_SHAPES))
    d, m = check_int("d", d, minimum=1), check_int("m", m, minimum=1)
    sizes = {"d": d, "m": m, "k": d // 2, "dd": d * d, "one": 1}
    return {name: tuple(sizes[axis] for axis in axes) for name, axes in LAYER_SHAPES[kind].items()}
LAYER_CONFIG = {  # the fixed settings each kind accepts (h is required by every kind but linear)
    "linear": (), "resnet": ("h", "activation_name"), "contractive": ("h", "activation_name"),
    "expansive": ("h", "activation_name"), "lipschitz_pair": (), "cpl": (), "sll": (), "groupsort": (),
    "volume_preserving": ("h", "activation_name"),
    "hamiltonian": ("h", "activation_name"), "mass_rk": ("h", "method", "activation_name"),
}
CONSTRAINTS = ("orthogonal", "spectral")


@dataclass
class Layer:
    """One layer: its ``kind`` (a key of ``LAYER_KINDS``), trainable ``params`` and fixed ``config``.

    ``constraint`` maps a parameter name to ``"orthogonal"`` or ``"spectral"`` (‖·‖₂ ≤ 1), kept after
    every optimiser step by :meth:`Network.project`. The parameters must have the names and consistent
    shapes of :data:`LAYER_SHAPES` (checked here; float64 arrays are kept as they are, since the optimiser
    updates them in place); ``d_in`` and ``d_out`` are the widths the layer maps between.
    """

    kind: str
    params: dict
    config: dict = field(default_factory=dict)
    constraint: dict = field(default_factory=dict)

    def __post_init__(self):
        check_choice("kind", self.kind, tuple(LAYER_KINDS))
        sizes = _check_layer_params(self.kind, self.params)
        self.d_in = 2 * sizes["k"] if "k" in sizes else sizes["d"]
        self.d_out = sizes["m"] if self.kind == "linear" else self.d_in
        if self.kind == "groupsort" and self.d_in % 2:
            raise ValueError(f"a groupsort layer sorts pairs of coordinates: d must be even; got {self.d_in}")
        _check_layer_config(self.kind, self.config)
        for name, kind in _check_dict("constraint", self.constraint).items():
            check_choice(f"constraint of {name!r}", name, tuple(self.params))
            check_choice(f"constraint[{name!r}]", kind, CONSTRAINTS)


def _check_dict(name, value):
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict; got {type(value).__name__} {value!r}")
    return value


def _check_layer_params(kind, params):
    """Check ``params`` (converted to float arrays in place) against :data:`LAYER_SHAPES`; returns the axis sizes."""
    shapes = LAYER_SHAPES[kind]
    if sorted(_check_dict("params", params)) != sorted(shapes):
        raise ValueError(f"params of a {kind} layer must be {', '.join(shapes)}; got {', '.join(map(str, params))}")
    for name, axes in shapes.items():
        params[name] = as_float_array(f"params[{name!r}]", params[name], ndim=len(axes), dtype=None)
    first, axes = next(iter(shapes.items()))
    sizes = {axis: size for axis, size in zip(axes, params[first].shape) if axis != "dd"}
    if "d" in sizes:
        sizes["dd"] = sizes["d"] ** 2
    sizes["one"] = 1
    known = ", ".join(f"{axis} = {size}" for axis, size in sorted(sizes.items()) if axis not in ("dd", "one"))
    for name, axes in shapes.items():
        check_shape(f"params[{name!r}]", params[name], tuple(sizes[axis] for axis in axes),
                    described=_axes_label(axes), context=f"in a {kind} layer with {known}")
    if min(sizes.values()) == 0:
        raise ValueError(f"params of a {kind} layer must have non-empty axes; got {params[first].shape} for {first}")
    return sizes


def _axes_label(axes):
    """("dd", "d") -> "(d², d)", ("m",) -> "(m,)"."""
    names = ["d²" if axis == "dd" else axis for axis in axes]
    return "(" + ", ".join(names) + (",)" if len(names) == 1 else ")")


def _check_layer_config(kind, config):
    allowed = LAYER_CONFIG[kind]
    unknown = sorted(set(_check_dict("config", config)) - set(allowed))
    if unknown:
        raise ValueError(f"config of a {kind} layer takes {', '.join(allowed) or 'no settings'}; got {unknown}")
    if allowed and "h" not in config:
        raise ValueError(f"config of a {kind} layer must give the step size h")
    if "h" in config:
        check_positive("config['h']", config["h"])
    if "activation_name" in config:
        check_choice("config['activation_name']", config["activation_name"], ACTIVATIONS)
    if "method" in config:
        check_choice("config['method']", config["method"], tuple(RK_TABLEAUS))


class Network:
    r"""The composition :math:`\mathcal N = \Psi_k\circ\dots\circ\Psi_1` of ``layers``.

    A network holding contractive and expansive steps must alternate (expansive, contractive) pairs that
    obey the pair rule :math:`\sqrt{1 - 2\mu h_C + h_C^2}\,(1 + h_E) \le 1`, with orthogonal A and ‖W‖₂ ≤ 1;
    anything else is refused here, when the network is built. Consecutive layers must chain
    (``layers_[i].d_out == layers_[i + 1].d_in``). The public methods check their arrays; the training loops
    and attacks call the unchecked ``_forward`` and ``_backward`` after checking their inputs once.
    """

    def __init__(self, layers_):
        self.layers = _check_layers(layers_)
        theory.check_lipschitz_layers(self.layers)
        self.d_in, self.d_out = self.layers[0].d_in, self.layers[-1].d_out
        self._power_vectors = {}

    def check_input(self, name, x):
        """``x`` as a finite (n, d_in) float array with n >= 1, or raise naming ``name``."""
        x = check_shape(name, as_float_array(name, x, ndim=2), (None, self.d_in), described="(n, d_in)",
                        context=f"to match the network's d_in = {self.d_in}")
        if len(x) == 0:
            raise ValueError(f"{name} must hold at least one row; got shape {x.shape}")
        return x

    def forward(self, x):
        """Output (n, d_out) and the per-layer caches; x (n, d_in)."""
        return self._forward(self.check_input("x", x))

    def _forward(self, x):
        caches = []
        for layer in self.layers:
            x, cache = LAYER_KINDS[layer.kind][0](x, **layer.params, **layer.config)
            caches.append(cache)
        return x, caches

    def __call__(self, x):
        return self.forward(x)[0]

    def _check_caches(self, caches):
        if not isinstance(caches, list) or len(caches) != len(self.layers):
            raise TypeError(f"caches must be the list of {len(self.layers)} layer caches that forward returned; "
                            f"got {type(caches).__name__}")
        return _cache_rows(caches[0])

    def _check_vectors(self, name, value, caches, width, described):
        rows = self._check_caches(caches)
        return check_shape(name, as_float_array(name, value, ndim=2), (rows, width), described=described,
                           context="to match the forward pass of the caches")

    def backward(self, dout, caches):
        """∂L/∂x (n, d_in) and the parameter gradients keyed ``"<layer index>.<name>"`` (a network returns the
        input gradient too: the attacks and the power iteration need it); dout (n, d_out)."""
        return self._backward(self._check_vectors("dout", dout, caches, self.d_out, "(n, d_out)"), caches)

    def _backward(self, dout, caches):
        grads = {}
        for index in reversed(range(len(self.layers))):
            kind = self.layers[index].kind
            dout, *layer_grads = LAYER_KINDS[kind][1](dout, caches[index])
            grads.update({f"{index}.{name}": g for name, g in zip(LAYER_PARAMS[kind], layer_grads, strict=True)})
        return dout, grads

    def jvp(self, t, caches):
        """Jacobian-vector product J(x) t at the point of ``caches``; t (n, d_in)."""
        return self._jvp(self._check_vectors("t", t, caches, self.d_in, "(n, d_in)"), caches)

    def _jvp(self, t, caches):
        for layer, cache in zip(self.layers, caches):
            t = LAYER_KINDS[layer.kind][2](t, cache)
        return t

    def parameters(self):
        """Every trainable array keyed like the gradients (the same arrays: updates act in place)."""
        return {f"{i}.{name}": p for i, layer in enumerate(self.layers) for name, p in layer.params.items()}

    def project(self, exact=False):
        r"""Restore the constraints in place after an optimiser step.

        Orthogonal A: the polar factor :math:`UV^\top` of :math:`A = U S V^\top`, the nearest orthogonal matrix in
        Frobenius norm, reached by Björck's iteration :math:`A \leftarrow A(3I - A^\top A)/2` (quadratic
        convergence from the slightly perturbed A an optimiser step leaves; a few d × d products instead of
        an SVD) until :math:`\max|A^\top A - I| \le 10^{-13}`, and by the SVD itself when ``exact`` or when
        the iteration has not converged. Chosen over a Cayley map :math:`(I - K)^{-1}(I + K)` or
        :math:`\exp(K)` of a skew K because the optimiser keeps working on A itself with the plain gradient
        already derived (no backward pass through an inverse or a matrix exponential), and every orthogonal
        matrix stays reachable (Cayley misses eigenvalue −1). Spectral ‖W‖₂ ≤ 1: the rescaling
        :math:`W \leftarrow W/\max(1, \hat\sigma)` with :math:`\hat\sigma` from a warm-started power iteration
        (cheap, a lower bound), or from the exact SVD when ``exact`` (done once after training so that the
        certificate holds exactly).
        """
        for i, layer in enumerate(self.layers):
            for name, kind in layer.constraint.items():
                W = layer.params[name]
                if kind == "orthogonal":
                    W[...] = _orthogonal_factor(W, exact)
                    continue
                if exact:
                    sigma = np.linalg.norm(W, 2)
                else:
                    key = f"{i}.{name}"
                    sigma, self._power_vectors[key] = theory._spectral_norm(
                        W, n_iter=3, v0=self._power_vectors.get(key))
                W /= max(1.0, sigma)


BJORCK_TOLERANCE, BJORCK_ITERATIONS = 1e-13, 8


def _orthogonal_factor(W, exact):
    """The polar factor of W (orthonormal rows or columns when W is rectangular): Björck iterations from a
    nearly orthogonal square W, else (or when ``exact``) the SVD."""
    if not exact and W.shape[0] == W.shape[1]:
        identity = np.eye(W.shape[1])
        for _ in range(BJORCK_ITERATIONS):
            gram = W.T @ W
            if np.abs(gram - identity).max() <= BJORCK_TOLERANCE:
                return W
            W = 0.5 * W @ (3.0 * identity - gram)
    left, _, right = np.linalg.svd(W, full_matrices=False)
    return left @ right


def _check_layers(layers_):
    layers_ = list(layers_) if isinstance(layers_, (list, tuple)) else layers_
    if not isinstance(layers_, list) or not layers_ or not all(isinstance(layer, Layer) for layer in layers_):
        raise TypeError(f"layers_ must be a non-empty list of refimpl.dynsys.Layer; got {layers_!r:.80}")
    for index in range(1, len(layers_)):
        if layers_[index].d_in != layers_[index - 1].d_out:
            raise ValueError(f"layer {index} ({layers_[index].kind}) takes width {layers_[index].d_in} but layer "
                             f"{index - 1} ({layers_[index - 1].kind}) gives {layers_[index - 1].d_out}")
    return layers_


def _cache_rows(cache):
    """The batch size of a layer cache: every layer caches its input rows first (``x``, ``v``, ``p`` or the
    affine cache ``(x, W)``, nested for Runge-Kutta stages)."""
    while not isinstance(cache, np.ndarray):
        cache = next(iter(cache.values())) if isinstance(cache, dict) else cache[0]
    return len(cache)


def check_network(network):
    """Raise TypeError unless ``network`` is a :class:`Network` (the attacks, training and bounds take one)."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a refimpl.dynsys.Network; got {type(network).__name__}")
    return network


def network_jacobian(network, x):
    """Jacobian of ``network`` at every row of x (n, d_in), shape (n, d_out, d_in), by d_out batched backward
    passes."""
    x = check_network(network).check_input("x", x)
    n, d_in = x.shape
    d_out = network.d_out
    repeated = np.repeat(x, d_out, axis=0)
    _, caches = network._forward(repeated)
    dx, _ = network._backward(np.tile(np.eye(d_out), (n, 1)), caches)
    return dx.reshape(n, d_out, d_in)


def random_orthogonal(rng, d):
    """A Haar-distributed orthogonal d × d matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _glorot(rng, d_out, d_in):
    return rng.standard_normal((d_out, d_in)) * np.sqrt(2.0 / (d_in + d_out))


def _spectral_unit(rng, d_out, d_in):
    W = rng.standard_normal((d_out, d_in))
    return W / np.linalg.norm(W, 2)


def resnet(rng, d_in, width, depth, n_classes, *, h=0.5, activation_name="leaky_relu"):
    """Unconstrained ResNet: linear lift, ``depth`` Euler steps x + hBΣ(Ax + b), linear head."""
    rng = check_rng("rng", rng)
    d_in, width, depth, n_classes = (check_int(k, v, minimum=1) for k, v in
                                     (("d_in", d_in), ("width", width), ("depth", depth), ("n_classes", n_classes)))
    h, activation_name = check_positive("h", h), check_choice("activation_name", activation_name, ACTIVATIONS)
    stack = [Layer("linear", {"W": _glorot(rng, width, d_in), "b": np.zeros(width)})]
    stack += [Layer("resnet", {"A": _glorot(rng, width, width), "B": _glorot(rng, width, width),
                               "b": np.zeros(width)}, {"h": h, "activation_name": activation_name})
              for _ in range(depth)]
    stack.append(Layer("linear", {"W": _glorot(rng, n_classes, width), "b": np.zeros(n_classes)}))
    return Network(stack)


def lipschitz_network(rng, d_in, width, n_pairs, n_classes, *, h_C=0.5, h_E=None):
    r"""1-Lipschitz network: lift P (‖P‖₂ ≤ 1), ``n_pairs`` × (expansive, contractive), head C (‖C‖₂ ≤ 1).

    ``h_E`` defaults to the largest step the pair rule allows, :math:`1/\sqrt{1 - h_C + h_C^2} - 1`;
    a larger one is refused with a ValueError when the network is built.
    """
    rng = check_rng("rng", rng)
    d_in, width, n_pairs, n_classes = (check_int(k, v, minimum=1) for k, v in (
        ("d_in", d_in), ("width", width), ("n_pairs", n_pairs), ("n_classes", n_classes)))
    h_C = theory.check_contractive_step(h_C)
    h_E = theory.max_expansive_step(h_C) if h_E is None else check_positive("h_E", h_E)
    stack = [Layer("linear", {"W": _spectral_unit(rng, width, d_in), "b": np.zeros(width)},
                   constraint={"W": "spectral"})]
    for _ in range(n_pairs):
        stack.append(Layer("expansive", {"W": _spectral_unit(rng, width, width), "v": np.zeros(width)},
                           {"h": h_E}, {"W": "spectral"}))
        stack.append(Layer("contractive", {"A": random_orthogonal(rng, width), "b": np.zeros(width)},
                           {"h": h_C}, {"A": "orthogonal"}))
    stack.append(Layer("linear", {"W": _spectral_unit(rng, n_classes, width), "b": np.zeros(n_classes)},
                       constraint={"W": "spectral"}))
    return Network(stack)


def _lift_and_head(rng, d_in, width, n_classes, blocks):
    """Lift P (‖P‖₂ ≤ 1), the ``blocks`` (a list of layers of width ``width``) and a free head C: the per-pair
    certificate ‖c_y − c_j‖·L does not need ‖C‖₂ ≤ 1."""
    lift = Layer("linear", {"W": _spectral_unit(rng, width, d_in), "b": np.zeros(width)}, constraint={"W": "spectral"})
    head = Layer("linear", {"W": _glorot(rng, n_classes, width), "b": np.zeros(n_classes)})
    return Network([lift, *blocks, head])


def _check_sizes(rng, **sizes):
    return check_rng("rng", rng), *(check_int(name, value, minimum=1) for name, value in sizes.items())


def learned_lipschitz_network(rng, d_in, width, n_pairs, n_classes, *, h_C=1.0):
    r"""1-Lipschitz body of ``n_pairs`` (expansive, contractive) pairs whose step sizes are learned under the pair
    rule (:func:`lipschitz_pair_forward`), starting from h_C (in (0, 2)); lift ‖P‖₂ ≤ 1, free head."""
    rng, d_in, width, n_pairs, n_classes = _check_sizes(rng, d_in=d_in, width=width, n_pairs=n_pairs,
                                                        n_classes=n_classes)
    h_C = theory.check_contractive_step(h_C)
    theta = np.log(h_C / (theory.PAIR_H_C_MAX - h_C))  # sigmoid⁻¹(h_C/2)
    blocks = [Layer("lipschitz_pair", {"W": _spectral_unit(rng, width, width), "v": np.zeros(width),
                                       "A": random_orthogonal(rng, width), "b": np.zeros(width),
                                       "theta": np.array([theta])},
                    constraint={"W": "spectral", "A": "orthogonal"}) for _ in range(n_pairs)]
    return _lift_and_head(rng, d_in, width, n_classes, blocks)


def cpl_network(rng, d_in, width, depth, n_classes):
    """``depth`` convex potential layers x − 2/‖W‖² WᵀReLU(Wx + b) of width ``width``; lift ‖P‖₂ ≤ 1, free head."""
    rng, d_in, width, depth, n_classes = _check_sizes(rng, d_in=d_in, width=width, depth=depth, n_classes=n_classes)
    blocks = [Layer("cpl", {"W": _glorot(rng, width, width), "b": np.zeros(width)}) for _ in range(depth)]
    return _lift_and_head(rng, d_in, width, n_classes, blocks)


def sll_network(rng, d_in, width, depth, n_classes):
    """``depth`` SDP-based Lipschitz layers x − 2WᵀT⁻¹ReLU(Wx + b) (q = 0: T the row sums of |WWᵀ|); lift
    ‖P‖₂ ≤ 1, free head."""
    rng, d_in, width, depth, n_classes = _check_sizes(rng, d_in=d_in, width=width, depth=depth, n_classes=n_classes)
    blocks = [Layer("sll", {"W": _glorot(rng, width, width), "b": np.zeros(width), "q": np.zeros(width)})
              for _ in range(depth)]
    return _lift_and_head(rng, d_in, width, n_classes, blocks)


def groupsort_network(rng, d_in, width, depth, n_classes):
    """``depth`` layers MaxMin(Qx + b) with orthogonal Q, width ``width`` (even); lift ‖P‖₂ ≤ 1, free head."""
    rng, d_in, width, depth, n_classes = _check_sizes(rng, d_in=d_in, width=width, depth=depth, n_classes=n_classes)
    if width % 2:
        raise ValueError(f"width must be even (MaxMin sorts pairs of coordinates); got {width}")
    blocks = [Layer("groupsort", {"Q": random_orthogonal(rng, width), "b": np.zeros(width)},
                    constraint={"Q": "orthogonal"}) for _ in range(depth)]
    return _lift_and_head(rng, d_in, width, n_classes, blocks)


def _check_even(d):
    d = check_int("d", d, minimum=2)
    if d % 2:
        raise ValueError(f"d must be even (the state is split as x = [q | v]); got {d}")
    return d // 2


def volume_preserving_network(rng, d, depth, *, h=0.5, activation_name="tanh", scale=1.0):
    """``depth`` shear-splitting steps on x = [q | v] of dimension d (even); A, B scaled by ``scale``."""
    rng, k, scale = check_rng("rng", rng), _check_even(d), check_real("scale", scale)
    check_choice("activation_name", activation_name, ACTIVATIONS)
    return Network([Layer("volume_preserving", {"A": scale * rng.standard_normal((k, k)), "a": rng.standard_normal(k),
                                                "B": scale * rng.standard_normal((k, k)), "b": rng.standard_normal(k)},
                          {"h": check_positive("h", h), "activation_name": activation_name})
                    for _ in range(check_int("depth", depth, minimum=1))])


def hamiltonian_network(rng, d, depth, *, width=None, h=0.5, activation_name="tanh"):
    """``depth`` symplectic Euler steps on x = [q | p] of dimension d (even), hidden width m."""
    rng, k = check_rng("rng", rng), _check_even(d)
    m = k if width is None else check_int("width", width, minimum=1)
    check_choice("activation_name", activation_name, ACTIVATIONS)
    return Network([Layer("hamiltonian", {"K": _glorot(rng, m, k), "a": rng.standard_normal(m),
                                          "U": _glorot(rng, m, k), "b": rng.standard_normal(m)},
                          {"h": check_positive("h", h), "activation_name": activation_name})
                    for _ in range(check_int("depth", depth, minimum=1))])


def mass_preserving_network(rng, d, depth, *, h=0.1, method="rk4", activation_name="tanh"):
    """``depth`` explicit Runge-Kutta steps of the mass-preserving field, each with its own U, u."""
    rng, d = check_rng("rng", rng), check_int("d", d, minimum=1)
    check_choice("method", method, tuple(RK_TABLEAUS))
    check_choice("activation_name", activation_name, ACTIVATIONS)
    return Network([Layer("mass_rk", {"U": rng.standard_normal((d * d, d)) / np.sqrt(d),
                                      "u": rng.standard_normal(d * d)},
                          {"h": check_positive("h", h), "method": method, "activation_name": activation_name})
                    for _ in range(check_int("depth", depth, minimum=1))])
