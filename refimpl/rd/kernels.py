r"""The hot loop: ``steps`` explicit Euler steps of a two-morphogen model, three twins.

Registered as kernel ``"rd_steps"``; every twin is called as
``kernel(model, u, v, dt, steps, h, boundary)`` with u, v of shape (n,) or (ny, nx), float32 or float64,
and returns new arrays ``(u, v)`` of the same shape and dtype (the inputs are not touched):

- ``"numpy"``: :func:`refimpl.rd.model.euler_step` in a loop, the readable definition.
- ``"numba"``: a fused CPU kernel with temporal blocking. One step of a fused kernel reads u, v and writes
  u', v' (32 B per cell in float64), so on a large grid it waits on memory. This kernel makes
  ``steps_per_pass`` = T steps in one sweep (T from the cache sizes, :func:`steps_per_pass_for`): each
  thread owns a slab of rows and moves down it with a wavefront, keeping for each intermediate step only
  the last three rows it computed (a ring that stays in cache), so the full arrays are read and written
  once per T steps, 32/T B per cell-step. Slab edges are recomputed from a halo of T input rows, which
  costs about T² extra rows per slab. Where rows sit matters too: a load whose address equals that of a
  store just before it in the low 12 bits waits for the store ("4K aliasing"), and with rows of a multiple
  of 4 KiB every row a step writes would share those bits with every row it reads (measured on one row of
  4096 float64 cells in cache: 1.06e9 cell-steps/s with the written rows at the read rows' offset modulo
  4 KiB, 1.64e9 with them 1 KiB away). So the ring's rows start at :data:`RING_PHASES` offsets 512 B apart
  modulo 4 KiB (:func:`_ring`), each step of a sweep in its own (:func:`_ring_rotation`), and the output
  fields 1 KiB and 3 KiB from the input's (:func:`sweep_buffers`): at 4096² float64, T = 8, 1.07-1.17 × the
  cell-steps per second of the unplaced rows on one thread, 1.06-1.21 × on two (8 interleaved pairs of
  runs). The bound is then the arithmetic: the row loop compiles to packed AVX-512 code on the step regrouped by
  monomial (:func:`folded_coefficients`; in ``_update_row.inspect_asm``, 6 vector adds, 10 fused multiply-adds and 3
  multiplies per 8 cells where u + Δt (D ∇²u + f) took 20 adds and 17 multiplies; at 4096² float64 1.10 × the
  cell-steps per second on one thread, 1.08-1.11 × on two). The same code runs for every row and every T, so every T
  gives the same bits; against the NumPy reference the fields agree to rounding.
- ``"cuda"``: ``numba.cuda``, a shared-memory tile and several steps per launch
  (:mod:`refimpl.rd.cuda_kernels`, imported only when asked for).

The 1-D case runs through the same kernels as a grid of one row: with one row, the vertical
neighbours of a cell are the cell itself under both boundary rules, so they add nothing.

A blow-up is an error, not a result: every twin checks that the fields are finite every
:data:`CHECK_EVERY` steps and after the last one (NumPy with ``np.isfinite``; numba inside the kernel,
on each row the checking sweep writes while it is in cache; CUDA every
:data:`~refimpl.rd.cuda_kernels.CHECK_EVERY` steps with a flag kernel on the device). NaN and ±inf never
turn finite again under these updates, so a failed check replays the steps since the last good check
one at a time (:func:`raise_at_first_nonfinite_step`) and raises ``FloatingPointError`` naming the
first step and the field (u or v) that is not finite.
"""

import functools
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

from refimpl.core.backend import get_kernel, numba_threads, register, register_lazy
from refimpl.core.validate import check_choice, check_finite_step, check_int
from refimpl.rd.model import BOUNDARIES, _euler_step, check_fields, check_model, check_time_step

KERNEL = "rd_steps"
MAX_STEPS_PER_PASS = 8  # beyond 8 the recomputed slab edges (~T² rows) grow and, measured at 4096², nothing is won
CACHE_FALLBACK_BYTES = 2**20  # per thread, when /sys does not say
PARALLEL_FROM_CELLS = 2**16  # smaller grids run on one thread: waking the others costs more than it saves
CHECK_EVERY = 32  # steps between two NaN/inf checks on the CPU: one read of the fields (numba: of rows in cache)
PAGE = 4096  # bytes: addresses equal modulo PAGE alias in the load-store queue (4K aliasing)
RING_PHASES = 8  # offsets modulo PAGE, 512 B apart, at which the ring's rows start: one per step of a sweep

register_lazy(KERNEL, "cuda", "refimpl.rd.cuda_kernels:rd_steps_cuda")


@register(KERNEL, "numpy")
def rd_steps_numpy(model, u, v, dt, steps, h, boundary):
    """NumPy reference: :func:`~refimpl.rd.model.euler_step` repeated ``steps`` times, the fields checked
    for NaN/inf every :data:`CHECK_EVERY` steps and at the end."""
    if steps == 0:
        return u.copy(), v.copy()
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported by the check, as in the other twins
        for done in range(0, steps, CHECK_EVERY):
            start = u, v
            end = min(done + CHECK_EVERY, steps)
            for _ in range(done, end):
                u, v = _euler_step(model, u, v, dt, h, boundary)
            if not (np.isfinite(u).all() and np.isfinite(v).all()):
                raise_at_first_nonfinite_step(lambda a, b: _euler_step(model, a, b, dt, h, boundary), start,
                                              (u, v), done, end, steps)
    return u, v


def raise_at_first_nonfinite_step(step_once, start, end_fields, done, end, steps):
    """Raise ``FloatingPointError`` naming the first step after ``done`` whose u or v is NaN or infinite.

    Parameters
    ----------
    step_once : callable ``(u, v) -> (u, v)``, one step of the twin that found the blow-up (so that the
        replay takes the same values)
    start : (u, v), finite, the fields after step ``done``
    end_fields : (u, v), the fields after step ``end``, known to hold NaN or inf
    done, end : int, the last good check and the check that failed, ``done < end``
    steps : int, the number of steps asked for (for the message)
    """
    u, v = start
    for step in range(done + 1, end):
        u, v = step_once(u, v)
        check_finite_step(step, steps, u=u, v=v)
    check_finite_step(end, steps, u=end_fields[0], v=end_fields[1])


@functools.lru_cache(maxsize=1)
def cache_bytes_per_thread():
    """The cache one numba thread can count on: its core's L2 plus an equal share of the L3, in bytes.

    Read from ``/sys/devices/system/cpu/cpu0/cache/index*/{level,size}`` (Linux);
    :data:`CACHE_FALLBACK_BYTES` where that is missing.
    """
    sizes = {}
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            level, size = (index / "level").read_text().strip(), (index / "size").read_text().strip()
        except OSError:
            continue
        sizes[level] = int(size.rstrip("KMG")) * {"K": 2**10, "M": 2**20, "G": 2**30}.get(size[-1], 1)
    if "2" not in sizes:
        return CACHE_FALLBACK_BYTES
    return sizes["2"] + sizes.get("3", 0) // max(1, numba.config.NUMBA_NUM_THREADS)


def steps_per_pass_for(nx, itemsize):
    """T for rows of ``nx`` cells: the largest T <= :data:`MAX_STEPS_PER_PASS` whose ring of intermediate
    rows, 3 rows × (T − 1) steps × 2 fields × nx × itemsize bytes, fits in :func:`cache_bytes_per_thread`
    (at least 1). At 4096 float64 cells a row, L2 = 1 MiB and 16 MiB of L3 per thread: T = 8."""
    ring_per_step = 3 * 2 * nx * itemsize
    return int(max(1, min(MAX_STEPS_PER_PASS, 1 + cache_bytes_per_thread() // ring_per_step)))


@register(KERNEL, "numba")
def rd_steps_numba(model, u, v, dt, steps, h, boundary, steps_per_pass=None, slabs=None, buffers=None):
    """numba twin: ``steps`` steps in sweeps of ``steps_per_pass`` steps (see the module docstring).

    ``steps_per_pass``: T <= :data:`RING_PHASES` + 1 (one ring phase per intermediate step), default
    :func:`steps_per_pass_for` the row length and dtype. Any T gives the same fields bit for bit.

    ``slabs``: bands of rows swept in parallel; default one per numba thread (one below
    :data:`PARALLEL_FROM_CELLS` cells). Any number gives the same fields.
    ``buffers``: optional, unchecked, two ``(u, v)`` pairs of C-contiguous 2-D arrays of the grid's shape
    and dtype for the sweeps to write into (benchmarks allocate them once, outside the timed region, with
    :func:`sweep_buffers`); the returned fields are then views of one pair.
    """
    if steps_per_pass is None:
        steps_per_pass = steps_per_pass_for(u.shape[-1], u.itemsize)
    steps_per_pass = check_int("steps_per_pass", steps_per_pass, minimum=1, maximum=RING_PHASES + 1)
    if slabs is not None:
        slabs = check_int("slabs", slabs, minimum=1)
    shape, dtype = u.shape, u.dtype.type
    if steps == 0:
        return u.copy(), v.copy()
    u, v = (np.ascontiguousarray(a.reshape(1, -1) if a.ndim == 1 else a) for a in (u, v))
    folded = folded_coefficients(model, dt, h).astype(dtype)
    threads = numba.get_num_threads()
    if slabs is None:
        slabs = threads if u.size >= PARALLEL_FROM_CELLS else 1
    slabs = min(slabs, u.shape[0])
    buffers = list(buffers or (None, None))  # sweeps alternate between two pairs; the caller's u, v are only read
    ring = _ring(slabs, u.shape[1], dtype) if steps_per_pass > 1 else np.empty((slabs, 2, 1, 1), dtype)
    nonfinite = np.zeros((2, slabs), dtype=np.bool_)  # [field, slab]: set by a checking sweep on NaN/inf
    checked_every = max(1, CHECK_EVERY // steps_per_pass)  # sweeps
    periodic = boundary == "periodic"
    initial, checked = (u, v), 0  # the fields are finite after step `checked`

    def step_once(a, b):  # unchecked, for the replay
        out = np.empty_like(a), np.empty_like(b)
        _sweep(a, b, *out, ring, 0, folded, periodic, 1, slabs, False, nonfinite)
        return out

    with numba_threads(slabs), np.errstate(over="ignore", invalid="ignore"):  # NUMBA_DISABLE_JIT=1: as numpy
        for index, first_step in enumerate(range(0, steps, steps_per_pass)):
            if buffers[index % 2] is None:
                buffers[index % 2] = _buffer_pair(initial[0], index % 2)
            sweep_in, (u, v) = (u, v), buffers[index % 2]
            levels = min(steps_per_pass, steps - first_step)
            check = (index + 1) % checked_every == 0 or first_step + levels == steps
            rotation = _ring_rotation(_offset(ring), tuple(map(_offset, sweep_in)), (_offset(u), _offset(v)),
                                      levels)
            _sweep(*sweep_in, u, v, ring, rotation, folded, periodic, levels, slabs, check, nonfinite)
            if nonfinite.any():
                start = rd_steps_numba(model, *initial, dt, checked, h, boundary, steps_per_pass, slabs)
                raise_at_first_nonfinite_step(step_once, start, (u, v), checked, first_step + levels, steps)
            checked = first_step + levels if check else checked
    return u.reshape(shape), v.reshape(shape)


def sweep_buffers(u):
    """The two (u, v) output pairs the sweeps of :func:`rd_steps_numba` alternate between, for fields like
    ``u`` (2-D, C-contiguous): new arrays starting 1 KiB and 3 KiB (the first pair), 2 KiB and 0 KiB (the
    second) after u's address modulo :data:`PAGE`, so that no sweep writes a field at the offset it reads one."""
    return [_buffer_pair(u, pair) for pair in (0, 1)]


def _buffer_pair(u, pair):
    return tuple(_at_offset(u.shape, u.dtype, _offset(u) + (1 + pair + 2 * field) * PAGE // 4) for field in (0, 1))


def _at_offset(shape, dtype, offset):
    """A new C-contiguous array whose data start ``offset`` bytes (a multiple of the itemsize) after a multiple of
    :data:`PAGE`."""
    itemsize = np.dtype(dtype).itemsize
    size = int(np.prod(shape))
    raw = np.empty(size + PAGE // itemsize, dtype)
    start = (offset - _offset(raw)) % PAGE // itemsize
    return raw[start:start + size].reshape(shape)


def _offset(a):
    """Where ``a``'s data start modulo :data:`PAGE`, in bytes."""
    return a.ctypes.data % PAGE


def _ring(slabs, nx, dtype):
    """The intermediate rows of every slab: (slabs, 2 fields, 3 :data:`RING_PHASES` + 4, stride).

    Phase c (0 <= c < :data:`RING_PHASES`) holds rows c, c + 8, c + 16 of a field, which start
    c × 512 B after the field's start modulo :data:`PAGE`: the row stride is the first one at least a row
    of ``nx`` cells that is 512 B past a multiple of 4 KiB. With the 4 unused rows that follow, a field takes
    28 strides = 3.5 pages ≡ 2 KiB (mod 4 KiB), so the v rows of a phase start 2 KiB from its u rows, and
    slabs start at the same offset. Only the rows in use are touched.
    """
    itemsize, phase = np.dtype(dtype).itemsize, PAGE // RING_PHASES
    stride = -(-(nx * itemsize - phase) // PAGE) * PAGE + phase
    rows = 3 * RING_PHASES + RING_PHASES // 2  # (3 + 1/2) × RING_PHASES × phase ≡ PAGE / 2
    return _at_offset((slabs, 2, rows, stride // itemsize), dtype, 0)


@functools.lru_cache(maxsize=64)
def _ring_rotation(ring_offset, source_offsets, target_offsets, levels):
    """ρ for a sweep of ``levels`` steps: its intermediate step ℓ writes ring phase (ℓ + ρ) mod 8. Step ℓ reads
    phase ℓ − 1 of the ring and writes phase ℓ, 512 B away (and v 2 KiB from u): only the first step, which
    reads the input, and the last, which writes the output, depend on where those lie. The ρ returned puts the
    rows of the first intermediate step farthest from the sources' and those of the last farthest from the
    targets' (modulo :data:`PAGE`). The offsets are :func:`_offset` values (tuples for u and v); a run of
    sweeps alternates between two pairs of buffers, so the answers are cached."""
    if levels < 2:
        return 0

    def phase_offsets(level, rotation):
        start = ring_offset + (level + rotation) % RING_PHASES * PAGE // RING_PHASES
        return [start % PAGE, (start + PAGE // 2) % PAGE]

    def nearest(rotation):
        pairs = [(a, b) for a in phase_offsets(1, rotation) for b in source_offsets]
        pairs += [(a, b) for a in phase_offsets(levels - 1, rotation) for b in target_offsets]
        return min(min((a - b) % PAGE, (b - a) % PAGE) for a, b in pairs)

    return max(range(RING_PHASES), key=nearest)


def folded_coefficients(model, dt, h):
    r"""(2, 6) float64: the Euler step of :func:`~refimpl.rd.model.euler_step` regrouped by monomial, the row
    of u holding :math:`(c_0, c_u, c_v, c_{uuv}, c_{uvv}, d)` in

    .. math:: u' = c_0 + c_u u + c_v v + d\,(u_N + u_S + u_W + u_E) + (c_{uuv} u + c_{uvv} v)\,uv,

    :math:`c_0 = \Delta t f_0`, :math:`c_u = 1 - 4d + \Delta t f_u`, :math:`c_v = \Delta t f_v`,
    :math:`c_{uuv} = \Delta t f_{uuv}`, :math:`c_{uvv} = \Delta t f_{uvv}`, :math:`d = \Delta t D_u / h^2`;
    the row of v likewise with g, :math:`D_v` and the 1 − 4d on :math:`c_v`. The same step as
    u + Δt (D ∇²u + f) in exact arithmetic with 13 multiplications and 16 additions per cell instead of 17 and
    22 (the 1, −4d and Δt are folded into the coefficients), so it rounds differently, within the twins'
    tolerance.
    """
    scale = dt / (h * h)
    folded = np.zeros((2, 6))
    for field, (row, diffusivity) in enumerate(zip(model.coefficients, (model.D_u, model.D_v))):
        d = diffusivity * scale
        folded[field, :5] = dt * row
        folded[field, 1 + field] += 1.0 - 4.0 * d  # c_u for u, c_v for v
        folded[field, 5] = d
    return folded


@njit(cache=True, parallel=True)
def _sweep(u, v, u_out, v_out, ring, rotation, folded, periodic, levels, slabs, check, nonfinite):
    """``levels`` steps from (u, v) into (u_out, v_out), one slab of rows per thread, through ``ring``
    (:func:`_ring`) rotated by ``rotation`` (:func:`_ring_rotation`). With ``check``, ``nonfinite[0, slab]``
    (``[1, slab]``) is set when a row of u_out (v_out) the slab wrote holds NaN or inf."""
    ny, nx = u.shape
    for slab in prange(slabs):
        first_row, end_row = slab * ny // slabs, (slab + 1) * ny // slabs
        # ring_u[8 (row % 3) + (level + rotation) % 8] holds row `row` of intermediate step `level`
        # (1 <= level < levels); rows are passed by index, not as views (a view per row costs reference counting)
        ring_u, ring_v = ring[slab, 0], ring[slab, 1]
        # a wavefront: step `level` computes row front - level, one row behind step level - 1, whose
        # rows front - level - 1 ... front - level + 1 are therefore ready (in the input or the ring)
        for front in range(first_row - levels + 2, end_row + levels):
            for level in range(1, levels + 1):
                row = front - level
                low, high = first_row - levels + level, end_row + levels - level
                if not periodic:
                    low, high = max(low, 0), min(high, ny)
                if row < low or row >= high:
                    continue
                above, below = row - 1, row + 1
                if not periodic:
                    above, below = max(above, 0), min(below, ny - 1)
                if level == 1:  # read the input, wrapping rows outside the grid (periodic halo)
                    source_u, source_v = u, v
                    a, c, b = above % ny, row % ny, below % ny
                else:
                    source_u, source_v = ring_u, ring_v
                    phase = (level - 1 + rotation) % RING_PHASES
                    a, c, b = _ring_row(above, phase), _ring_row(row, phase), _ring_row(below, phase)
                if level == levels:
                    target_u, target_v, t = u_out, v_out, row % ny
                else:
                    target_u, target_v, t = ring_u, ring_v, _ring_row(row, (level + rotation) % RING_PHASES)
                _update_row(source_u, source_v, a, c, b, target_u, target_v, t, folded, nx, periodic)
                if check and level == levels:  # each output row of the slab once, while it is in cache
                    nonfinite[0, slab] |= _count_nonfinite(target_u[t]) > 0
                    nonfinite[1, slab] |= _count_nonfinite(target_v[t]) > 0


@njit(cache=True, inline="always")
def _ring_row(row, phase):
    """The ring row holding grid row ``row`` of the step that writes ``phase``: one of its three slots."""
    return RING_PHASES * (row % 3) + phase


@njit(cache=True)
def _count_nonfinite(row):
    """How many entries are NaN or ±inf: x − x is exactly 0 for a finite x and NaN otherwise. An integer
    count has no branch and no order-dependent float sum, so the loop vectorises."""
    count = 0
    for i in range(row.shape[0]):
        count += np.int64((row[i] - row[i]) != 0)  # the explicit int64 keeps the loop vectorised
    return count


@njit(cache=True, fastmath={"contract"})
def _update_row(u, v, above, row, below, u_new, v_new, target, folded, nx, periodic):
    """One Euler step of the first ``nx`` cells of row ``row`` of (u, v) (rows ``above`` and ``below`` its
    neighbours) into row ``target`` of (u_new, v_new), in the folded form of :func:`folded_coefficients`.
    Multiply-adds may be fused (FMA): the same code runs for every row and every T, so any T still gives the
    same bits."""
    # the two edge columns first, so that the interior loop has no branches and vectorises
    for i in (0, nx - 1):
        left, right = i - 1, i + 1
        if periodic:
            left, right = left % nx, right % nx
        else:
            left, right = max(left, 0), min(right, nx - 1)
        _update_cell(i, left, right, u, v, above, row, below, u_new, v_new, target, folded)
    for i in range(1, nx - 1):
        _update_cell(i, i - 1, i + 1, u, v, above, row, below, u_new, v_new, target, folded)


@njit(cache=True, inline="always", fastmath={"contract"})
def _update_cell(i, left, right, u, v, above, row, below, u_new, v_new, target, k):
    uc, vc = u[row, i], v[row, i]
    uv = uc * vc
    u_new[target, i] = (k[0, 0] + k[0, 1] * uc + k[0, 2] * vc
                        + k[0, 5] * (u[above, i] + u[below, i] + u[row, left] + u[row, right])
                        + (k[0, 3] * uc + k[0, 4] * vc) * uv)
    v_new[target, i] = (k[1, 0] + k[1, 1] * uc + k[1, 2] * vc
                        + k[1, 5] * (v[above, i] + v[below, i] + v[row, left] + v[row, right])
                        + (k[1, 3] * uc + k[1, 4] * vc) * uv)


def simulate(model, u, v, *, dt, steps, h=1.0, boundary="periodic", backend="numba"):
    r"""Advance (u, v) by ``steps`` explicit Euler steps of ``model``; validated entry point.

    .. math:: u^{n+1} = u^n + \Delta t\,(D_u \nabla^2_h u^n + f(u^n, v^n)), \quad
              v^{n+1} = v^n + \Delta t\,(D_v \nabla^2_h v^n + g(u^n, v^n))

    Parameters
    ----------
    model : :class:`~refimpl.rd.model.ReactionDiffusion`
    u, v : (n,) or (ny, nx) arrays of equal shape; float32 stays float32, anything else becomes float64
    dt : float, refused above :func:`~refimpl.rd.model.max_stable_dt`
    steps : int >= 0
    h : float, grid spacing
    boundary : "periodic" or "neumann"
    backend : "numpy", "numba" or "cuda"

    Returns
    -------
    (u, v), new arrays of the input shape and dtype.

    Raises
    ------
    ValueError
        On bad input, an empty grid included, before any kernel runs.
    FloatingPointError
        When the fields blow up: names the first step and the field (u or v) that holds NaN or inf.
    """
    u, v = check_fields(u, v)
    dt = check_time_step(dt, check_model(model), h, u.ndim)
    steps = check_int("steps", steps, minimum=0)
    check_choice("boundary", boundary, BOUNDARIES)
    return get_kernel(KERNEL, backend)(model, u, v, dt, steps, float(h), boundary)
