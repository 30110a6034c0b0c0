r"""Measurements on simulations: quantities read off fields that :func:`~refimpl.rd.kernels.simulate` evolved.

:mod:`refimpl.rd.theory` holds what the linear analysis predicts (closed forms, no simulation); this
module holds what a run measures, so that an experiment compares the two:

- :func:`perturbation_growth_rate`: how fast the deviation from the homogeneous steady state grows or
  decays, to compare with :func:`~refimpl.rd.theory.euler_growth_rate` of the fastest lattice mode.
"""

import numpy as np

from refimpl.core.validate import check_int, check_positive
from refimpl.rd.kernels import simulate
from refimpl.rd.model import check_fields, check_model


def perturbation_growth_rate(model, u, v, *, dt, steps, h=1.0, boundary="periodic", backend="numba"):
    r"""Measured growth rate of the deviation :math:`\delta = (u - u^*, v - v^*)` from the steady state:

    .. math:: r = \frac{\ln(\lVert\delta(t + T)\rVert / \lVert\delta(t)\rVert)}{T}, \qquad T = \text{steps}\cdot\Delta t

    After a transient, :math:`\delta` is dominated by its slowest-decaying (or fastest-growing) mode, so
    :math:`r` approaches :math:`\ln|1 + \Delta t \lambda_{max}|/\Delta t` of the linearisation: negative
    for a stable state, positive for an unstable one.

    Parameters
    ----------
    model : :class:`~refimpl.rd.model.ReactionDiffusion`
    u, v : (n,) or (ny, nx) arrays, the fields at time t, not equal to the steady state
    dt, steps, h, boundary, backend : as for :func:`~refimpl.rd.kernels.simulate`; ``steps`` >= 1

    Returns
    -------
    float, r in 1/time
    """
    steps = check_int("steps", steps, minimum=1)
    dt = check_positive("dt", dt)
    u, v = check_fields(u, v)
    start = _deviation(model, u, v)
    if start == 0:
        raise ValueError("u, v must differ from the steady state "
                         f"{model.steady_state}: a zero deviation has no growth rate")
    u, v = simulate(model, u, v, dt=dt, steps=steps, h=h, boundary=boundary, backend=backend)
    return float(np.log(_deviation(model, u, v) / start) / (steps * dt))


def _deviation(model, u, v):
    r""":math:`\lVert (u - u^*, v - v^*) \rVert_2` over the grid."""
    u_star, v_star = check_model(model).steady_state
    return float(np.sqrt(np.sum((np.asarray(u) - u_star) ** 2 + (np.asarray(v) - v_star) ** 2)))
