r"""The ``"cuda"`` twin of kernel ``"rd_steps"``: one GPU thread per cell, one launch per Euler step.

Imported only when ``backend="cuda"`` is asked for (``numba.cuda`` is not needed otherwise). The fields
stay on the device for all ``steps`` and are copied back once. Each thread computes

.. math::
    u'_{ij} = u_{ij} + \frac{\Delta t D_u}{h^2}(u_{i\pm1,j} + u_{i,j\pm1} - 4u_{ij}) + \Delta t\, f(u_{ij}, v_{ij})

and likewise v'. Run on the CPU with ``NUMBA_ENABLE_CUDASIM=1`` (slow: tiny grids only).
"""

import math

import numpy as np
from numba import cuda

THREADS = (16, 16)


@cuda.jit
def _step(u, v, u_out, v_out, coefficients, d_u, d_v, dt, periodic):
    row, column = cuda.grid(2)
    ny, nx = u.shape
    if row >= ny or column >= nx:
        return
    above, below, left, right = row - 1, row + 1, column - 1, column + 1
    if periodic:
        above, below, left, right = above % ny, below % ny, left % nx, right % nx
    else:  # zero flux: the ghost cell repeats the edge cell
        above, below = max(above, 0), min(below, ny - 1)
        left, right = max(left, 0), min(right, nx - 1)
    uc, vc = u[row, column], v[row, column]
    # 4u written as (u + u) + (u + u): exact, and no integer literal that would promote float32 to float64
    lap_u = u[above, column] + u[below, column] + u[row, left] + u[row, right] - ((uc + uc) + (uc + uc))
    lap_v = v[above, column] + v[below, column] + v[row, left] + v[row, right] - ((vc + vc) + (vc + vc))
    uv = uc * vc
    f = (coefficients[0, 0] + coefficients[0, 1] * uc + coefficients[0, 2] * vc
         + (coefficients[0, 3] * uc + coefficients[0, 4] * vc) * uv)
    g = (coefficients[1, 0] + coefficients[1, 1] * uc + coefficients[1, 2] * vc
         + (coefficients[1, 3] * uc + coefficients[1, 4] * vc) * uv)
    u_out[row, column] = uc + d_u * lap_u + dt * f
    v_out[row, column] = vc + d_v * lap_v + dt * g


def rd_steps_cuda(model, u, v, dt, steps, h, boundary):
    """numba.cuda twin of :func:`refimpl.rd.kernels.rd_steps_numpy`; same arguments and results."""
    shape, dtype = u.shape, u.dtype.type
    if steps == 0:
        return u.copy(), v.copy()
    grid_shape = (1, shape[0]) if u.ndim == 1 else shape
    fields = [cuda.to_device(np.ascontiguousarray(a.reshape(grid_shape))) for a in (u, v)]
    spare = [cuda.device_array(grid_shape, dtype=dtype) for _ in range(2)]
    coefficients = cuda.to_device(model.coefficients.astype(dtype))
    scale = dtype(dt / (h * h))
    d_u, d_v = dtype(model.D_u) * scale, dtype(model.D_v) * scale  # as the numba twin: dt · (D / h²)
    blocks = tuple(math.ceil(n / t) for n, t in zip(grid_shape, THREADS))
    for _ in range(steps):
        _step[blocks, THREADS](fields[0], fields[1], spare[0], spare[1], coefficients, d_u, d_v, dtype(dt),
                               boundary == "periodic")
        fields, spare = spare, fields
    return tuple(a.copy_to_host().reshape(shape) for a in fields)
