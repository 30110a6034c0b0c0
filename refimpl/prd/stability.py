r"""Linear stability of the descent-ascent game with a projected critic: the Turing question asked properly.

The game (beyond the paper: its theory drops the critic's dynamics, p. 4): the generator descends
:math:`L_\beta = L_{sup} - \beta L_{adv}` (adversarial weight β; β = 0 is sole supervision), the critic
ascends the WGAN objective J (:func:`refimpl.prd.model.critic_objective`, no penalty) at rate τ (the
critic/generator rate ratio, the analogue of D_v/D_u) with its output weights a fixed at ±1 and W kept on
the sphere ‖W‖_F = L (Theorem 2's bound ‖w‖ ≤ L, active: J is piecewise linear in W, so an ascending critic
always sits on the boundary):

.. math::
    \dot U = -\partial_U L_\beta, \quad \dot V = -\partial_V L_\beta, \quad
    \dot W = \tau\Big(G - \frac{\langle W, G\rangle}{\|W\|_F^2} W\Big), \quad G = \partial_W J

With :math:`k_p = \nabla g(z_p)`, :math:`\partial L_\beta/\partial Z = Z - Y - \beta k` (the supervised
kernel with shifted targets Y + βk, as in :func:`refimpl.prd.model.augmented_parts`).

**Jacobian, by hand** (:func:`game_jacobian`, ``method="jvp"``): away from ReLU kinks the activation
patterns A = 1{XUᵀ > 0} and B = 1{ZWᵀ > 0} are locally constant, so a direction (δU, δV, δW) gives

.. math::
    \delta H = A \odot X\delta U^\top,\ \delta Z = s(\delta H V^\top + H\delta V^\top),\
    \delta k = c (B \odot a)\,\delta W,\ \delta r = \delta Z - \beta\,\delta k, \\
    \delta\dot U = -s\big((\delta r V + r\,\delta V) \odot A\big)^\top X,\
    \delta\dot V = -s(\delta r^\top H + r^\top \delta H),\
    \delta G = -\tfrac{c}{n} (B \odot a)^\top \delta Z, \\
    \delta\dot W = \tau\Big(\delta G - \frac{\langle\delta W, G\rangle + \langle W, \delta G\rangle}{\|W\|^2} W
    + \frac{2\langle W, G\rangle\langle W, \delta W\rangle}{\|W\|^4} W - \frac{\langle W, G\rangle}{\|W\|^2}\delta W\Big)

(s = 1/√(d_out m), c = 1/√m_c, r = Z − Y − βk, H = σ(XUᵀ)). ``method="differences"`` takes central
differences of the field instead; the tests hold each against the other and against torch autograd.

**Symmetry split.** Permuting the generator's neurons (rows of U with columns of V) maps the game to
itself. At a *homogeneous* state (u_j = u, v_j = v for all j, the analogue of a spatially uniform state)
the Jacobian therefore commutes with the permutations and splits exactly into the symmetric subspace
(δu_j, δv_j the same for every j, any δW: the k = 0 mode of a Turing analysis) and its complement
(Σ_j δu_j = 0, Σ_j δv_j = 0, δW = 0: the symmetry-breaking k ≠ 0 modes). :func:`symmetry_split` gives
the spectrum of each block and how much J leaks between them (0 at a homogeneous state).

Derived here, and what the numbers test: at a homogeneous state δZ = 0 for every complement direction, so
the complement block is :math:`\begin{pmatrix} 0 & -s b \\ -s b^\top & 0\end{pmatrix}` per neuron with
:math:`b = \sum_p r_p 1\{u^\top x_p > 0\} x_p`, and b = 0 at an equilibrium with v ≠ 0: the
symmetry-breaking block vanishes, with or without the adversary, whatever β and τ.
"""

from dataclasses import dataclass

import numpy as np

from refimpl.core.backend import get_kernel
from refimpl.core.validate import as_float_array, check_int, check_positive, check_rng, check_shape
from refimpl.prd import flow, model
from refimpl.prd.kernels import SUPERVISED


@dataclass(frozen=True)
class Game:
    """A validated game: data X (n, d_in), Y (n, d_out), the critic's fixed output weights a (m_c,),
    the adversarial weight β ≥ 0 and the critic rate τ > 0."""

    X: np.ndarray
    Y: np.ndarray
    a: np.ndarray
    weight: float
    rate: float


def make_game(X, Y, a, *, weight, rate):
    """A validated :class:`Game` from X (n, d_in), Y (n, d_out), a (m_c,), β = ``weight`` ≥ 0, τ = ``rate`` > 0."""
    X = model._check_nonempty("X", as_float_array("X", X, ndim=2), "(n, d_in)")
    Y = model._check_nonempty("Y", as_float_array("Y", Y, ndim=2), "(n, d_out)")
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"Y must have shape ({X.shape[0]}, d_out) to match X with n = {X.shape[0]}; got {Y.shape}")
    a = as_float_array("a", a, ndim=1)
    if a.size == 0:
        raise ValueError("a must hold at least one entry (m_c,); got shape (0,)")
    return Game(X, Y, a, check_positive("weight", weight, allow_zero=True), check_positive("rate", rate))


def _check_state(game, U, V, W):
    """(U, V, W) validated against the game's X, Y and a; W must be non-zero (it lives on a sphere)."""
    _, U, V, _, W, _ = model.check_problem(game.X, U, V, Y=game.Y, W=W, a=game.a, required=("Y", "W"))
    if not np.any(W):
        raise ValueError(f"W must be non-zero (the critic lives on the sphere ‖W‖_F = L); got zeros, shape {W.shape}")
    return U, V, W


def game_field(X, Y, a, U, V, W, *, weight, rate):
    """The game's flow (U̇, V̇, Ẇ) at (U, V, W); X (n, d_in), Y (n, d_out), a (m_c,), U (m, d_in),
    V (d_out, m), W (m_c, d_out); ``weight`` β ≥ 0, ``rate`` τ > 0 (module docstring)."""
    game = make_game(X, Y, a, weight=weight, rate=rate)
    return _field(game, *_check_state(game, U, V, W))


def _parts(game, U, V, W):
    """Z, the critic's input gradient k (n, d_out) and its ascent direction G (m_c, d_out) at (U, V, W)."""
    Z = model._generator_forward(game.X, U, V)
    _, cache = model._critic_forward(Z, W, game.a)
    k, _, _ = model._critic_backward(None, cache)
    _, G, _ = model._critic_objective(game.Y, Z, W, game.a, 0.0, None)
    return Z, k, G


def _field(game, U, V, W):
    _, k, G = _parts(game, U, V, W)
    _, dU, dV = model._supervised_gradient(game.X, game.Y + game.weight * k, U, V, get_kernel(SUPERVISED, "numpy"))
    return -dU, -dV, game.rate * (G - np.sum(W * G) / np.sum(W * W) * W)


def _jvp(game, U, V, W, dU, dV, dW):
    """The directional derivative of :func:`_field` at (U, V, W) along (dU, dV, dW) (module docstring)."""
    X, a = game.X, game.a
    s, c = model._generator_scale(V.shape[0], U.shape[0]), 1.0 / np.sqrt(W.shape[0])
    P = X @ U.T
    A, H = (P > 0).astype(float), np.maximum(P, 0.0)
    Z, k, G = _parts(game, U, V, W)
    Ba = (Z @ W.T > 0) * a  # B ⊙ a, (n, m_c)
    r = Z - game.Y - game.weight * k
    dH = A * (X @ dU.T)
    dZ = s * (dH @ V.T + H @ dV.T)
    dr = dZ - game.weight * c * (Ba @ dW)
    U_dot = -s * (((dr @ V + r @ dV) * A).T @ X)
    V_dot = -s * (dr.T @ H + r.T @ dH)
    dG = -(c / X.shape[0]) * (Ba.T @ dZ)
    norm2, WG = np.sum(W * W), np.sum(W * G)
    W_dot = game.rate * (dG - (np.sum(dW * G) + np.sum(W * dG)) / norm2 * W
                         + 2.0 * WG * np.sum(W * dW) / norm2**2 * W - WG / norm2 * dW)
    return U_dot, V_dot, W_dot


def game_jacobian(X, Y, a, U, V, W, *, weight, rate, method="jvp", h=1e-6):
    """The Jacobian (k, k) of the game's flow at (U, V, W), the state flattened as ``flow.pack(U, V, W)``.

    ``method`` "jvp": the hand-derived directional derivatives along every basis vector (exact away from
    ReLU kinks); "differences": central differences of :func:`game_field` with step ``h``.
    """
    game = make_game(X, Y, a, weight=weight, rate=rate)
    U, V, W = _check_state(game, U, V, W)
    if method not in ("jvp", "differences"):
        raise ValueError(f"method must be 'jvp' or 'differences'; got {method!r}")
    return _jacobian(game, U, V, W, method, check_positive("h", h))


def _jacobian(game, U, V, W, method, h=1e-6):
    shapes = [U.shape, V.shape, W.shape]
    state = flow._pack(U, V, W)
    columns = []
    for i in range(state.size):
        step = np.zeros_like(state)
        step[i] = 1.0
        if method == "jvp":
            columns.append(flow._pack(*_jvp(game, U, V, W, *flow._unpack(step, shapes))))
        else:
            plus = _field(game, *flow._unpack(state + h * step, shapes))
            minus = _field(game, *flow._unpack(state - h * step, shapes))
            columns.append((flow._pack(*plus) - flow._pack(*minus)) / (2.0 * h))
    return np.stack(columns, axis=1)


# ------------------------------------------------------------------------------------ symmetry split
def symmetric_basis(m, d_in, d_out, m_c):
    """Orthonormal bases (k, k_S) of the neuron-permutation-symmetric subspace and (k, k_C) of its
    complement, for states ``pack(U (m, d_in), V (d_out, m), W (m_c, d_out))``; k_S = d_in + d_out + m_c d_out."""
    m, d_in, d_out, m_c = (check_int(name, v, minimum=1) for name, v in
                           (("m", m), ("d_in", d_in), ("d_out", d_out), ("m_c", m_c)))
    size_U, size_V, size_W = m * d_in, d_out * m, m_c * d_out
    S = np.zeros((size_U + size_V + size_W, d_in + d_out + size_W))
    for i in range(d_in):  # δu_j = e_i for every j
        S[np.arange(m) * d_in + i, i] = 1.0 / np.sqrt(m)
    for i in range(d_out):  # δv_ij = 1 for every j
        S[size_U + i * m + np.arange(m), d_in + i] = 1.0 / np.sqrt(m)
    S[size_U + size_V:, d_in + d_out:] = np.eye(size_W)
    # the complement: orthonormal basis of the null space of Sᵀ
    _, _, rows = np.linalg.svd(S.T)
    return S, rows[S.shape[1]:].T


@dataclass(frozen=True)
class SymmetrySplit:
    """Spectra of the Jacobian's blocks on the symmetric subspace (``symmetric``, complex (k_S,)) and on
    its complement (``breaking``, complex (k_C,)); ``leakage``: ‖off-diagonal blocks‖ / ‖J‖ (0 when the
    state is homogeneous); ``max_real_*``: the largest growth rate in each."""

    symmetric: np.ndarray
    breaking: np.ndarray
    leakage: float
    max_real_symmetric: float
    max_real_breaking: float


def symmetry_split(J, m, d_in, d_out, m_c):
    """Split a game Jacobian J (k, k) by :func:`symmetric_basis` and return the :class:`SymmetrySplit`."""
    J = as_float_array("J", J, ndim=2)
    S, C = symmetric_basis(m, d_in, d_out, m_c)
    if J.shape != (S.shape[0], S.shape[0]):
        raise ValueError(f"J must have shape {(S.shape[0],) * 2} for m = {m}, d_in = {d_in}, d_out = {d_out}, "
                         f"m_c = {m_c}; got {J.shape}")
    return _split(J, S, C)


def _split(J, S, C):
    symmetric, breaking = np.linalg.eigvals(S.T @ J @ S), np.linalg.eigvals(C.T @ J @ C)
    leakage = (np.linalg.norm(C.T @ J @ S) + np.linalg.norm(S.T @ J @ C)) / max(np.linalg.norm(J), 1e-300)
    return SymmetrySplit(symmetric, breaking, float(leakage), float(symmetric.real.max()),
                         float(breaking.real.max()))


# ------------------------------------------------------------------------------ homogeneous equilibrium
@dataclass(frozen=True)
class Equilibrium:
    """A state (U, V, W) with its field norm ‖F‖ (flat, Euclidean), the Newton iterations it took, whether
    ‖F‖ < the tolerance asked for, and its distance from the nearest ReLU kink (:func:`kink_margin`): the
    Jacobian is that of a smooth flow only where the margin is well above the differencing step."""

    U: np.ndarray
    V: np.ndarray
    W: np.ndarray
    field_norm: float
    iterations: int
    converged: bool
    kink_margin: float


def homogeneous_equilibrium(X, Y, a, u, v, W, m, *, weight, rate, tolerance=1e-10, flow_steps=4000, dt=0.05,
                            newton_steps=50):
    r"""A homogeneous equilibrium (u_j = u, v_j = v for all m neurons) of the game, from a start (u (d_in,),
    v (d_out,), W (m_c, d_out)): ``flow_steps`` Euler steps of size ``dt`` on the lifted state (the flow
    keeps a homogeneous state homogeneous), then Newton steps in the symmetric subspace (least squares:
    the ReLU rescaling (u, v) → (cu, v/c) and the critic's radius are neutral directions) until
    ‖F‖ < ``tolerance``. Returns an :class:`Equilibrium`."""
    game = make_game(X, Y, a, weight=weight, rate=rate)
    U, V, W = _lift(game, u, v, W, m)
    tolerance = check_positive("tolerance", tolerance)
    flow_steps, newton_steps = check_int("flow_steps", flow_steps, minimum=0), check_int("newton_steps", newton_steps,
                                                                                         minimum=0)
    return _equilibrium(game, U, V, W, tolerance, flow_steps, check_positive("dt", dt), newton_steps)


def _lift(game, u, v, W, m):
    """The homogeneous state of m neurons u_j = u (d_in,), v_j = v (d_out,) with the critic W, validated."""
    m = check_int("m", m, minimum=1)
    u = check_shape("u", as_float_array("u", u, ndim=1), (game.X.shape[1],), described="(d_in,)",
                    context=f"to match X with d_in = {game.X.shape[1]}")
    v = check_shape("v", as_float_array("v", v, ndim=1), (game.Y.shape[1],), described="(d_out,)",
                    context=f"to match Y with d_out = {game.Y.shape[1]}")
    return _check_state(game, np.tile(u, (m, 1)), np.tile(v[:, None], (1, m)), W)


def _equilibrium(game, U, V, W, tolerance, flow_steps, dt, newton_steps):
    shapes, radius = [U.shape, V.shape, W.shape], np.linalg.norm(W)
    for _ in range(flow_steps):
        U, V, W = _homogeneous_step(game, U, V, W, dt, radius)
    S, _ = symmetric_basis(U.shape[0], U.shape[1], V.shape[0], W.shape[0])
    state, iteration = flow._pack(U, V, W), 0
    norm = _field_norm(game, state, shapes)
    for iteration in range(1, newton_steps + 1):
        if norm < tolerance:
            break
        columns = [flow._pack(*_jvp(game, *flow._unpack(state, shapes), *flow._unpack(column, shapes)))
                   for column in S.T]
        F = flow._pack(*_field(game, *flow._unpack(state, shapes)))
        step, *_ = np.linalg.lstsq(S.T @ np.stack(columns, axis=1), S.T @ F, rcond=1e-12)
        state, norm = _damped(game, state, shapes, S @ step, norm)
    U, V, W = (np.array(x) for x in flow._unpack(state, shapes))
    return Equilibrium(U, V, W, norm, iteration, norm < tolerance, _kink_margin(game.X, U, V, W))


def kink_margin(X, U, V, W):
    """The distance of (U, V, W) from the nearest kink of the game's flow: min of |u_jᵀx_p|, |w_r| and
    |w_r z_p| over the outputs z_p ≠ 0 (an output that is 0 because every neuron is off stays 0 nearby)."""
    W = model._check_nonempty("W", as_float_array("W", W, ndim=2), "(m_c, d_out)")
    X, U, V, _, W, _ = model.check_problem(X, U, V, W=W, a=np.ones(W.shape[0]), required=("W",))
    return _kink_margin(X, U, V, W)


def _kink_margin(X, U, V, W):
    Z = model._generator_forward(X, U, V)
    moving = np.any(X @ U.T > 0, axis=1)
    critic = np.abs(Z[moving] @ W.T)
    return float(min(np.abs(X @ U.T).min(), np.abs(W).min(), critic.min() if critic.size else np.inf))


def _field_norm(game, state, shapes):
    return float(np.linalg.norm(flow._pack(*_field(game, *flow._unpack(state, shapes)))))


def _damped(game, state, shapes, step, norm):
    """The Newton step ``state − step``, halved until ‖F‖ falls (at most 30 times); returns (state, ‖F‖)."""
    for _ in range(30):
        trial = state - step
        trial_norm = _field_norm(game, trial, shapes)
        if trial_norm < norm:
            return trial, trial_norm
        step = step / 2
    return state, norm


def _homogeneous_step(game, U, V, W, dt, radius):
    """An Euler step that keeps a homogeneous state homogeneous: the exact flow does, and the neurons' mean
    removes the rounding differences that the symmetry-breaking modes (growth rate :func:`breaking_rate`)
    would otherwise amplify on the way to the equilibrium."""
    U, V, W = _euler_step(game, U, V, W, dt, radius)
    return np.tile(U.mean(axis=0), (U.shape[0], 1)), np.tile(V.mean(axis=1, keepdims=True), (1, V.shape[1])), W


def breaking_rate(X, Y, a, U, V, W, *, weight):
    r"""The growth rate of the fastest symmetry-breaking mode at a homogeneous state (U, V, W) (all rows of
    U equal, all columns of V equal), in closed form: the block is
    :math:`\begin{pmatrix}0 & -sB\\ -sB^\top & 0\end{pmatrix}` per neuron with
    :math:`B = \sum_p 1\{u^\top x_p > 0\} x_p r_p^\top` (d_in, d_out), r = Z − Y − βk, so the rate is
    :math:`s\,\sigma_{max}(B)`; 0 at an equilibrium with v ≠ 0, positive on the way to it."""
    game = make_game(X, Y, a, weight=weight, rate=1.0)
    U, V, W = _check_state(game, U, V, W)
    if not (np.allclose(U, U[0]) and np.allclose(V, V[:, :1])):
        raise ValueError("breaking_rate needs a homogeneous state: all rows of U equal and all columns of V equal")
    return _breaking_rate(game, U, V, W)


def _breaking_rate(game, U, V, W):
    Z, k, _ = _parts(game, U, V, W)
    active = (game.X @ U[0] > 0).astype(float)
    B = game.X.T @ (active[:, None] * (Z - game.Y - game.weight * k))
    return float(model._generator_scale(V.shape[0], U.shape[0]) * np.linalg.norm(B, 2))


def homogeneous_breaking_rates(X, Y, a, u, v, W, m, *, weight, dt, steps):
    """:func:`breaking_rate` along the homogeneous Euler flow (rate τ = 1) from (u (d_in,), v (d_out,), W),
    m neurons: (steps + 1,) rates, from the start to ``steps`` · ``dt``."""
    game = make_game(X, Y, a, weight=weight, rate=1.0)
    U, V, W = _lift(game, u, v, W, m)
    steps = check_int("steps", steps, minimum=1)
    dt, radius, rates = check_positive("dt", dt), np.linalg.norm(W), []
    for _ in range(steps):
        rates.append(_breaking_rate(game, U, V, W))
        U, V, W = _homogeneous_step(game, U, V, W, dt, radius)
    return np.array(rates + [_breaking_rate(game, U, V, W)])


def _euler_step(game, U, V, W, dt, radius):
    """One Euler step of the game, W put back on its sphere ‖W‖_F = ``radius`` (a retraction)."""
    U_dot, V_dot, W_dot = _field(game, U, V, W)
    W = W + dt * W_dot
    return U + dt * U_dot, V + dt * V_dot, W * (radius / np.linalg.norm(W))


# -------------------------------------------------------------------------- finite-time Lyapunov exponents
def finite_time_lyapunov(X, Y, a, U, V, W, *, weight, rate, dt, steps, rng, subspace=None):
    r"""The largest finite-time Lyapunov exponent of the Euler map of the game along its trajectory from
    (U, V, W): a tangent vector δ (drawn from ``rng``, in the span of the columns of ``subspace`` (k, q)
    if given) follows :math:`\delta \leftarrow \delta + dt\, J(\theta_k)\delta` (the hand-derived JVP),
    renormalised every step, and the exponent is :math:`\frac{1}{T}\sum_k \log\|\delta_{k+1}\|`, T = steps·dt.
    Needs no stationary point. Returns (exponent, the final (U, V, W))."""
    game = make_game(X, Y, a, weight=weight, rate=rate)
    U, V, W = _check_state(game, U, V, W)
    dt, steps, rng = check_positive("dt", dt), check_int("steps", steps, minimum=1), check_rng("rng", rng)
    size = U.size + V.size + W.size
    if subspace is None:
        delta = rng.standard_normal(size)
    else:
        subspace = as_float_array("subspace", subspace, ndim=2)
        if subspace.shape[0] != size:
            raise ValueError(f"subspace must have {size} rows (the state's size); got shape {subspace.shape}")
        delta = subspace @ rng.standard_normal(subspace.shape[1])
    return _lyapunov(game, U, V, W, dt, steps, delta / np.linalg.norm(delta))


def _lyapunov(game, U, V, W, dt, steps, delta):
    shapes, total, radius = [U.shape, V.shape, W.shape], 0.0, np.linalg.norm(W)
    for _ in range(steps):
        tangent = flow._pack(*_jvp(game, U, V, W, *flow._unpack(delta, shapes)))
        U, V, W = _euler_step(game, U, V, W, dt, radius)
        delta = delta + dt * tangent
        growth = np.linalg.norm(delta)
        total += np.log(growth)
        delta = delta / growth
    return total / (steps * dt), (U, V, W)
