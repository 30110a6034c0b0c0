r"""Benchmark ``rd``: Gray-Scott cell-steps per second against the machine's memory-bandwidth roofline.

Every implementation advances the same Gray-Scott "mitosis" fields (periodic, dt = 1) by the same number of
steps on the same grid, in one run; a row's ``case`` names the grid and the steps of one timed call, its
``work`` the cell-steps of that call. Rows:

- ``"numpy reference"`` (float64, one thread, ``ours=False``): the readable twin, the baseline of the numba
  speed-up (it allocates its temporaries per step: that is the reference algorithm);
- ``"numba, T step(s)/sweep"`` (float32 and float64, all numba threads): temporal blocking with
  T = :data:`~refimpl.rd.kernels.STEPS_PER_PASS`, and one step per sweep for comparison; output buffers
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
"""

import os

import numba
import numpy as np
from numba import njit, prange

from refimpl.bench import bench_row, register_bench, time_call
from refimpl.rd.kernels import PARALLEL_FROM_CELLS, STEPS_PER_PASS, rd_steps_numba, rd_steps_numpy
from refimpl.rd.model import GRAY_SCOTT_PRESETS, gray_scott_preset, pearson_seed

PRESET = "mitosis"
FULL = {256: 400, 1024: 40, 4096: 8}  # grid side -> steps per timed call
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
def bench_rd(quick):
    """Cell-steps per second of every implementation at each grid, as rows of the bench schema."""
    model = gray_scott_preset(PRESET)
    load_before = os.getloadavg()[0]  # a shared machine makes every rate below noisy; the load says how much
    triad_elements = 2**22 if quick else 2**25
    bandwidth_before = triad_bandwidth(triad_elements)
    rows = []
    for side, steps in (QUICK if quick else FULL).items():
        u, v = pearson_seed(np.random.default_rng(0), (side, side), square=0.3, values=(0.0, 0.9))
        case = f"Gray-Scott {PRESET} {side}², {steps} steps"
        pypde = _pypde_runner(model, u, v) if not quick or side == min(QUICK) else None
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
             "bytes_per_cell_step": BYTES_PER_CELL_STEP, "steps_per_sweep": STEPS_PER_PASS,
             "numba_threads": numba.get_num_threads(), "cpu_count": os.cpu_count(),
             "load_average_1min": [load_before, os.getloadavg()[0]]}
    return {"rows": rows, "notes": notes}


def _candidates(model, u, v, steps, pypde):
    """(implementation, dtype, threads, ours, function) of each implementation timed on these fields."""
    threads = numba.get_num_threads() if u.size >= PARALLEL_FROM_CELLS else 1
    candidates = [("numpy reference", "float64", 1, False,
                   lambda: rd_steps_numpy(model, u, v, 1.0, steps, 1.0, "periodic"))]
    for dtype in (np.float32, np.float64):
        for per_pass in (STEPS_PER_PASS, 1):
            candidates.append((f"numba, {per_pass} step(s)/sweep", np.dtype(dtype).name, threads, True,
                               _numba_stepper(model, u.astype(dtype), v.astype(dtype), steps, per_pass)))
    if threads > 1:
        candidates.append((f"numba, {STEPS_PER_PASS} step(s)/sweep", "float64", 1, True,
                           _numba_stepper(model, u, v, steps, STEPS_PER_PASS, slabs=1)))
    if pypde is not None:
        candidates.append(("py-pde numba", "float64", numba.get_num_threads(), False, lambda: pypde(steps)))
    return candidates


def _numba_stepper(model, u, v, steps, steps_per_pass, slabs=None):
    """``steps`` numba steps from (u, v) into output buffers allocated here, once, outside the timed calls."""
    buffers = [(np.empty_like(u), np.empty_like(v)) for _ in range(2)]
    return lambda: rd_steps_numba(model, u, v, 1.0, steps, 1.0, "periodic", steps_per_pass=steps_per_pass,
                                  slabs=slabs, buffers=buffers)
