r"""The pseudo-reaction-diffusion (PRD) model of adversarial interaction (Rout, AAAI-21).

Source: L. Rout, "Towards a pseudo-reaction-diffusion model for Turing instability in adversarial
learning" (NeurIPS 2020 ML4PS; AAAI-21 "Why adversarial interaction creates non-homogeneous patterns").
Equation numbers are those of the ML4PS text.

Generator (eq. 1) and critic ("adversary", p. 2), σ = ReLU:

.. math::
    f(x) = \frac{1}{\sqrt{d_{out} m}} V \sigma(U x), \qquad g(y) = \frac{1}{\sqrt{m_c}} a^\top \sigma(W y)

with U (m, d_in), V (d_out, m), W (m_c, d_out), a (m_c,). The paper takes m_c = m; we keep the critic
width separate so that the code says which m is which (every function reduces to the paper at m_c = m).
Losses (eqs. 1-2), with :math:`z_p = f(x_p)`:

.. math::
    L_{sup} = \tfrac12 \sum_p \|z_p - y_p\|^2, \qquad
    L_{aug} = L_{sup} - \underbrace{\frac{1}{m\sqrt{d_{out}}} \sum_p a^\top \sigma(W V \sigma(U x_p))}_{L_{adv}}

and, ReLU being positively homogeneous, :math:`L_{adv} = \sum_p g(f(x_p))` exactly.

The PRD split (eqs. 52-55) of the generator's flow :math:`\dot\theta = -\nabla L_{aug}` is
reaction :math:`R = -\nabla L_{sup}` plus diffusion :math:`D = +\nabla L_{adv}`; there is no spatial
Laplacian, "diffusion" is only the paper's name for the adversarial part (p. 4).

Layout: samples are rows (X (n, d_in), Y (n, d_out)), the transpose of the paper's X (d_in, n), so that
the supervised part is exactly :func:`refimpl.core.kernels.two_layer_squared_error_gradient` with
scale :math:`s = 1/\sqrt{d_{out} m}`.

Every public function validates its arguments once (:func:`check_problem`, :func:`check_critic`) and
then calls an unchecked private counterpart (``_generator_forward``, ``_augmented_parts``, ...);
the training loops of :mod:`refimpl.prd.flow` validate before the loop and call only those private
functions inside it, with the gradient kernel already looked up.

The critic is a layer pair in the convention of :mod:`refimpl.core.layers`: :func:`critic_forward`
returns (scores, cache), :func:`critic_backward` takes (dout, cache) and returns the gradients in the
order of the forward's arrays (dY, dW, da).
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from refimpl.core.backend import get_kernel
from refimpl.core.kernels import check_two_layer_problem
from refimpl.core.validate import as_float_array, check_int, check_positive, check_rng, check_shape
from refimpl.prd.kernels import ADVERSARIAL, SUPERVISED


# ----------------------------------------------------------------------------------------------- setup
def init_generator(rng, d_in, d_out, m):
    r"""Initialisation of Theorems 1-2: :math:`u_j \sim N(0, I)`, :math:`v_{ij}` uniform on {±1}.

    Returns U (m, d_in), V (d_out, m); ``rng`` is a numpy Generator or an int seed.
    """
    d_in, d_out, m = (check_int(name, v, minimum=1) for name, v in (("d_in", d_in), ("d_out", d_out), ("m", m)))
    rng = check_rng("rng", rng)
    return rng.standard_normal((m, d_in)), rng.choice([-1.0, 1.0], size=(d_out, m))


def init_critic(rng, d_out, m_c):
    r"""Initialisation of Theorem 2: :math:`w_r \sim N(0, I)`, :math:`a_r` uniform on {±1}.

    Returns W (m_c, d_out), a (m_c,); ``rng`` is a numpy Generator or an int seed.
    """
    d_out, m_c = check_int("d_out", d_out, minimum=1), check_int("m_c", m_c, minimum=1)
    rng = check_rng("rng", rng)
    return rng.standard_normal((m_c, d_out)), rng.choice([-1.0, 1.0], size=m_c)


def normalise_inputs(X):
    """Scale every row to unit Euclidean norm (‖x_p‖ = 1, the theorems' assumption). X : (n, d_in)."""
    X = _check_nonempty("X", as_float_array("X", X, ndim=2), "(n, d_in)")
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"X has {int(np.sum(norms == 0))} all-zero row(s); they cannot be normalised")
    return X / norms


def generator_scale(d_out, m):
    r""":math:`s = 1/\sqrt{d_{out} m}`, the output scale of f (eq. 1); d_out, m >= 1."""
    return _generator_scale(check_int("d_out", d_out, minimum=1), check_int("m", m, minimum=1))


def _generator_scale(d_out, m):
    return 1.0 / np.sqrt(d_out * m)


def _check_nonempty(name, array, described):
    """``array`` (2-D) if it has at least one row and one column, else raise naming ``name``."""
    if 0 in array.shape:
        raise ValueError(f"{name} must have at least one row and one column, {described}; got shape {array.shape}")
    return array


def check_problem(X, U, V, Y=None, W=None, a=None, *, required=()):
    """Validate the arrays of a PRD problem; returns them as float64 arrays, or raises naming the culprit.

    ``required`` names the optional arrays ("Y", "W") the caller needs; the critic's ``a`` comes with ``W``.
    """
    for name, value in (("Y", Y), ("W", W), ("a", a)):
        if value is None and (name in required or (name == "a" and W is not None)):
            raise TypeError(f"{name} must be an array of numbers; got None")
    if W is None and a is not None:
        raise ValueError("a is given without W: the critic needs both W (m_c, d_out) and a (m_c,)")
    X, U, V, Y = check_two_layer_problem(X, U, V, Y)
    _check_nonempty("X", X, "(n, d_in)")
    _check_nonempty("V", V, "(d_out, m)")  # U (m, d_in) is then non-empty too
    d_out = V.shape[0]
    if W is not None:
        W = check_shape("W", as_float_array("W", W, ndim=2), (None, d_out), described="(m_c, d_out)",
                        context=f"to match V with d_out = {d_out}")
        a = check_shape("a", as_float_array("a", a, ndim=1), (W.shape[0],), described="(m_c,)",
                        context=f"to match W with m_c = {W.shape[0]}")
    return X, U, V, Y, W, a


def check_critic(Y, W, a, name="Y"):
    """Validate critic inputs Y (n, d_out), W (m_c, d_out), a (m_c,); returns them as float64 arrays."""
    W = as_float_array("W", W, ndim=2)
    m_c, d_out = W.shape
    Y = check_shape(name, as_float_array(name, Y, ndim=2), (None, d_out), described="(n, d_out)",
                    context=f"to match W with d_out = {d_out}")
    _check_nonempty(name, Y, "(n, d_out)")
    _check_nonempty("W", W, "(m_c, d_out)")
    a = check_shape("a", as_float_array("a", a, ndim=1), (m_c,), described="(m_c,)",
                    context=f"to match W with m_c = {m_c}")
    return Y, W, a


def _check_like(name, array, reference, reference_name):
    """``array`` as a float64 array of the shape of ``reference`` (n, d_out), or raise naming both."""
    return check_shape(name, as_float_array(name, array, ndim=2), reference.shape, described="(n, d_out)",
                       context=f"to match {reference_name}")


# ------------------------------------------------------------------------------------- forward passes
def generator_forward(X, U, V):
    r"""f(x_p) for every row of X (eq. 1).

    .. math:: Z = s\, \sigma(X U^\top) V^\top, \quad s = 1/\sqrt{d_{out} m}

    X : (n, d_in), U : (m, d_in), V : (d_out, m)  →  Z : (n, d_out)
    """
    X, U, V, _, _, _ = check_problem(X, U, V)
    return _generator_forward(X, U, V)


def _generator_forward(X, U, V):
    return _generator_scale(V.shape[0], U.shape[0]) * np.maximum(X @ U.T, 0.0) @ V.T


def critic_forward(Y, W, a):
    r"""Critic scores :math:`g(y_p) = a^\top \sigma(W y_p)/\sqrt{m_c}` (p. 2 of the paper).

    Parameters
    ----------
    Y : (n, d_out)      W : (m_c, d_out)      a : (m_c,)

    Returns
    -------
    scores : (n,)
    cache : (Y, W, a, Q) with Q = Y Wᵀ (n, m_c), what :func:`critic_backward` needs
    """
    Y, W, a = check_critic(Y, W, a)
    return _critic_forward(Y, W, a)


def _critic_forward(Y, W, a):
    Q = Y @ W.T
    return np.maximum(Q, 0.0) @ a / np.sqrt(W.shape[0]), (Y, W, a, Q)


def critic_backward(dout, cache):
    r"""Gradients of a loss L given ``dout`` = ∂L/∂g(y_p), shape (n,), and the cache of :func:`critic_forward`.

    With :math:`c = 1/\sqrt{m_c}`, :math:`Q = Y W^\top` and
    :math:`G_{pr} = c\, \mathrm{dout}_p\, 1\{Q_{pr} > 0\}\, a_r`:

    .. math:: \partial L/\partial Y = G W, \quad \partial L/\partial W = G^\top Y,
              \quad \partial L/\partial a = c \textstyle\sum_p \mathrm{dout}_p\, \sigma(Q_{p,:})

    (``dout`` = 1 gives the gradients of :math:`\sum_p g(y_p)`.) Returns dY (n, d_out), dW (m_c, d_out), da (m_c,).
    """
    n = cache[0].shape[0]
    dout = check_shape("dout", as_float_array("dout", dout, ndim=1), (n,), described="(n,)",
                       context=f"to match the forward's Y with n = {n}")
    return _critic_backward(dout, cache)


def _critic_backward(dout, cache):
    """``dout`` None stands for dout = 1 (L = Σ_p g(y_p)) and skips the two products with it."""
    Y, W, a, Q = cache
    critic_scale = 1.0 / np.sqrt(W.shape[0])
    G, positive = critic_scale * (Q > 0) * a, np.maximum(Q, 0.0)
    if dout is not None:
        G, positive = G * dout[:, None], positive * dout[:, None]
    return G @ W, G.T @ Y, critic_scale * positive.sum(axis=0)


def adversarial_term(X, U, V, W, a):
    r""":math:`L_{adv}` exactly as written in eq. 2 (for m_c = m; :math:`1/\sqrt{m m_c}` in general).

    .. math:: L_{adv} = \frac{1}{\sqrt{m\, m_c}\sqrt{d_{out}}} \sum_p a^\top \sigma(W V \sigma(U x_p))
    """
    X, U, V, _, W, a = check_problem(X, U, V, W=W, a=a, required=("W",))
    m, m_c, d_out = U.shape[0], W.shape[0], V.shape[0]
    inner = np.maximum(X @ U.T, 0.0) @ V.T @ W.T  # rows: W V σ(U x_p)
    return float(np.sum(np.maximum(inner, 0.0) @ a)) / (np.sqrt(m * m_c) * np.sqrt(d_out))


# ------------------------------------------------------------------------------------------ gradients
def supervised_gradient(X, Y, U, V, backend="numba"):
    r"""L_sup (eq. 1) and its gradients dU (m, d_in), dV (d_out, m) (eqs. 48-49).

    The shared core kernel with :math:`s = 1/\sqrt{d_{out} m}`; ``backend`` "numpy", "numba" or "cuda".
    """
    X, U, V, Y, _, _ = check_problem(X, U, V, Y=Y, required=("Y",))
    return _supervised_gradient(X, Y, U, V, get_kernel(SUPERVISED, backend))


def _supervised_gradient(X, Y, U, V, supervised):
    """``supervised`` is the kernel function of :data:`refimpl.prd.kernels.SUPERVISED`, already looked up."""
    return supervised(X, Y, U, V, _generator_scale(V.shape[0], U.shape[0]))


def adversarial_gradient(X, U, V, W, a, backend="numba"):
    r""":math:`L_{adv} = \sum_p g(f(x_p))` and its gradients (eqs. 50-51 and the critic's).

    With :math:`P = XU^\top`, :math:`H = \sigma(P)`, :math:`Z = sHV^\top`, :math:`Q = ZW^\top`,
    :math:`G = c\,1\{Q>0\}\odot a` and :math:`\partial L_{adv}/\partial Z = GW`:

    .. math::
        \frac{\partial L_{adv}}{\partial V} = s\,(GW)^\top H, \quad
        \frac{\partial L_{adv}}{\partial U} = \big(s\,GWV \odot 1\{P>0\}\big)^\top X, \quad
        \frac{\partial L_{adv}}{\partial W} = G^\top Z, \quad
        \frac{\partial L_{adv}}{\partial a} = c \textstyle\sum_p \sigma(Q_{p,:})

    Returns (L_adv, dU (m, d_in), dV (d_out, m), dW (m_c, d_out), da (m_c,)).
    """
    X, U, V, _, W, a = check_problem(X, U, V, W=W, a=a, required=("W",))
    kernel = get_kernel(ADVERSARIAL, backend)
    return kernel(X, U, V, W, a, _generator_scale(V.shape[0], U.shape[0]), 1.0 / np.sqrt(W.shape[0]))


class AugmentedParts(NamedTuple):
    """Everything one generator step under L_aug needs: the two losses, the gradients of L_aug with
    respect to U (m, d_in), V (d_out, m), W (m_c, d_out), a (m_c,), and the outputs Z (n, d_out)."""

    loss_sup: float
    loss_adv: float
    dU: np.ndarray
    dV: np.ndarray
    dW: np.ndarray
    da: np.ndarray
    Z: np.ndarray


def augmented_parts(X, Y, U, V, W, a, backend="numba"):
    r"""L_sup, L_adv and the gradients of :math:`L_{aug} = L_{sup} - L_{adv}` (eq. 2), in one pass of the
    supervised kernel.

    Both losses reach U and V only through Z, and :math:`\partial L_{aug}/\partial Z = (Z - Y) - \nabla g(Z)`
    is the residual of the supervised loss with *shifted targets* :math:`Y + \nabla g(Z)`: the adversary acts
    on the generator as a moving target. So the supervised kernel with targets :math:`Y + \nabla g(Z)`
    returns :math:`\partial L_{aug}/\partial U` and :math:`\partial L_{aug}/\partial V` (its loss value is
    not L_sup and is dropped). The tests check this route against the sum of
    :func:`supervised_gradient` and :func:`adversarial_gradient`.
    """
    X, U, V, Y, W, a = check_problem(X, U, V, Y=Y, W=W, a=a, required=("Y", "W"))
    return _augmented_parts(X, Y, U, V, W, a, get_kernel(SUPERVISED, backend))


def _augmented_parts(X, Y, U, V, W, a, supervised, weight=1.0):
    """``weight`` β scales the adversarial term in the generator's gradients (those of L_sup − β L_adv)."""
    Z = _generator_forward(X, U, V)
    scores, cache = _critic_forward(Z, W, a)
    critic_input_gradient, dW_adv, da_adv = _critic_backward(None, cache)  # ∇g(z_p) as rows, ∂L_adv/∂(W, a)
    _, dU, dV = _supervised_gradient(X, Y + weight * critic_input_gradient, U, V, supervised)
    loss_sup = 0.5 * float(np.sum((Z - Y) ** 2))
    return AugmentedParts(loss_sup, float(np.sum(scores)), dU, dV, -dW_adv, -da_adv, Z)


def augmented_gradient(X, Y, U, V, W, a, backend="numba"):
    r""":math:`L_{aug} = L_{sup} - L_{adv}` (eq. 2) and its gradients with respect to U, V, W, a.

    Returns (L_aug, dU, dV, dW, da); dW and da are those of L_aug, i.e. :math:`-\partial L_{adv}`.
    See :func:`augmented_parts` for how they are computed.
    """
    parts = augmented_parts(X, Y, U, V, W, a, backend=backend)
    return parts.loss_sup - parts.loss_adv, parts.dU, parts.dV, parts.dW, parts.da


# ------------------------------------------------------------------------------------- the PRD split
@dataclass(frozen=True)
class PrdSplit:
    """Reaction and diffusion terms of every hidden neuron j (eqs. 52-55).

    ``reaction_u[j]``, ``diffusion_u[j]`` : (d_in,), rows of (m, d_in) arrays (the u_j body);
    ``reaction_v[:, j]``, ``diffusion_v[:, j]`` : (d_out,), columns of (d_out, m) arrays (the v_j body).
    du_j/dt = reaction_u[j] + diffusion_u[j]; dv_j/dt = reaction_v[:, j] + diffusion_v[:, j].
    """

    reaction_u: np.ndarray
    diffusion_u: np.ndarray
    reaction_v: np.ndarray
    diffusion_v: np.ndarray


def prd_split(X, Y, U, V, W, a):
    r"""Reaction and diffusion of each hidden neuron, written neuron by neuron as eqs. 52-55.

    With :math:`z_p = f(x_p)`, :math:`1_{jp} = 1\{u_j^\top x_p \ge 0\}` (eq. 39 prints
    :math:`v_j^\top x_p` there; eq. 50 shows it must be :math:`u_j`) and
    :math:`\delta_p = 1\{W V \sigma(U x_p) \ge 0\}`:

    .. math::
        R^u_j &= \tfrac{1}{\sqrt{d_{out} m}} \textstyle\sum_p \sum_i (y_p - z_p)_i v_{ij} 1_{jp} x_p \\
        D^u_j &= \tfrac{1}{m\sqrt{d_{out}}} \textstyle\sum_p a^\top \mathrm{diag}(\delta_p) W v_j 1_{jp} x_p \\
        R^v_j &= \tfrac{1}{\sqrt{d_{out} m}} \textstyle\sum_p (y_p - z_p) 1_{jp} u_j^\top x_p \\
        D^v_j &= \tfrac{1}{m\sqrt{d_{out}}} \textstyle\sum_p W^\top \mathrm{diag}(\delta_p) a \, 1_{jp} u_j^\top x_p

    (:math:`1/(m\sqrt{d_{out}})` is :math:`1/(\sqrt{m m_c}\sqrt{d_{out}})` for a critic of width m_c.)
    A deliberately literal loop over j: the tests compare it with the vectorised gradients,
    :math:`R + D = -\nabla L_{aug}`.
    """
    X, U, V, Y, W, a = check_problem(X, U, V, Y=Y, W=W, a=a, required=("Y", "W"))
    m, d_out = U.shape[0], V.shape[0]
    reaction_scale = 1.0 / np.sqrt(d_out * m)
    diffusion_scale = 1.0 / (np.sqrt(m * W.shape[0]) * np.sqrt(d_out))
    residual = Y - _generator_forward(X, U, V)  # rows y_p - z_p
    pre_activation = X @ U.T  # u_j^T x_p at [p, j]
    critic_mask = (np.maximum(pre_activation, 0.0) @ V.T @ W.T) >= 0  # δ_p, rows of W V σ(U x_p) ≥ 0
    critic_direction = (critic_mask * a) @ W  # row p: a^T diag(δ_p) W, (n, d_out)
    split = [np.zeros_like(U), np.zeros_like(U), np.zeros_like(V), np.zeros_like(V)]
    for j in range(m):
        active = pre_activation[:, j] >= 0  # 1_{jp}
        weight_reaction = reaction_scale * (residual @ V[:, j]) * active  # Σ_i (y_p - z_p)_i v_ij 1_jp
        weight_diffusion = diffusion_scale * (critic_direction @ V[:, j]) * active
        split[0][j] = weight_reaction @ X
        split[1][j] = weight_diffusion @ X
        activation = active * pre_activation[:, j]  # 1_jp u_j^T x_p
        split[2][:, j] = reaction_scale * residual.T @ activation
        split[3][:, j] = diffusion_scale * critic_direction.T @ activation
    return PrdSplit(*split)


# --------------------------------------------------------------------------------------------- critic
def gradient_penalty(Y_hat, W, a):
    r"""WGAN-GP penalty (Gulrajani et al. 2017) of the critic and its hand-derived gradients.

    .. math::
        P = \frac1n \sum_p (\|k_p\| - 1)^2, \qquad
        k_p = \nabla_y g(\hat y_p) = c\, W^\top (a \odot \delta_p), \quad \delta_p = 1\{W \hat y_p > 0\}

    :math:`\delta_p` is locally constant (ReLU), so with :math:`e_p = \tfrac2n(\|k_p\|-1) k_p/\|k_p\|`:

    .. math:: \frac{\partial P}{\partial w_r} = c \sum_p a_r \delta_{pr} e_p, \qquad
              \frac{\partial P}{\partial a_r} = c \sum_p \delta_{pr}\, w_r^\top e_p

    Y_hat : (n, d_out) points where the penalty is taken. Returns (P, dW (m_c, d_out), da (m_c,)).
    """
    Y_hat, W, a = check_critic(Y_hat, W, a, name="Y_hat")
    return _gradient_penalty(Y_hat, W, a)


def _gradient_penalty(Y_hat, W, a):
    n = Y_hat.shape[0]
    critic_scale = 1.0 / np.sqrt(W.shape[0])
    active = (Y_hat @ W.T > 0).astype(np.float64)  # δ, (n, m_c)
    input_gradient = critic_scale * (active * a) @ W  # k_p as rows, (n, d_out)
    norms = np.linalg.norm(input_gradient, axis=1)
    safe_norms = np.where(norms > 0, norms, 1.0)  # k_p = 0: the penalty is flat in direction, e_p = 0
    E = (2.0 / n) * ((norms - 1.0) / safe_norms)[:, None] * input_gradient  # e_p as rows
    dW = critic_scale * (active * a).T @ E
    da = critic_scale * np.sum(active * (E @ W.T), axis=0)
    return float(np.mean((norms - 1.0) ** 2)), dW, da


def critic_objective(Y_real, Z_fake, W, a, penalty=0.0, Y_hat=None):
    r"""The WGAN critic objective the adversary *ascends*, and its gradients.

    .. math:: J(W, a) = \frac1n \sum_p g(y_p) - \frac1n \sum_p g(z_p) - \lambda\, P(\hat Y)

    Y_real : (n, d_out) real samples (we use the targets Y: the data pairs (x_p, y_p) suggest it, the
    paper does not say); Z_fake : (n, d_out) generator outputs; ``penalty`` λ ≥ 0 weights the gradient
    penalty :func:`gradient_penalty` at the interpolates ``Y_hat`` (required when λ > 0).
    Returns (J, dJ/dW, dJ/da).
    """
    Y_real, W, a = check_critic(Y_real, W, a, name="Y_real")
    Z_fake = _check_like("Z_fake", Z_fake, Y_real, "Y_real")
    penalty = check_positive("penalty", penalty, allow_zero=True)
    if penalty > 0:
        if Y_hat is None:
            raise ValueError(f"critic_objective with penalty = {penalty} > 0 needs the interpolates Y_hat (n, d_out)")
        Y_hat, _, _ = check_critic(Y_hat, W, a, name="Y_hat")
    return _critic_objective(Y_real, Z_fake, W, a, penalty, Y_hat)


def _critic_objective(Y_real, Z_fake, W, a, penalty, Y_hat):
    n = Y_real.shape[0]
    scores_real, cache_real = _critic_forward(Y_real, W, a)
    scores_fake, cache_fake = _critic_forward(Z_fake, W, a)
    _, dW_real, da_real = _critic_backward(None, cache_real)
    _, dW_fake, da_fake = _critic_backward(None, cache_fake)
    value = float(np.mean(scores_real) - np.mean(scores_fake))
    dW, da = (dW_real - dW_fake) / n, (da_real - da_fake) / n
    if penalty > 0:
        value_penalty, dW_penalty, da_penalty = _gradient_penalty(Y_hat, W, a)
        value, dW, da = value - penalty * value_penalty, dW - penalty * dW_penalty, da - penalty * da_penalty
    return value, dW, da


def interpolates(rng, Y_real, Z_fake):
    r"""WGAN-GP sample points :math:`\hat y_p = \epsilon_p y_p + (1 - \epsilon_p) z_p`, :math:`\epsilon_p \sim U(0, 1)`.

    Y_real, Z_fake : (n, d_out). Returns Y_hat (n, d_out); draws n uniforms from ``rng``.
    """
    Y_real = _check_nonempty("Y_real", as_float_array("Y_real", Y_real, ndim=2), "(n, d_out)")
    rng = check_rng("rng", rng)
    return _interpolates(rng, Y_real, _check_like("Z_fake", Z_fake, Y_real, "Y_real"))


def _interpolates(rng, Y_real, Z_fake):
    epsilon = rng.uniform(size=(Y_real.shape[0], 1))
    return epsilon * Y_real + (1.0 - epsilon) * Z_fake


def project_critic(W, bound):
    r"""Project W onto :math:`\|W\|_F \le L` (Theorem 2's :math:`\|w\|_2 \le L` for d_out = 1).

    W : (m_c, d_out), bound : L > 0. Returns a new array."""
    W = _check_nonempty("W", as_float_array("W", W, ndim=2), "(m_c, d_out)")
    return _project_critic(W, check_positive("bound", bound))


def _project_critic(W, bound):
    norm = np.linalg.norm(W)
    return W * min(1.0, bound / norm) if norm > 0 else W.copy()
