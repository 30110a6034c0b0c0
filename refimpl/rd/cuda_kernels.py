r"""The ``"cuda"`` twin of kernel ``"rd_steps"``: a shared-memory tile per block, several steps per launch.

Imported only when ``backend="cuda"`` is asked for (``numba.cuda`` is not needed otherwise). Each cell
update is the one of the other twins,

.. math::
    u'_{ij} = u_{ij} + \frac{\Delta t D_u}{h^2}(u_{i\pm1,j} + u_{i,j\pm1} - 4u_{ij}) + \Delta t\, f(u_{ij}, v_{ij})

and likewise v', computed with the same operations in the same order (:func:`_update_cell`).

How the device is used (:class:`DeviceStepper`):

- **Coalesced mapping.** ``threadIdx.x`` runs along a row (x = column), so the 32 threads of a warp read
  32 consecutive cells; a block is :data:`THREADS` = 32 × 8 threads and owns an output tile of
  :data:`TILE_ROWS_PER_THREAD` × 8 rows × 32 columns. A 1-D grid is launched as 1-D
  (:data:`THREADS_1D` threads along x, ``blockDim.y = 1``, no vertical halo).
- **Temporal blocking on chip.** A launch makes up to T = ``steps_per_launch`` steps: the block loads
  its tile with a halo of T cells, ``(rows + 2T) × (32 + 2T)``, into shared memory once, then computes
  step k on the region that is still exact after k steps (the halo shrinks by one cell per step, two
  shared buffers per field alternate) and writes only the inner tile back. Global memory then moves
  the 4 × itemsize bytes of a cell-step (read u, v; write u', v') once per T steps; the price is the
  recomputed halo, :math:`\sum_{k<T} (r + 2k)(32 + 2k) / (T\,r\,32)` times the useful work.
- **Buffers and launches prepared once.** Two pairs of device fields are allocated when the stepper is
  made and swapped after each launch; the configured launches (grid, block) are resolved once, not per
  step.

Zero-flux boundaries clamp a neighbour index to the grid (the ghost cell repeats the edge cell at every
step); periodic ones load the halo wrapped around, so a tile cell holding a copy of a grid cell evolves
exactly like it. Every :data:`CHECK_EVERY` steps and after the last one, a flag kernel marks NaN or inf
in either field (one extra read of the fields, and one copy of two flags to the host); on a flag the
steps since the last good check are replayed one at a time, and ``FloatingPointError`` names the first
step and the field that is not finite. Run on the CPU with ``NUMBA_ENABLE_CUDASIM=1`` (slow: small grids
only).
"""

import functools
import math

import numba
import numpy as np
from numba import cuda

from refimpl.core.validate import check_int
from refimpl.rd.kernels import raise_at_first_nonfinite_step

THREADS = (32, 8)  # (x, y) threads per block in 2-D: a warp covers 32 consecutive cells of a row
THREADS_1D = 256
TILE_ROWS_PER_THREAD = 2  # output rows per thread: a taller tile recomputes a smaller share of halo
STEPS_PER_LAUNCH = 4  # tile (16 + 8) × (32 + 8), 2 buffers × 2 fields: 31 KB of shared memory in float64
MAX_STEPS_PER_LAUNCH = 8  # the bench's largest T: the recomputed halo already doubles the work at T = 8
SHARED_BYTES_PER_BLOCK = 48 * 1024  # statically allocated shared memory a block may use on every CUDA device
CHECK_EVERY = 64  # steps between two NaN/inf checks: one read of the fields per 64 steps of 2 reads, 2 writes


@cuda.jit(device=True, inline=True)
def _update_cell(uc, u_above, u_below, u_left, u_right, vc, v_above, v_below, v_left, v_right,
                 coefficients, d_u, d_v, dt):
    """One Euler step of one cell from its value and its four neighbours, for u and v."""
    # 4u written as (u + u) + (u + u): exact, and no integer literal that would promote float32 to float64
    lap_u = u_above + u_below + u_left + u_right - ((uc + uc) + (uc + uc))
    lap_v = v_above + v_below + v_left + v_right - ((vc + vc) + (vc + vc))
    uv = uc * vc
    f = (coefficients[0, 0] + coefficients[0, 1] * uc + coefficients[0, 2] * vc
         + (coefficients[0, 3] * uc + coefficients[0, 4] * vc) * uv)
    g = (coefficients[1, 0] + coefficients[1, 1] * uc + coefficients[1, 2] * vc
         + (coefficients[1, 3] * uc + coefficients[1, 4] * vc) * uv)
    return uc + d_u * lap_u + dt * f, vc + d_v * lap_v + dt * g


@cuda.jit(device=True, inline=True)
def _neighbours(index, tile_index, n, periodic):
    """Tile indices of the cells before and after grid cell ``index`` (at ``tile_index``) along an axis of
    ``n`` cells: the next tile cell, or the cell itself at a zero-flux wall or when the axis has one cell."""
    wall = not periodic or n == 1
    before = tile_index if (wall and index == 0) else tile_index - 1
    after = tile_index if (wall and index == n - 1) else tile_index + 1
    return before, after


def _tile_shape(threads, rows_per_thread, steps_per_launch):
    """(buffers, rows, columns) of one field's shared tile: the block's output tile and a halo of T cells
    (no vertical halo for a 1-D grid, ``threads = (x,)``)."""
    halo = steps_per_launch
    tile_columns, tile_rows = threads[0], threads[1] * rows_per_thread if len(threads) == 2 else 1
    halo_rows = halo if len(threads) == 2 else 0
    return 2, tile_rows + 2 * halo_rows, tile_columns + 2 * halo


def shared_bytes(dtype, threads, steps_per_launch, rows_per_thread=TILE_ROWS_PER_THREAD):
    r"""Shared memory of one block, in bytes: two fields × two buffers × the tile with its halo,

    .. math:: 2 \cdot 2 \cdot (r + 2T)(c + 2T) \cdot \text{itemsize}

    for an output tile of r rows × c columns (r = 1 and no vertical halo in 1-D).
    """
    return 2 * math.prod(_tile_shape(threads, rows_per_thread, steps_per_launch)) * np.dtype(dtype).itemsize


def max_steps_per_launch(dtype, threads=THREADS, limit=MAX_STEPS_PER_LAUNCH):
    """The largest T <= ``limit`` whose tiles fit in :data:`SHARED_BYTES_PER_BLOCK` (0 when not even T = 1
    fits). For 32 × 8 blocks of 16 × 32 cells, T = 8 in float64 takes the 48 KiB exactly."""
    fitting = [T for T in range(1, limit + 1) if shared_bytes(dtype, threads, T) <= SHARED_BYTES_PER_BLOCK]
    return max(fitting, default=0)


@functools.lru_cache(maxsize=None)
def _tiled_kernel(dtype, threads, rows_per_thread, steps_per_launch):
    """The kernel for one dtype, block shape (x, y) and T; tile sizes are compile-time constants."""
    halo = steps_per_launch
    shape = _tile_shape(threads, rows_per_thread, steps_per_launch)
    tile_rows, tile_columns = shape[1] - 2 * (halo if len(threads) == 2 else 0), shape[2] - 2 * halo
    halo_rows = halo if len(threads) == 2 else 0
    element = numba.from_dtype(np.dtype(dtype))

    @cuda.jit
    def kernel(u, v, u_out, v_out, coefficients, d_u, d_v, dt, periodic, levels):
        """``levels`` <= T steps of the block's tile from (u, v) into (u_out, v_out)."""
        tile_u = cuda.shared.array(shape, element)
        tile_v = cuda.shared.array(shape, element)
        ny, nx = u.shape
        first_row, first_column = cuda.blockIdx.y * tile_rows - halo_rows, cuda.blockIdx.x * tile_columns - halo
        step_x, step_y = cuda.blockDim.x, cuda.blockDim.y
        for r in range(cuda.threadIdx.y, shape[1], step_y):  # the tile with its halo, once
            row = first_row + r
            row = row % ny if periodic else min(max(row, 0), ny - 1)
            for c in range(cuda.threadIdx.x, shape[2], step_x):
                column = first_column + c
                column = column % nx if periodic else min(max(column, 0), nx - 1)
                tile_u[0, r, c], tile_v[0, r, c] = u[row, column], v[row, column]
        for level in range(1, levels + 1):
            cuda.syncthreads()
            source, margin = (level - 1) % 2, levels - level  # margin: the cells still needed beyond the tile
            low_row, high_row = halo_rows - min(margin, halo_rows), shape[1] - halo_rows + min(margin, halo_rows)
            for r in range(low_row + cuda.threadIdx.y, high_row, step_y):
                row = first_row + r
                if not periodic and (row < 0 or row >= ny):
                    continue  # outside a zero-flux grid: no cell there, nothing reads it
                above, below = _neighbours(row, r, ny, periodic)
                for c in range(halo - margin + cuda.threadIdx.x, shape[2] - halo + margin, step_x):
                    column = first_column + c
                    if not periodic and (column < 0 or column >= nx):
                        continue
                    left, right = _neighbours(column, c, nx, periodic)
                    new_u, new_v = _update_cell(
                        tile_u[source, r, c], tile_u[source, above, c], tile_u[source, below, c],
                        tile_u[source, r, left], tile_u[source, r, right],
                        tile_v[source, r, c], tile_v[source, above, c], tile_v[source, below, c],
                        tile_v[source, r, left], tile_v[source, r, right], coefficients, d_u, d_v, dt)
                    if margin > 0:
                        tile_u[1 - source, r, c], tile_v[1 - source, r, c] = new_u, new_v
                    elif row < ny and column < nx:  # the inner tile, written once per launch
                        u_out[row, column], v_out[row, column] = new_u, new_v

    return kernel


@cuda.jit
def _flag_nonfinite(u, v, flags):
    """flags[0] (flags[1]) = 1 where some u (v) is NaN or ±inf; every writer writes the same value."""
    row = cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
    column = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if row < u.shape[0] and column < u.shape[1]:
        if not math.isfinite(u[row, column]):
            flags[0] = 1
        if not math.isfinite(v[row, column]):
            flags[1] = 1


class DeviceStepper:
    """Fields of one grid on the device, stepped ``steps_per_launch`` steps per launch.

    Made once per grid (the benchmarks time :meth:`advance` alone): allocates two pairs of device fields
    and the configured launches; :meth:`load` copies fields in, :meth:`advance` steps them,
    :meth:`fields` copies them back.

    Parameters
    ----------
    model : :class:`~refimpl.rd.model.ReactionDiffusion`
    shape : (n,) or (ny, nx);  dtype : float32 or float64
    dt, h : float;  boundary : "periodic" or "neumann" (validated by the caller)
    steps_per_launch : int >= 1, T; its tiles must fit in :data:`SHARED_BYTES_PER_BLOCK`
        (:func:`max_steps_per_launch`), else ``ValueError``
    threads : (x, y) threads per block for a 2-D grid (tests use small blocks to get many of them)
    """

    def __init__(self, model, shape, dtype, dt, h, boundary, steps_per_launch=STEPS_PER_LAUNCH, threads=THREADS):
        steps_per_launch = check_int("steps_per_launch", steps_per_launch, minimum=1)
        launch_threads = (THREADS_1D,) if len(shape) == 1 else tuple(threads)
        needed = shared_bytes(dtype, launch_threads, steps_per_launch)
        if needed > SHARED_BYTES_PER_BLOCK:
            raise ValueError(
                f"steps_per_launch = {steps_per_launch} needs {needed} bytes of shared memory per block for "
                f"{np.dtype(dtype).name} and threads = {launch_threads}; at most {SHARED_BYTES_PER_BLOCK} can be "
                f"allocated statically: use steps_per_launch <= "
                f"{max_steps_per_launch(dtype, launch_threads, limit=steps_per_launch - 1)}")
        self.shape, self.dtype = tuple(shape), np.dtype(dtype).type
        self.grid_shape = (1, shape[0]) if len(shape) == 1 else self.shape
        self.steps_per_launch = steps_per_launch
        self._pairs = [[cuda.device_array(self.grid_shape, dtype=self.dtype) for _ in "uv"] for _ in range(2)]
        self._flags = cuda.device_array(2, dtype=np.int32)
        scale = self.dtype(dt / (h * h))
        self._constants = (cuda.to_device(model.coefficients.astype(self.dtype)), self.dtype(model.D_u) * scale,
                           self.dtype(model.D_v) * scale, self.dtype(dt), boundary == "periodic")  # as numba
        ny, nx = self.grid_shape
        if len(shape) == 1:
            threads = (THREADS_1D,)
            step_blocks = flag_blocks = (math.ceil(nx / THREADS_1D),)
        else:
            step_blocks = (math.ceil(nx / threads[0]), math.ceil(ny / (threads[1] * TILE_ROWS_PER_THREAD)))
            flag_blocks = (math.ceil(nx / threads[0]), math.ceil(ny / threads[1]))
        kernel = _tiled_kernel(self.dtype, tuple(threads), TILE_ROWS_PER_THREAD, steps_per_launch)
        self._launch_step = kernel[step_blocks, threads]
        self._launch_flag = _flag_nonfinite[flag_blocks, threads]

    def load(self, u, v):
        """Copy host fields of the stepper's shape and dtype to the device."""
        for device, host in zip(self._pairs[0], (u, v)):
            device.copy_to_device(np.ascontiguousarray(host.reshape(self.grid_shape), dtype=self.dtype))

    def advance(self, steps):
        """``steps`` steps on the device, unchecked: ceil(steps / T) launches, the last one shorter."""
        for first in range(0, steps, self.steps_per_launch):
            levels = min(self.steps_per_launch, steps - first)
            (u, v), (u_out, v_out) = self._pairs
            self._launch_step(u, v, u_out, v_out, *self._constants, levels)
            self._pairs.reverse()

    def nonfinite(self):
        """(u has NaN/inf, v has NaN/inf), from the flag kernel and one copy of two flags."""
        self._flags.copy_to_device(np.zeros(2, dtype=np.int32))
        self._launch_flag(*self._pairs[0], self._flags)
        return tuple(bool(flag) for flag in self._flags.copy_to_host())

    def fields(self):
        """The current (u, v), copied to new host arrays of the stepper's shape."""
        return tuple(a.copy_to_host().reshape(self.shape) for a in self._pairs[0])


def rd_steps_cuda(model, u, v, dt, steps, h, boundary, steps_per_launch=STEPS_PER_LAUNCH, threads=THREADS):
    """numba.cuda twin of :func:`refimpl.rd.kernels.rd_steps_numpy`; same arguments and results.

    ``steps_per_launch`` (T) and ``threads`` change how the work is cut, never the fields: any T and block
    shape give the same bits (tests).
    """
    if steps == 0:
        return u.copy(), v.copy()
    stepper = DeviceStepper(model, u.shape, u.dtype, dt, h, boundary, steps_per_launch, threads)
    stepper.load(u, v)
    checked = 0  # the fields are finite after step `checked`
    for done in range(0, steps, CHECK_EVERY):
        end = min(done + CHECK_EVERY, steps)
        stepper.advance(end - done)
        if any(stepper.nonfinite()):
            raise_at_first_nonfinite_step(
                lambda a, b: _unchecked(model, a, b, dt, 1, h, boundary, threads),
                _unchecked(model, u, v, dt, checked, h, boundary, threads), stepper.fields(), done, end, steps)
        checked = end
    return stepper.fields()


def _unchecked(model, u, v, dt, steps, h, boundary, threads):
    """The fields after ``steps`` unchecked steps from (u, v) (finite by an earlier check)."""
    if steps == 0:
        return u, v
    stepper = DeviceStepper(model, u.shape, u.dtype, dt, h, boundary, STEPS_PER_LAUNCH, threads)
    stepper.load(u, v)
    stepper.advance(steps)
    return stepper.fields()
