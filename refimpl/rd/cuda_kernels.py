r"""The ``"cuda"`` twin of kernel ``"rd_steps"``: one GPU thread per cell, one launch per Euler step.

Imported only when ``backend="cuda"`` is asked for (``numba.cuda`` is not needed otherwise). The fields
stay on the device for all ``steps`` and are copied back once. Each thread computes

.. math::
    u'_{ij} = u_{ij} + \frac{\Delta t D_u}{h^2}(u_{i\pm1,j} + u_{i,j\pm1} - 4u_{ij}) + \Delta t\, f(u_{ij}, v_{ij})

and likewise v'. Every :data:`CHECK_EVERY` steps and after the last one, a second kernel flags NaN or
inf in either field (one extra read of the fields, and one copy of two flags to the host); on a flag
the steps since the last good check are replayed one at a time, and ``FloatingPointError`` names the
first step and the field that is not finite. Run on the CPU with ``NUMBA_ENABLE_CUDASIM=1`` (slow:
small grids only).
"""

import math

import numpy as np
from numba import cuda

from refimpl.rd.kernels import raise_at_first_nonfinite_step

THREADS = (16, 16)
CHECK_EVERY = 64  # steps between two NaN/inf checks: one read of the fields per 64 steps of 2 reads, 2 writes


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


@cuda.jit
def _flag_nonfinite(u, v, flags):
    """flags[0] (flags[1]) = 1 where some u (v) is NaN or ±inf; every writer writes the same value."""
    row, column = cuda.grid(2)
    if row < u.shape[0] and column < u.shape[1]:
        if not math.isfinite(u[row, column]):
            flags[0] = 1
        if not math.isfinite(v[row, column]):
            flags[1] = 1


def rd_steps_cuda(model, u, v, dt, steps, h, boundary):
    """numba.cuda twin of :func:`refimpl.rd.kernels.rd_steps_numpy`; same arguments and results."""
    return _steps(model, u, v, dt, steps, h, boundary, check=True)


def _steps(model, u, v, dt, steps, h, boundary, check):
    """``steps`` launches of :func:`_step`; with ``check``, NaN/inf flagged every :data:`CHECK_EVERY` steps."""
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
    flags = cuda.to_device(np.zeros(2, dtype=np.int32))
    for done in range(0, steps, CHECK_EVERY):
        end = min(done + CHECK_EVERY, steps)
        for _ in range(done, end):
            _step[blocks, THREADS](fields[0], fields[1], spare[0], spare[1], coefficients, d_u, d_v, dtype(dt),
                                   boundary == "periodic")
            fields, spare = spare, fields
        if not check:
            continue
        _flag_nonfinite[blocks, THREADS](fields[0], fields[1], flags)
        if flags.copy_to_host().any():
            raise_at_first_nonfinite_step(lambda a, b: _steps(model, a, b, dt, 1, h, boundary, check=False),
                                          _steps(model, u, v, dt, done, h, boundary, check=False),
                                          [a.copy_to_host().reshape(shape) for a in fields], done, end, steps)
    return tuple(a.copy_to_host().reshape(shape) for a in fields)
