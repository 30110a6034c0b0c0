r"""Benchmark ``rd``: Gray-Scott cell-steps per second against the machine's memory-bandwidth roofline.

Every implementation advances the same Gray-Scott "mitosis" fields (periodic, dt = 1) by the same number of
steps on the same grid, in one run: NumPy (the reference twin), numba float32 and float64 (temporal
blocking, :data:`~refimpl.rd.kernels.STEPS_PER_PASS` steps per sweep, and one step per sweep for
comparison), and py-pde's numba backend when py-pde is installed (imported here only; compile time
reported apart from the steady state).

The roofline is that of a fused one-pass step, which must read u, v and write u', v' once:

.. math:: \text{roofline} = B / b, \qquad b = 4 \times \text{itemsize} = 16 \text{ B (float32)}, 32 \text{ B (float64)},

with :math:`B` the bandwidth of a STREAM-triad-like kernel (:math:`a_i = b_i + s c_i`, counted as
24 B per element in float64, write-allocate traffic not counted, as STREAM does) measured in the same
run. A temporally blocked sweep moves these bytes once per T steps, so its fraction can exceed 1.
"""

import os

import numpy as np
from numba import njit, prange

from refimpl.bench import register_bench, time_call
from refimpl.rd.kernels import STEPS_PER_PASS, rd_steps_numba, rd_steps_numpy
from refimpl.rd.model import GRAY_SCOTT_PRESETS, gray_scott_preset, pearson_seed

PRESET = "mitosis"
FULL = {256: 400, 1024: 40, 4096: 8}  # grid side -> steps per timed call
QUICK = {128: 200, 256: 40, 512: 16}


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
    """Cell-steps per second of every implementation at each grid; ratios at the largest grid."""
    model = gray_scott_preset(PRESET)
    load_before = os.getloadavg()[0]  # a shared machine makes every rate below noisy; the load says how much
    triad_elements = 2**22 if quick else 2**25
    bandwidth_before = triad_bandwidth(triad_elements)
    bytes_per_cell_step = {"float32": 16, "float64": 32}
    rows = []
    for side, steps in (QUICK if quick else FULL).items():
        u, v = pearson_seed(np.random.default_rng(0), (side, side), square=0.3, values=(0.0, 0.9))
        candidates = [("numpy", "float64", lambda: rd_steps_numpy(model, u, v, 1.0, steps, 1.0, "periodic"))]
        for dtype in (np.float32, np.float64):
            u_t, v_t = u.astype(dtype), v.astype(dtype)
            for per_pass in (STEPS_PER_PASS, 1):
                candidates.append((f"numba, {per_pass} step(s)/sweep", np.dtype(dtype).name,
                                   lambda u_t=u_t, v_t=v_t, per_pass=per_pass: rd_steps_numba(
                                       model, u_t, v_t, 1.0, steps, 1.0, "periodic", steps_per_pass=per_pass)))
        if not quick or side == min(QUICK):
            pypde = _pypde_runner(model, u, v)
            if pypde is not None:
                candidates.append(("py-pde numba", "float64", lambda: pypde(steps)))
        for name, dtype, function in candidates:
            slow = name.startswith(("numpy", "py-pde")) and side >= 1024
            timing = time_call(function, repeat=2 if slow else 5, min_seconds=0.0 if slow else 0.2)
            rate = side * side * steps / timing["best"]
            rows.append({"grid": f"{side}²", "implementation": name, "dtype": dtype, "steps": steps,
                         "first_call_s": timing["first"], "best_s": timing["best"], "cell_steps_per_s": rate,
                         "bytes_moved_per_s": rate * bytes_per_cell_step[dtype]})
    # the machine may be shared: the larger of two bandwidth measurements makes the fractions conservative
    bandwidth = max(bandwidth_before, triad_bandwidth(triad_elements))
    for row in rows:
        row["roofline_fraction"] = row.pop("bytes_moved_per_s") / bandwidth
    return {"rows": rows, "model": f"Gray-Scott {PRESET} {GRAY_SCOTT_PRESETS[PRESET]}, periodic, dt = 1",
            "triad_bandwidth_bytes_per_s": bandwidth, "triad_bandwidth_first_bytes_per_s": bandwidth_before,
            "bytes_per_cell_step": bytes_per_cell_step, "steps_per_sweep": STEPS_PER_PASS,
            "load_average_1min": [load_before, os.getloadavg()[0]], "cpu_count": os.cpu_count(),
            "ratios": _ratios(rows)}


def _ratios(rows):
    """At the largest grid: blocked numba against NumPy and py-pde, and the roofline fractions."""
    largest = rows[-1]["grid"]
    at = {(row["implementation"], row["dtype"]): row for row in rows if row["grid"] == largest}
    blocked = f"numba, {STEPS_PER_PASS} step(s)/sweep"
    numba64 = at[blocked, "float64"]["cell_steps_per_s"]
    ratios = {"grid": largest, "numba_float64_over_numpy": numba64 / at["numpy", "float64"]["cell_steps_per_s"],
              "numba_float64_roofline_fraction": at[blocked, "float64"]["roofline_fraction"],
              "numba_float32_roofline_fraction": at[blocked, "float32"]["roofline_fraction"],
              "numba_one_step_per_sweep_float64_roofline_fraction": at["numba, 1 step(s)/sweep", "float64"][
                  "roofline_fraction"]}
    if ("py-pde numba", "float64") in at:
        ratios["numba_float64_over_pypde"] = numba64 / at["py-pde numba", "float64"]["cell_steps_per_s"]
    return ratios
