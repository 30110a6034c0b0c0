"""Benchmark ``coevo``: one cell step against torch CPU, and a grid iteration serial against Dask.

- **cell step**: one generator and one discriminator Adam step, batch 100, float32, the paper's networks
  (64-256-256-784 and 784-256-256-1): ours with the numba twins and with the NumPy references, and torch CPU
  doing the same step with the same networks (:mod:`refimpl.crosscheck.coevo_reference`), at 1 thread (and 2
  in full mode). ``max_abs_diff`` compares the parameters after one step from the same start with torch's.
- **grid iteration**: one iteration of a 2×2 Lipizzaner grid, the serial executor against Dask with 1 and 2
  worker processes (one BLAS thread each); ``threads`` is the threads per process, ``workers`` the processes,
  so the harness's ``speedup_vs_serial`` divided by ``workers`` is the scaling efficiency. The cluster is warm
  (started, imports done, numba caches loaded, data and cell states on the workers) before the timed region,
  which times successive iterations, each :meth:`~refimpl.coevo.executors.DaskExecutor.step` from the previous
  one's handles to the new ones (the cells' summaries on the client, the states where they were computed, a copy
  of them on the client every ``sync_every`` iterations). ``bytes_per_iteration`` is the mean over the timed
  iterations, from Dask's counters (the networks' parameters that neighbours on another worker read, the
  summaries, the periodic copies).
"""

import numpy as np
from threadpoolctl import threadpool_limits

from refimpl.bench import bench_row, register_bench, time_call, torch_available
from refimpl.coevo.algorithm import CellSettings, init_cell
from refimpl.coevo.executors import make_executor
from refimpl.coevo.grid import neighbourhoods
from refimpl.coevo.kernels import CellAdam
from refimpl.coevo.losses import _generator_loss
from refimpl.coevo.networks import _discriminator_gradients, _generate, _generator_gradients


@register_bench("coevo")
def bench_coevo(quick):
    """Rows for the cell step (ours numba, ours NumPy, torch) and the grid iteration (serial, Dask 1 and 2)."""
    repeat, min_seconds = (2, 0.2) if quick else (5, 1.0)
    rows = []
    for threads in (1,) if quick else (1, 2):
        rows += _cell_step_rows(threads, repeat, min_seconds)
    rows += _grid_rows(quick, repeat, min_seconds)
    return {"rows": rows, "notes": {"cell_step": "one G + one D Adam step, batch 100, float32, 64-256-256-784 / "
                                    "784-256-256-1", "grid": "scaling efficiency = speedup_vs_serial / workers"}}


def _cell_inputs(rng, settings):
    state = init_cell(0, settings, 0)
    z, z_discriminator = (rng.standard_normal((100, settings.latent_dim)).astype(np.float32) for _ in range(2))
    real = rng.uniform(-1, 1, (100, settings.image_dim)).astype(np.float32)
    return state["generator"]["params"], state["discriminator"]["params"], z, z_discriminator, real


def _our_cell_step(generator, discriminator, z, z_discriminator, real, backend):
    generator, discriminator = ({k: v.copy() for k, v in p.items()} for p in (generator, discriminator))
    g_optimiser, d_optimiser = (CellAdam(2e-4, 0.5, 0.999, backend=backend) for _ in range(2))

    def step():  # what the training loop runs: the unchecked functions (the cell's arrays are checked once)
        _, grads = _generator_gradients(generator, discriminator, z, lambda s: _generator_loss("bce", s), backend)
        g_optimiser._step(generator, grads)
        _, grads = _discriminator_gradients(discriminator, real, _generate(generator, z_discriminator, backend),
                                            backend)
        d_optimiser._step(discriminator, grads)

    return step, lambda: tuple({k: v.copy() for k, v in p.items()} for p in (generator, discriminator))


def _max_abs_diff(ours, theirs):
    return max(float(np.max(np.abs(a[k] - b[k]))) for a, b in zip(ours, theirs) for k in a)


def _cell_step_rows(threads, repeat, min_seconds):
    inputs = _cell_inputs(np.random.default_rng(0), CellSettings())
    case, rows, steps = "cell step (G + D Adam step), batch 100", [], {}
    for backend in ("numba", "numpy"):
        steps[backend] = _our_cell_step(*inputs, backend)
    if torch_available():
        from refimpl.crosscheck import coevo_reference, torch_reference

        steps["torch"] = coevo_reference.gan_cell_step(*inputs)
        torch_reference.set_num_threads(threads)
    after_one_step = {}
    with threadpool_limits(limits=threads, user_api="blas"):
        for name, (step, parameters) in steps.items():  # one step from the same start: do the results agree?
            step()
            after_one_step[name] = parameters()
        for name, (step, _) in steps.items():
            timing = time_call(step, repeat=repeat, min_seconds=min_seconds)
            extra = {} if name == "torch" or "torch" not in steps else {
                "max_abs_diff_vs_torch": _max_abs_diff(after_one_step[name], after_one_step["torch"])}
            rows.append(bench_row(case, "torch CPU" if name == "torch" else f"ours {name}", timing,
                                  ours=name != "torch", threads=threads, dtype="float32", **extra))
    return rows


def _grid_rows(quick, repeat, min_seconds):
    settings = CellSettings(grid_side=2, hidden=64 if quick else 256, n_batches=10 if quick else 50,
                            fitness_samples=200, score_samples=200, enable_selection=False)
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (2000, settings.image_dim)).astype(np.float32)
    states = [init_cell(c, settings, 0) for c in range(4)]
    grid, case, rows = neighbourhoods(2), f"2×2 grid iteration, hidden {settings.hidden}, {settings.n_batches} batches", []
    for name, workers in (("serial", 1), ("dask", 1), ("dask", 2)):
        with make_executor(name, n_workers=workers if name == "dask" else None) as engine:
            grid_run = _GridSteps(engine, states, grid, (engine.share(images), engine.share(None)), settings)
            grid_run()  # warms the workers (imports, numba caches) and puts every cell where it lives
            before, iterations = engine.bytes_moved, grid_run.iteration
            timing = time_call(grid_run, repeat=repeat, min_seconds=min_seconds)
            moved = (engine.bytes_moved - before) / (grid_run.iteration - iterations)
            rows.append(bench_row(case, "serial" if name == "serial" else f"dask {workers} worker(s)", timing,
                                  ours=name == "dask", threads=1, dtype="float32", workers=workers,
                                  bytes_per_iteration=moved))
    return rows


class _GridSteps:
    """One call, one more iteration of the grid, from the handles the previous call left (a warm run)."""

    def __init__(self, engine, states, grid, shared, settings):
        self.engine, self.grid, self.shared, self.settings = engine, grid, shared, settings
        self.cells, self.iteration = engine.put(states), 0

    def __call__(self):
        self.iteration += 1
        self.cells = self.engine.step(self.iteration, self.cells, self.grid, *self.shared, self.settings, 0)
