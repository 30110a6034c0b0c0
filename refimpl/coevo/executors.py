"""Executors: who runs the cells of one iteration. One interface, the same numbers.

An executor is a context manager; the grid's states live wherever it keeps them, behind *handles*::

    with make_executor("dask", n_workers=2) as executor:
        data, scorer = executor.share(images), executor.share(score)   # sent once to every worker
        cells = executor.put(states)                                   # each cell's state sent to one worker
        for iteration in range(1, n + 1):
            cells = executor.step(iteration, cells, neighbourhoods, data, scorer, settings, seed)
            rows = executor.summaries(cells)       # numbers only: fitness, learning rates, mixture
        states = executor.fetch(cells)             # the whole states, back here

``serial`` runs :func:`~refimpl.coevo.algorithm.cell_step` cell after cell in this process: the reference
(its handles are the states themselves). ``dask`` (Dask distributed) runs the cells as tasks: by default on a
``LocalCluster`` the executor starts (one worker process per core, one thread each, no work stealing, no
sampling profiler), or on the cluster whose scheduler is at ``scheduler``::

    dask scheduler                                   # on one machine: prints tcp://HOST:8786
    dask worker tcp://HOST:8786 --nthreads 1 --nworkers 2   # on each machine, one process per core

Every worker needs refimpl importable and the same NumPy/BLAS build as the client, or sums may round
differently. A cell's state stays on the worker that computed it (cell c of C on worker ⌊c·W/C⌋ of W); a
neighbour reads only what the algorithm reads of it (the networks' parameters, without the Adam moments, unless
tournament selection may copy a whole individual), fetched by Dask from worker to worker as a future's result;
the client receives the numbers of :func:`summary` per cell and iteration. States travel as NumPy arrays in
Dask's own serialisation, never as pickled models. The client keeps the last states it holds (from
:meth:`DaskExecutor.put` or :meth:`DaskExecutor.fetch`, at least every ``sync_every`` iterations): if a worker dies
and its states with it, the executor sends the shared inputs and those states again and recomputes the
iterations since, up to ``retries`` times. Since the tasks are pure, the results are the same. The cluster is
closed on every exit path.
"""

import ctypes
import functools
import os
import sys
import time
import uuid
from concurrent.futures import CancelledError

import numpy as np

from refimpl.coevo.algorithm import _cell_step, check_images, check_settings, check_states, check_step_inputs
from refimpl.core.validate import check_choice, check_int, check_positive

__all__ = ["SerialExecutor", "DaskExecutor", "make_executor"]

EXECUTORS = ("serial", "dask")
PROTOCOLS = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
"""The address schemes of Dask distributed's communication back-ends."""


def check_scheduler(scheduler):
    """``scheduler`` if it is None or an address ``"PROTOCOL://HOST[:PORT]"``, else raise naming it."""
    if scheduler is None:
        return None
    if isinstance(scheduler, str):
        protocol, separator, location = scheduler.partition("://")
        host, colon, port = location.rpartition(":") if ":" in location else (location, "", "")
        if separator and protocol in PROTOCOLS and host and not host.isspace() and (not colon or port.isdigit()):
            return scheduler
    raise ValueError(f"scheduler must be an address like 'tcp://HOST:8786' (protocol one of {', '.join(PROTOCOLS)}); "
                     f"got {scheduler!r}")


def check_iteration_inputs(iteration, states, neighbourhoods, scorer, settings, seed, states_checked=False):
    """The checks of one iteration of the grid, made once by an executor before it runs the cells (the arrays of
    ``states`` only unless ``states_checked``: states the executor computed itself)."""
    check_settings(settings)
    cells = settings.grid_side ** 2
    if not isinstance(states, (list, tuple)) or len(states) != cells:
        raise ValueError(f"states must hold the {cells} states of the {settings.grid_side}×{settings.grid_side} grid; "
                         f"got {len(states) if isinstance(states, (list, tuple)) else type(states).__name__}")
    if not states_checked:
        check_states(states, settings)
    if not isinstance(neighbourhoods, (list, tuple)) or len(neighbourhoods) != cells or not all(
            isinstance(n, (list, tuple)) and n and n[0] == cell and all(isinstance(j, int) and 0 <= j < cells for j in n)
            for cell, n in enumerate(neighbourhoods)):
        raise ValueError(f"neighbourhoods must hold, for each of the {cells} cells, a tuple of cell indices starting "
                         f"with the cell itself (grid.neighbourhoods(side)); got {neighbourhoods!r:.80}")
    check_int("iteration", iteration, minimum=1)
    check_int("seed", seed, minimum=0)
    check_scorer(scorer)


def check_scorer(scorer):
    """``scorer`` if it is None, a callable or a handle from ``share``, else raise naming it."""
    if scorer is not None and not callable(scorer) and not hasattr(scorer, "key"):
        raise TypeError(f"scorer must be a callable images -> float, or None; got {type(scorer).__name__}")
    return scorer


def summary(state):
    """The numbers of a cell state the history records, in the state's own layout, without any array of the
    networks or their optimisers: ``cell``, ``iteration``, ``mixture_weights``, ``mixture_score`` and, for the
    generator and the discriminator, ``fitness`` and ``optimiser["lr"]``."""
    light = {key: state[key] for key in ("cell", "iteration", "mixture_weights", "mixture_score")}
    for role in ("generator", "discriminator"):
        light[role] = {"fitness": state[role]["fitness"], "optimiser": {"lr": state[role]["optimiser"]["lr"]}}
    return light


def exchanged(state, whole):
    """What a neighbour reads of a cell state: all of it if ``whole`` (tournament selection copies whole
    individuals, Adam moments included), else the networks' parameters only."""
    if whole:
        return state
    return {**state, **{role: {"params": state[role]["params"]} for role in ("generator", "discriminator")}}


def state_bytes(tree):
    """Bytes of the arrays in a nested dict (what moving it costs)."""
    if isinstance(tree, dict):
        return sum(state_bytes(value) for value in tree.values())
    if isinstance(tree, (list, tuple)):
        return sum(state_bytes(value) for value in tree)
    return np.asarray(tree).nbytes


class SerialExecutor:
    """The deterministic reference: every cell in turn, in this process."""

    name = "serial"
    n_workers = 1

    def __init__(self):
        self.bytes_moved = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def share(self, value):
        """A handle to ``value`` for the tasks: here the value itself."""
        return value

    def put(self, states):
        """Handles to the cell states: here the states themselves."""
        return list(states)

    def fetch(self, handles):
        """The cell states of ``handles``: here the handles themselves."""
        return list(handles)

    def summaries(self, handles):
        """:func:`summary` of every cell."""
        return [summary(state) for state in handles]

    def step(self, iteration, states, neighbourhoods, data, scorer, settings, seed):
        """New states of every cell after ``iteration``, each from its neighbourhood's ``states``.

        The inputs are checked once here, as :func:`~refimpl.coevo.algorithm.cell_step` checks them.
        """
        data = check_step_inputs(iteration, data, scorer, settings, seed)
        check_iteration_inputs(iteration, states, neighbourhoods, scorer, settings, seed)
        return [_cell_step(cell, iteration, [states[j] for j in neighbours], data, scorer, settings, seed)
                for cell, neighbours in enumerate(neighbourhoods)]


class DaskExecutor:
    """Cells as Dask tasks, on a ``LocalCluster`` started here or on the cluster at ``scheduler``.

    Parameters
    ----------
    scheduler : str, optional, address ``"tcp://HOST:PORT"`` of a running scheduler
    n_workers : int, optional, worker processes of the local cluster (default: one per core)
    timeout : float, seconds to wait for the scheduler before giving up with ``ConnectionError``
    retries : int, times the executor recovers from lost states before it gives up
    sync_every : int, most iterations between two copies of the states on the client (what a lost worker costs)

    Attributes
    ----------
    bytes_moved : int, bytes the client sent to the workers (a shared value once per worker) plus the bytes the
        workers sent to each other and to the client, from Dask's own counters (on a shared cluster, other
        clients' transfers count too)
    """

    name = "dask"

    def __init__(self, scheduler=None, n_workers=None, timeout=10.0, retries=3, sync_every=10):
        self.scheduler = check_scheduler(scheduler)
        self.requested_workers = None if n_workers is None else check_int("n_workers", n_workers, minimum=1)
        self.timeout = check_positive("timeout", timeout)
        self.retries = check_int("retries", retries, minimum=0)
        self.sync_every = check_int("sync_every", sync_every, minimum=1)
        self.client = self.cluster = None
        self._shared = {}  # key of the first future -> [value, current future]
        self._base, self._base_checked = None, False  # the last states held here, from put or fetch
        self._sent = 0
        self._sent_by_workers = {}

    def __enter__(self):
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as error:
            raise ImportError("executor='dask' needs Dask distributed: pip install 'refimpl[distributed]'") from error
        try:
            if self.scheduler is None:
                # cells stay where they live; no sampling profiler taking the GIL from the cells every 10 ms
                with dask.config.set({"distributed.scheduler.work-stealing": False,
                                      "distributed.worker.profile.enabled": False}):
                    self.cluster = LocalCluster(n_workers=self.requested_workers or os.cpu_count() or 1,
                                                threads_per_worker=1, processes=True, dashboard_address=":0",
                                                silence_logs=40)
            self.client = Client(self.cluster or self.scheduler, timeout=f"{self.timeout}s", set_as_default=False)
            self._sent_by_workers = self._worker_counters()
        except (OSError, TimeoutError) as error:
            self.close()
            raise ConnectionError(f"scheduler={self.scheduler!r} did not answer within {self.timeout:g} s ({error}); "
                                  "start one with `dask scheduler` and workers with `dask worker ADDRESS`, "
                                  "or leave scheduler unset for a local cluster") from error
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def close(self):
        """Close the client and, if this executor started it, the local cluster."""
        for resource in (self.client, self.cluster):
            if resource is not None:
                resource.close()
        self.client = self.cluster = None

    @property
    def n_workers(self):
        return len(self._workers())

    def _workers(self):
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def _worker_counters(self):
        return self.client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total)

    @property
    def bytes_moved(self):
        if self.client is None:
            return self._sent
        counters = self._worker_counters()  # a worker that died took its count with it
        return self._sent + sum(max(0, n - self._sent_by_workers.get(w, 0)) for w, n in counters.items())

    def share(self, value):
        """Scatter ``value`` to every worker once; returns the future that tasks take as an argument."""
        future = self._broadcast(value)
        self._shared[future.key] = [value, future]
        return future

    def _broadcast(self, value):
        self._sent += state_bytes(value) * self.n_workers
        return self.client.scatter([value], broadcast=True, hash=False)[0]  # in a list: a dict is not split up

    def put(self, states):
        """Send each cell's state to the worker of its cell; returns the handles :meth:`step` takes.

        The states are kept here as the point to recompute from (:meth:`step` checks them against its settings).
        """
        if not isinstance(states, (list, tuple)) or not states or not all(isinstance(s, dict) for s in states):
            raise TypeError(f"states must be a non-empty list of cell states; got {type(states).__name__}")
        self._base, self._base_checked = list(states), False
        return self._put(self._base)

    def _put(self, states):
        workers = self._placement(len(states))
        self._sent += state_bytes(states)
        futures = [self.client.scatter([state], workers=[worker], hash=False)[0]  # a dict would be scattered by key
                   for state, worker in zip(states, workers)]
        return [_Cell(future, future, summary(state)) for future, state in zip(futures, states)]

    def _placement(self, cells):
        """The worker of each cell: contiguous blocks of cells per worker, in the scheduler's order."""
        workers = self._workers()
        return [workers[cell * len(workers) // cells] for cell in range(cells)]

    def fetch(self, handles):
        """The cell states of ``handles``, gathered here (and kept as the point to recompute from)."""
        _check_handles(handles)
        self._base = self.client.gather([cell.state for cell in handles])  # computed here: no need to check
        return list(self._base)

    def summaries(self, handles):
        """:func:`summary` of every cell (already on the client: no transfer)."""
        return [cell.summary for cell in _check_handles(handles)]

    def step(self, iteration, handles, neighbourhoods, data, scorer, settings, seed):
        """Handles to every cell's state after ``iteration``, computed as one Dask task per cell.

        ``handles`` come from :meth:`put` or the previous :meth:`step`; ``data`` and ``scorer`` should be handles
        from :meth:`share` (sent once); an array given instead is checked here and sent with every task.
        """
        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError

        check_settings(settings)
        _check_handles(handles, settings.grid_side ** 2)
        check_iteration_inputs(iteration, self._base, neighbourhoods, scorer, settings, seed, self._base_checked)
        self._base_checked = True  # the states put here, once; those of later iterations come from the tasks
        if not hasattr(data, "key"):  # a future from share() was checked by whoever shared it
            data = check_images(data, settings, "data")
        arguments = (neighbourhoods, data, scorer, settings, seed)
        for attempt in range(self.retries + 1):
            try:
                if attempt:
                    handles = self._recompute(iteration - 1, *arguments)
                handles = self._step(iteration, handles, *arguments)
                if iteration - self._base[0]["iteration"] >= self.sync_every:
                    self.fetch(handles)
                return handles
            except (CancelledError, KilledWorker, CommClosedError, OSError):  # a worker and its data are gone
                if attempt == self.retries:
                    raise
                time.sleep(0.5 * (attempt + 1))  # the scheduler needs a moment to drop a dead worker from its list
                self.client.wait_for_workers(1, timeout=self.timeout)
                for entry in self._shared.values():  # the shared inputs may have gone with the worker
                    entry[1] = self._broadcast(entry[0])

    def _recompute(self, iteration, *arguments):
        """Handles to the states of ``iteration``, recomputed from the last states held here."""
        handles = self._put(self._base)
        for past in range(self._base[0]["iteration"] + 1, iteration + 1):
            handles = self._step(past, handles, *arguments)
        return handles

    def _current(self, handle):
        """The live future of a handle returned by :meth:`share` (it is replaced when sent again)."""
        return self._shared[handle.key][1] if getattr(handle, "key", None) in self._shared else handle

    def _step(self, iteration, handles, neighbourhoods, data, scorer, settings, seed):
        data, scorer, token = self._current(data), self._current(scorer), uuid.uuid4().hex[:8]
        cells = []
        for cell, (neighbours, worker) in enumerate(zip(neighbourhoods, self._placement(len(handles)))):
            placed = dict(workers=[worker], allow_other_workers=True)
            state = self.client.submit(_remote_cell_step, cell, iteration, handles[cell].state,
                                       [handles[j].exchanged for j in neighbours[1:]], data, scorer, settings, seed,
                                       key=f"coevo-cell{cell}-iteration{iteration}-{token}", **placed)
            shown = state if settings.enable_selection else self.client.submit(
                exchanged, state, False, key=f"coevo-exchanged{cell}-iteration{iteration}-{token}", **placed)
            cells.append((state, shown, self.client.submit(summary, state, key=f"coevo-summary{cell}-"
                                                           f"iteration{iteration}-{token}", **placed)))
        summaries = self.client.gather([light for _, _, light in cells])
        return [_Cell(state, shown, light) for (state, shown, _), light in zip(cells, summaries)]


class _Cell:
    """A Dask handle to one cell: the future of its state, of what its neighbours read, and its summary."""

    __slots__ = ("state", "exchanged", "summary")

    def __init__(self, state, exchanged, summary):
        self.state, self.exchanged, self.summary = state, exchanged, summary


def _check_handles(handles, cells=None):
    if not isinstance(handles, (list, tuple)) or not all(isinstance(h, _Cell) for h in handles) or (
            cells is not None and len(handles) != cells):
        expected = "handles" if cells is None else f"the {cells} handles"
        raise TypeError(f"handles must be {expected} returned by DaskExecutor.put or step; got "
                        f"{type(handles).__name__}")
    return handles


def _remote_cell_step(cell, iteration, own, neighbours, data, scorer, settings, seed):
    """:func:`~refimpl.coevo.algorithm._cell_step` on a worker: the cell's own state and its neighbours' parts."""
    _reuse_freed_memory()
    return _cell_step(cell, iteration, [own, *neighbours], data, scorer, settings, seed)


MALLOC_MMAP_THRESHOLD = 32 << 20
MALLOC_TRIM_THRESHOLD = 128 << 20


@functools.cache
def _reuse_freed_memory():
    """Let glibc's malloc keep freed memory for the next temporaries, once per worker process.

    A Dask nanny starts its worker with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes the threshold above
    which malloc maps fresh pages: every (100, 784) temporary of a cell step then costs new zeroed pages (about
    50 000 page faults and +50 % CPU time per cell-iteration, measured). This restores thresholds of 32 MiB
    (mmap) and 128 MiB (trim); elsewhere (another C library, no such variable) it does nothing.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    return bool(libc.mallopt(m_mmap_threshold, MALLOC_MMAP_THRESHOLD) and
                libc.mallopt(m_trim_threshold, MALLOC_TRIM_THRESHOLD))


def make_executor(executor, *, scheduler=None, n_workers=None, timeout=10.0):
    """The executor called ``executor`` (``"serial"`` or ``"dask"``); ``scheduler``, ``n_workers`` and ``timeout``
    are Dask's (checked for either)."""
    check_choice("executor", executor, EXECUTORS)
    check_scheduler(scheduler)
    if n_workers is not None:
        check_int("n_workers", n_workers, minimum=1)
    check_positive("timeout", timeout)
    if executor == "serial":
        if scheduler is not None:
            raise ValueError(f"scheduler={scheduler!r} needs executor='dask'; got executor='serial'")
        return SerialExecutor()
    return DaskExecutor(scheduler=scheduler, n_workers=n_workers, timeout=timeout)
