r"""The hot loop of the topic: a long Runge-Kutta rollout of the mass-preserving field.

.. math:: x_{t+1} = x_t + h\sum_i b_i k_i, \quad k_i = f\Big(x_t + h\sum_{j<i}a_{ij}k_j\Big), \quad
          f(x) = (A(x) - A(x)^\top)\mathbb 1,\ \ \mathrm{vec}\,A(x) = \Sigma(Ux + u)

A rollout is sequential in time and small in space (d ≤ 10), so NumPy spends its time in Python
overhead; the numba twin loops over samples, steps and stages in compiled code. Both are registered as
kernel ``"dynsys_mass_rollout"`` and take

x (n, d)    U (d², d)    u (d²,)    h : float    steps : int    method : str    activation_name : str

and return ``(x_final (n, d), sums (steps + 1, n))``, the invariant 𝟙ᵀx after every step.
"""

import numpy as np
from numba import njit

from refimpl.core.backend import get_kernel, register
from refimpl.core.validate import as_float_array, check_choice, check_finite_step, check_int, check_positive, check_shape
from refimpl.dynsys.model import ACTIVATIONS, RK_TABLEAUS, mass_rk_forward

KERNEL = "dynsys_mass_rollout"

__all__ = ["KERNEL", "mass_rollout"]  # the twins mass_rollout_numpy and mass_rollout_numba are internal


@register(KERNEL, "numpy")
def mass_rollout_numpy(x, U, u, h, steps, method, activation_name):
    """NumPy reference: ``steps`` Runge-Kutta steps of the model's layer :func:`~refimpl.dynsys.model.mass_rk_forward`."""
    sums = [x.sum(axis=1)]
    for _ in range(steps):
        x = mass_rk_forward(x, U, u, h, method, activation_name)[0]
        sums.append(x.sum(axis=1))
    return x, np.array(sums)


@register(KERNEL, "numba")
def mass_rollout_numba(x, U, u, h, steps, method, activation_name):
    """numba twin: one compiled loop over samples, steps and stages, no temporaries per step."""
    a, b = RK_TABLEAUS[method]
    x, U, u, a, b = (np.ascontiguousarray(v, dtype=np.float64) for v in (x, U, u, a, b))
    return _mass_rollout(x, U, u, float(h), int(steps), a, b, activation_name == "tanh")


@njit(cache=True)
def _mass_rollout(x, U, u, h, steps, a, b, use_tanh):
    """The tableau (a (s, s) strictly lower triangular, b (s,)); Σ = tanh if ``use_tanh`` else max(z, z/2)."""
    n, d = x.shape
    s = b.shape[0]
    out = x.copy()
    sums = np.empty((steps + 1, n))
    k = np.zeros((s, d))
    stage = np.empty(d)
    sigma = np.empty(d * d)
    for p in range(n):
        y = out[p].copy()
        sums[0, p] = np.sum(y)
        for t in range(steps):
            for i in range(s):
                for e in range(d):
                    acc = y[e]
                    for j in range(i):
                        acc += h * a[i, j] * k[j, e]
                    stage[e] = acc
                for r in range(d * d):
                    z = u[r]
                    for e in range(d):
                        z += U[r, e] * stage[e]
                    sigma[r] = np.tanh(z) if use_tanh else (z if z > 0.0 else 0.5 * z)
                for row in range(d):
                    total = 0.0
                    for col in range(d):
                        total += sigma[row * d + col] - sigma[col * d + row]
                    k[i, row] = total
            for e in range(d):
                acc = 0.0
                for i in range(s):
                    acc += b[i] * k[i, e]
                y[e] += h * acc
            sums[t + 1, p] = np.sum(y)
        out[p] = y
    return out, sums


def mass_rollout(x, U, u, h, steps, method="rk4", activation_name="tanh", backend="numba"):
    """Validated entry point: roll the mass-preserving field forward ``steps`` steps of size h.

    Parameters
    ----------
    x : (n, d)   U : (d², d)   u : (d²,)   h : float   steps : int
    method : "euler", "heun" or "rk4"
    activation_name : "tanh" or "leaky_relu"
    backend : "numpy" or "numba"

    Returns
    -------
    x_final : (n, d)
    sums : (steps + 1, n), 𝟙ᵀx after every step

    Raises
    ------
    FloatingPointError
        naming the first step at which the state became NaN or infinite (both backends).
    """
    x = as_float_array("x", x, ndim=2)
    if x.size == 0:
        raise ValueError(f"x must hold at least one sample of at least one coordinate; got shape {x.shape}")
    d = x.shape[1]
    U = check_shape("U", as_float_array("U", U, ndim=2), (d * d, d), described="(d², d)",
                    context=f"to match x with d = {d}")
    u = check_shape("u", as_float_array("u", u, ndim=1), (d * d,), described="(d²,)", context=f"with d = {d}")
    check_choice("method", method, tuple(RK_TABLEAUS))
    check_choice("activation_name", activation_name, ACTIVATIONS)
    steps = check_int("steps", steps, minimum=0)
    x_final, sums = get_kernel(KERNEL, backend)(x, U, u, check_positive("h", h), steps, method, activation_name)
    blown_up = np.flatnonzero(~np.all(np.isfinite(sums), axis=1))
    if blown_up.size:  # 𝟙ᵀx is finite exactly while x is: its first non-finite entry marks the blow-up
        check_finite_step(int(blown_up[0]), steps, x=sums[blown_up[0]])
    return x_final, sums
