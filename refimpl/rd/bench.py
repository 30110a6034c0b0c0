r"""Benchmark ``rd``: Gray-Scott cell-steps per second against the machine's memory-bandwidth roofline.

Every implementation advances the same Gray-Scott "mitosis" fields (periodic, dt = 1) by the same number of
steps on the same grid, in one run; a row's ``case`` names the grid and the steps of one timed call, its
``work`` the cell-steps of that call. Rows:

- ``"numpy reference"`` (float64, one thread, ``ours=False``): the readable twin, the baseline of the numba
  speed-up (it allocates its temporaries per step: that is the reference algorithm);
- ``"numba, T step(s)/sweep"`` (float32 and float64, all numba threads): temporal blocking with
  T = :func:`~refimpl.rd.kernels.steps_per_pass_for` the grid (from the cache sizes), and one step per
  sweep for comparison; output buffers
  allocated once, outside the timed region. Where the grid runs on several threads, the blocked float64
  kernel is timed on one thread as well, so that its speed-up over the one-thread NumPy reference is taken at
  equal thread counts;
- ``"py-pde numba"`` (float64, ``ours=False``) when py-pde is installed (imported here only; its compile
  time is the row's ``first_call_seconds``).

Extra column ``roofline_fraction``: the roofline is that of a fused one-pass step, which must read u, v and
write u', v' once:

.. math:: \text{roofline} = B / b, \qquad b = 4 \times \text{itemsize} = 16 \text{ B (float32)}, 32 \text{ B (float64)},

with :math:`B` the bandwidth of a STREAM-triad-like kernel (:math:`a_i = b_i + s c_i`, counted as
24 B per element in float64, write-allocate traffic not counted, as STREAM does) measured in the same
run, on all threads. A temporally blocked sweep moves these bytes once per T steps, so its fraction can
exceed 1.

``backend="cuda"`` (:func:`bench_rd_cuda`) times the numba.cuda twin instead, with CUDA events, on the
same fields: one row per dtype and T steps per launch (1, :data:`~refimpl.rd.cuda_kernels.STEPS_PER_LAUNCH` and the
largest T <= 8 that fits in shared memory, :func:`~refimpl.rd.cuda_kernels.max_steps_per_launch`),
the device's own bandwidth B measured in the same run with a copy kernel (16 B per float64 element), the
same ``roofline_fraction`` against it (b = 4 × itemsize per cell-step; with T steps per launch global
memory moves b / T of them), and, when CuPy is installed, a reference row ``"cupy element-wise"`` (the
update written with ``cupy.roll`` and array arithmetic, ``ours=False``).
"""

import os

import numba
import numpy as np
from numba import njit, prange

from refimpl.bench import bench_row, register_bench, time_call
from refimpl.core.validate import check_choice
from refimpl.rd.kernels import PARALLEL_FROM_CELLS, rd_steps_numba, rd_steps_numpy, steps_per_pass_for, sweep_buffers
from refimpl.rd.model import GRAY_SCOTT_PRESETS, gray_scott_preset, pearson_seed

PRESET = "mitosis"
FULL = {256: 400, 1024: 48, 4096: 16}  # grid side -> steps per timed call (multiples of T = 8)
CUDA_FULL = {1024: 512, 4096: 64, 8192: 16}  # ~0.5 G cell-steps a call: milliseconds on a current GPU
CUDA_QUICK = {256: 64, 1024: 16}
BACKENDS = ("cpu", "cuda")
QUICK = {128: 200, 256: 40, 512: 16}
BYTES_PER_CELL_STEP = {"float32": 16, "float64": 32}  # read u, v and write u', v' once


@njit(cache=True, parallel=True)
def _triad(a, b, c, scalar):
    for i in prange(a.shape[0]):
        a[i] = b[i] + scalar * c[i]


def triad_bandwidth(n):
    """Bytes per second of ``a = b + s c`` on float64 arrays of ``n`` elements (24 B per element)."""
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    timing = time_call(lambda: _triad(a, b, c, 3.0), repeat=5)
    return 24 * n / timing["best"]


def _pypde_runner(model, u, v):
    """A py-pde Euler stepper on the same equations, or None when py-pde is not installed."""
    try:
        import pde
    except ImportError:
        return None
    (f0, fu, _, _, fuvv), (_, _, gv, _, guvv) = model.f, model.g
    equations = pde.PDE({"u": f"{model.D_u!r}*laplace(u) + {fuvv!r}*u*v**2 + {f0!r} + {fu!r}*u",
                         "v": f"{model.D_v!r}*laplace(v) + {guvv!r}*u*v**2 + {gv!r}*v"})
    grid = pde.UnitGrid(list(u.shape), periodic=True)
    state = pde.FieldCollection([pde.ScalarField(grid, u.copy()), pde.ScalarField(grid, v.copy())])
    stepper = pde.EulerSolver(equations, backend="numba").make_stepper(state, dt=1.0)
    return lambda steps: stepper(state, 0.0, float(steps))


@register_bench("rd")
def bench_rd(quick, backend="cpu"):
    """Cell-steps per second of every implementation at each grid, as rows of the bench schema.

    ``backend``: ``"cpu"`` (NumPy, numba, py-pde) or ``"cuda"`` (:func:`bench_rd_cuda`).
    """
    if check_choice("backend", backend, BACKENDS) == "cuda":
        return bench_rd_cuda(quick)
    model = gray_scott_preset(PRESET)
    load_before = os.getloadavg()[0]  # a shared machine makes every rate below noisy; the load says how much
    triad_elements = 2**22 if quick else 2**25
    bandwidth_before = triad_bandwidth(triad_elements)
    rows = []
    for side, steps in (QUICK if quick else FULL).items():
        u, v = pearson_seed(np.random.default_rng(0), (side, side), square=0.3, values=(0.0, 0.9))
        case = f"Gray-Scott {PRESET} {side}², {steps} steps"
        pypde = _pypde_runner(model, u, v) if side <= 1024 and (not quick or side == min(QUICK)) else None
        for implementation, dtype, threads, ours, function in _candidates(model, u, v, steps, pypde):
            slow = not ours and side >= 1024  # the NumPy reference and py-pde: a call already lasts seconds
            repeat, min_seconds = (3, 0.05) if quick else ((2, 1.0) if slow else (5, 1.0))
            rows.append(bench_row(case, implementation, time_call(function, repeat=repeat, min_seconds=min_seconds),
                                  ours=ours, threads=threads, dtype=dtype, work=side * side * steps,
                                  work_unit="cell-steps", grid=side, steps=steps))
    # the machine may be shared: the larger of two bandwidth measurements makes the fractions conservative
    bandwidth = max(bandwidth_before, triad_bandwidth(triad_elements))
    for row in rows:
        row["roofline_fraction"] = row["throughput"] * BYTES_PER_CELL_STEP[row["dtype"]] / bandwidth
    notes = {"model": f"Gray-Scott {PRESET} {GRAY_SCOTT_PRESETS[PRESET]}, periodic, dt = 1",
             "triad_bandwidth_bytes_per_s": bandwidth, "triad_bandwidth_first_bytes_per_s": bandwidth_before,
             "bytes_per_cell_step": BYTES_PER_CELL_STEP,
             "steps_per_sweep": {side: steps_per_pass_for(side, 8) for side in (QUICK if quick else FULL)},
             "numba_threads": numba.get_num_threads(), "cpu_count": os.cpu_count(),
             "load_average_1min": [load_before, os.getloadavg()[0]]}
    return {"rows": rows, "notes": notes}


def _candidates(model, u, v, steps, pypde):
    """(implementation, dtype, threads, ours, function) of each implementation timed on these fields."""
    threads = numba.get_num_threads() if u.size >= PARALLEL_FROM_CELLS else 1
    candidates = [("numpy reference", "float64", 1, False,
                   lambda: rd_steps_numpy(model, u, v, 1.0, steps, 1.0, "periodic"))]
    for dtype in (np.float32, np.float64):
        for per_pass in (steps_per_pass_for(u.shape[1], np.dtype(dtype).itemsize), 1):
            candidates.append((f"numba, {per_pass} step(s)/sweep", np.dtype(dtype).name, threads, True,
                               _numba_stepper(model, u.astype(dtype), v.astype(dtype), steps, per_pass)))
    if threads > 1:
        per_pass = steps_per_pass_for(u.shape[1], 8)
        candidates.append((f"numba, {per_pass} step(s)/sweep", "float64", 1, True,
                           _numba_stepper(model, u, v, steps, per_pass, slabs=1)))
    if pypde is not None:
        candidates.append(("py-pde numba", "float64", numba.get_num_threads(), False, lambda: pypde(steps)))
    return candidates


def _numba_stepper(model, u, v, steps, steps_per_pass, slabs=None):
    """``steps`` numba steps from (u, v) into output buffers allocated here, once, outside the timed calls."""
    buffers = sweep_buffers(u)
    return lambda: rd_steps_numba(model, u, v, 1.0, steps, 1.0, "periodic", steps_per_pass=steps_per_pass,
                                  slabs=slabs, buffers=buffers)


def bench_rd_cuda(quick):
    """The numba.cuda twin on the device: rows of the bench schema, timed with CUDA events (one GPU:
    ``threads`` = 1), with the copy-kernel bandwidth of the same run in the notes."""
    from refimpl.core.cuda_kernels import copy_bandwidth, cupy_or_none, device_name, time_device_call
    from refimpl.rd.cuda_kernels import STEPS_PER_LAUNCH, DeviceStepper, max_steps_per_launch

    model, cupy = gray_scott_preset(PRESET), cupy_or_none()
    copy_elements = 2**22 if quick else 2**27  # 1 GiB moved per float64 copy in full mode
    bandwidth = copy_bandwidth(copy_elements)
    repeat, min_seconds = (3, 0.05) if quick else (5, 1.0)
    rows = []
    for side, steps in (CUDA_QUICK if quick else CUDA_FULL).items():
        u, v = pearson_seed(np.random.default_rng(0), (side, side), square=0.3, values=(0.0, 0.9))
        case = f"Gray-Scott {PRESET} {side}², {steps} steps"
        for dtype in (np.float32, np.float64):
            name = np.dtype(dtype).name
            for per_launch in sorted({1, STEPS_PER_LAUNCH, max_steps_per_launch(dtype)}):
                stepper = DeviceStepper(model, u.shape, dtype, 1.0, 1.0, "periodic", per_launch)
                stepper.load(u.astype(dtype), v.astype(dtype))
                timing = time_device_call(lambda: stepper.advance(steps), repeat=repeat, min_seconds=min_seconds)
                rows.append(_cuda_row(case, f"numba.cuda, {per_launch} step(s)/launch", timing, True, name,
                                      side, steps, bandwidth, steps_per_launch=per_launch))
            if cupy is not None:
                advance = _cupy_stepper(cupy, model, u.astype(dtype), v.astype(dtype))
                timing = time_device_call(lambda: advance(steps), repeat=repeat, min_seconds=min_seconds)
                rows.append(_cuda_row(case, "cupy element-wise", timing, False, name, side, steps, bandwidth))
    notes = {"model": f"Gray-Scott {PRESET} {GRAY_SCOTT_PRESETS[PRESET]}, periodic, dt = 1", "device": device_name(),
             "copy_bandwidth_bytes_per_s": bandwidth, "bytes_per_cell_step": BYTES_PER_CELL_STEP,
             "global_bytes_per_cell_step_with_T_steps_per_launch": "bytes_per_cell_step / T",
             "steps_per_launch": "1, the default T and the largest T <= 8 whose tile fits in 48 KiB",
             "cupy": cupy.__version__ if cupy is not None else None,
             "timing": "CUDA events around the launches of one call, fields resident on the device"}
    return {"rows": rows, "notes": notes}


def _cuda_row(case, implementation, timing, ours, dtype, side, steps, bandwidth, **extra):
    row = bench_row(case, implementation, timing, ours=ours, threads=1, dtype=dtype, work=side * side * steps,
                    work_unit="cell-steps", grid=side, steps=steps, **extra)
    row["roofline_fraction"] = row["throughput"] * BYTES_PER_CELL_STEP[dtype] / bandwidth
    return row


def _cupy_stepper(cupy, model, u, v):
    """CuPy reference: the same Euler update as array expressions (``cupy.roll`` for the periodic
    neighbours), each operation one element-wise CuPy kernel; returns ``advance(steps) -> (u, v)``, which continues
    from where the last call stopped."""
    fields = [cupy.asarray(u), cupy.asarray(v)]
    dtype = u.dtype.type
    (f0, fu, fv, fuuv, fuvv), (g0, gu, gv, guuv, guvv) = (tuple(map(dtype, row)) for row in model.coefficients)
    d_u, d_v, dt = dtype(model.D_u), dtype(model.D_v), dtype(1.0)

    def laplacian(a):
        return (cupy.roll(a, 1, 0) + cupy.roll(a, -1, 0) + cupy.roll(a, 1, 1) + cupy.roll(a, -1, 1)
                - dtype(4) * a)

    def advance(steps):
        u, v = fields
        for _ in range(steps):
            uv = u * v
            u, v = (u + d_u * dt * laplacian(u) + dt * (f0 + fu * u + fv * v + (fuuv * u + fuvv * v) * uv),
                    v + d_v * dt * laplacian(v) + dt * (g0 + gu * u + gv * v + (guuv * u + guvv * v) * uv))
        fields[:] = u, v
        return u, v

    return advance
