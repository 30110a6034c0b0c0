r"""Gradient and sphere-preserving fields, the Presnov decomposition and the Strang splitting (seed 004).

Every :math:`C^1` field splits as :math:`f = \nabla U + X_S` with

.. math:: U(x) = \int_0^1 x^\top f(tx)\,dt, \qquad x^\top X_S(x) = 0 \ \ \forall x,

so a flow map of f is approximated by flows of a gradient field and of a sphere-preserving field. The
Strang splitting :math:`\Phi_f^h = \Phi_{\nabla U}^{h/2}\circ\Phi_{X_S}^{h}\circ\Phi_{\nabla U}^{h/2} + O(h^3)`
composes them. Here the parametrised pieces are

.. math:: G(x) = -A^\top\Sigma(Ax + b), \qquad X_S(x) = S(x)\,x,\ \ S = M - M^\top,\ \ \mathrm{vec}\,M(x) = \Sigma(Cx + c),

with x (n, d), A (m, d), b (m,), C (d², d), c (d²,). Fields take and return (n, d) arrays.
"""

import numpy as np

from refimpl.core.validate import as_float_array, check_finite_step, check_int, check_positive, check_shape
from refimpl.dynsys.model import activation


def _check_points(x):
    """x as a finite (n, d) float array with n, d >= 1."""
    x = as_float_array("x", x, ndim=2)
    if x.size == 0:
        raise ValueError(f"x must hold at least one point of at least one coordinate; got shape {x.shape}")
    return x


def _check_function(name, function):
    if not callable(function):
        raise TypeError(f"{name} must be a function of an (n, d) array; got {function!r}")
    return function


def _check_skew_params(x, C, c):
    """x (n, d), C (d², d), c (d²,) of the sphere-preserving field."""
    x = _check_points(x)
    d = x.shape[1]
    C = check_shape("C", as_float_array("C", C, ndim=2), (d * d, d), described="(d², d)",
                    context=f"to match x with d = {d}")
    c = check_shape("c", as_float_array("c", c, ndim=1), (d * d,), described="(d²,)", context=f"with d = {d}")
    return x, C, c


def gradient_field(x, A, b, activation_name="tanh"):
    r""":math:`G(x) = -\nabla V(x) = -A^\top\Sigma(Ax + b)`, :math:`V = \sum\gamma(Ax + b)`, :math:`\gamma' = \sigma`.

    x (n, d), A (m, d), b (m,).
    """
    x = _check_points(x)
    A = check_shape("A", as_float_array("A", A, ndim=2), (None, x.shape[1]), described="(m, d)",
                    context=f"to match x with d = {x.shape[1]}")
    b = check_shape("b", as_float_array("b", b, ndim=1), (len(A),), described="(m,)", context="to match A")
    return -activation(x @ A.T + b, activation_name)[0] @ A


def gradient_field_vjp(x, w, A, b, activation_name="tanh"):
    r""":math:`J_G(x)^\top w = -A^\top\big(\Sigma'(Ax + b)\odot Aw\big)` (J_G is symmetric)."""
    return -((w @ A.T) * activation(x @ A.T + b, activation_name)[1]) @ A


def skew_matrix(x, C, c, activation_name="tanh"):
    """S(x) = M(x) − M(x)ᵀ with vec M(x) = Σ(Cx + c), shape (n, d, d); also Σ'(Cx + c) (n, d²)."""
    n, d = x.shape
    s, ds = activation(x @ C.T + c, activation_name)
    M = s.reshape(n, d, d)
    return M - M.transpose(0, 2, 1), ds


def sphere_field(x, C, c, activation_name="tanh"):
    r""":math:`X_S(x) = S(x)x` with S skew, so :math:`x^\top X_S(x) = 0` and the flow keeps :math:`\|x\|`.

    x (n, d), C (d², d), c (d²,).
    """
    x, C, c = _check_skew_params(x, C, c)
    S, _ = skew_matrix(x, C, c, activation_name)
    return np.einsum("nij,nj->ni", S, x)


def sphere_field_vjp(x, w, C, c, activation_name="tanh"):
    r""":math:`J^\top w = S^\top w + C^\top\big(\Sigma'\odot\mathrm{vec}(wx^\top - xw^\top)\big)` row by row."""
    n, d = x.shape
    S, ds = skew_matrix(x, C, c, activation_name)
    dS = w[:, :, None] * x[:, None, :]
    dz = (dS - dS.transpose(0, 2, 1)).reshape(n, d * d) * ds
    return np.einsum("nij,ni->nj", S, w) + dz @ C


def sphere_cayley_step(x, C, c, h, activation_name="tanh"):
    r"""Norm-preserving step :math:`x' = (I - \tfrac h2 S(x))^{-1}(I + \tfrac h2 S(x))\,x`.

    The Cayley transform of a skew matrix is orthogonal, so :math:`\|x'\| = \|x\|` exactly (to round-off).
    x (n, d), C (d², d), c (d²,), h > 0.
    """
    x, C, c = _check_skew_params(x, C, c)
    h = check_positive("h", h)
    S, _ = skew_matrix(x, C, c, activation_name)
    identity = np.eye(x.shape[1])
    rhs = np.einsum("nij,nj->ni", identity + 0.5 * h * S, x)
    return np.linalg.solve(identity - 0.5 * h * S, rhs[:, :, None])[:, :, 0]


def presnov_decomposition(field, field_vjp, x, n_nodes=20):
    r"""Potential U, its gradient and the sphere-preserving remainder :math:`X_S = f - \nabla U` at x (n, d).

    .. math:: U(x) = \int_0^1 x^\top f(tx)\,dt, \qquad
              \nabla U(x) = \int_0^1 \big(f(tx) + t\,J_f(tx)^\top x\big)\,dt

    by Gauss-Legendre quadrature on [0, 1] with ``n_nodes`` nodes. ``field(x)`` and ``field_vjp(x, w)``
    return (n, d) arrays. Returns ``(U (n,), grad_U (n, d), X_S (n, d))``.
    """
    field, field_vjp = _check_function("field", field), _check_function("field_vjp", field_vjp)
    x = _check_points(x)
    nodes, weights = np.polynomial.legendre.leggauss(check_int("n_nodes", n_nodes, minimum=1))
    nodes, weights = 0.5 * (nodes + 1.0), 0.5 * weights
    U = np.zeros(len(x))
    grad_U = np.zeros_like(x)
    for t, weight in zip(nodes, weights):
        f_t = field(t * x)
        U += weight * np.sum(x * f_t, axis=1)
        grad_U += weight * (f_t + t * field_vjp(t * x, x))
    return U, grad_U, field(x) - grad_U


def rk4_flow(field, x, t, substeps=8):
    """Flow map Φ_f^t(x) approximated by ``substeps`` classical RK4 steps (error O(t⁵/substeps⁴))."""
    h = t / check_int("substeps", substeps, minimum=1)
    for _ in range(substeps):
        k1 = field(x)
        k2 = field(x + 0.5 * h * k1)
        k3 = field(x + 0.5 * h * k2)
        k4 = field(x + h * k3)
        x = x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return x


def strang_step(field_a, field_b, x, h, substeps=8):
    r"""Strang splitting :math:`\Phi_a^{h/2}\circ\Phi_b^{h}\circ\Phi_a^{h/2}`, sub-flows by RK4.

    ``field_a``, ``field_b`` map (n, d) arrays to (n, d) arrays; x (n, d), h > 0, substeps >= 1 RK4 steps per
    sub-flow.
    """
    _check_function("field_a", field_a), _check_function("field_b", field_b)
    x, h, substeps = _check_points(x), check_positive("h", h), check_int("substeps", substeps, minimum=1)
    return _strang_step(field_a, field_b, x, h, substeps)


def _strang_step(field_a, field_b, x, h, substeps):
    x = rk4_flow(field_a, x, 0.5 * h, substeps)
    x = rk4_flow(field_b, x, h, substeps)
    return rk4_flow(field_a, x, 0.5 * h, substeps)


def strang_local_errors(field_a, field_b, x, steps, substeps=8, reference_substeps=64):
    r"""Local errors :math:`\max_n\|\text{Strang}^h(x) - \Phi_{a+b}^h(x)\|` for each h in ``steps``.

    The exact flow of a + b is RK4 with ``reference_substeps`` steps; its error and the sub-flows' are
    far below the splitting error :math:`O(h^3)` for the h used here. x (n, d), steps (k,) of h > 0.
    A field that makes a flow NaN or infinite stops the measurement with a FloatingPointError naming the h.
    """
    _check_function("field_a", field_a), _check_function("field_b", field_b)
    x, steps = _check_points(x), as_float_array("steps", steps, ndim=1)
    if steps.size == 0 or np.any(steps <= 0):
        raise ValueError(f"steps must hold step sizes h > 0; got {steps}")
    substeps = check_int("substeps", substeps, minimum=1)
    reference_substeps = check_int("reference_substeps", reference_substeps, minimum=1)

    def full(y):
        return field_a(y) + field_b(y)

    errors = []
    for index, h in enumerate(steps):
        difference = _strang_step(field_a, field_b, x, h, substeps) - rk4_flow(full, x, h, reference_substeps)
        check_finite_step(index, len(steps), strang_minus_exact_flow=difference)
        errors.append(float(np.max(np.linalg.norm(difference, axis=1))))
    return np.array(errors)
