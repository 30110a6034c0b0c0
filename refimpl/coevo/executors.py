"""Executors: who runs the cells of one iteration. One interface, the same numbers.

An executor is a context manager with two methods::

    with make_executor("dask", n_workers=2) as executor:
        shared = executor.share(data)              # sent once; the handle goes into every task
        states = executor.step(iteration, states, neighbourhoods, shared_data, shared_scorer, settings, seed)

``serial`` runs :func:`~refimpl.coevo.algorithm.cell_step` cell after cell in this process: the reference.
``dask`` (Dask distributed) runs the cells as tasks: by default on a ``LocalCluster`` the executor starts (one
worker process per core, one thread each), or on the cluster whose scheduler is at ``scheduler``::

    dask scheduler                                   # on one machine: prints tcp://HOST:8786
    dask worker tcp://HOST:8786 --nthreads 1 --nworkers 2   # on each machine, one process per core

Every worker needs refimpl importable and the same NumPy/BLAS build as the client, or sums may round
differently. Each iteration the states of the previous one are scattered to every worker and the new states
gathered back; states travel as NumPy arrays in Dask's own serialisation, never as pickled models. A lost
worker loses no input: Dask reruns its tasks on a replica, and if scattered data was lost with it (a worker
killed while data was being sent) the executor sends the iteration's inputs again and reruns it, up to
``retries`` times. Since the tasks are pure, either way the results are the same. The cluster is closed on
every exit path.
"""

import os
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


def check_iteration_inputs(iteration, states, neighbourhoods, scorer, settings, seed):
    """The checks of one iteration of the grid, made once by an executor before it runs the cells."""
    check_settings(settings)
    cells = settings.grid_side ** 2
    if not isinstance(states, (list, tuple)) or len(states) != cells:
        raise ValueError(f"states must hold the {cells} states of the {settings.grid_side}×{settings.grid_side} grid; "
                         f"got {len(states) if isinstance(states, (list, tuple)) else type(states).__name__}")
    check_states(states, settings)
    if not isinstance(neighbourhoods, (list, tuple)) or len(neighbourhoods) != cells or not all(
            isinstance(n, (list, tuple)) and n and n[0] == cell and all(isinstance(j, int) and 0 <= j < cells for j in n)
            for cell, n in enumerate(neighbourhoods)):
        raise ValueError(f"neighbourhoods must hold, for each of the {cells} cells, a tuple of cell indices starting "
                         f"with the cell itself (grid.neighbourhoods(side)); got {neighbourhoods!r:.80}")
    check_int("iteration", iteration, minimum=1)
    check_int("seed", seed, minimum=0)
    if scorer is not None and not callable(scorer) and not hasattr(scorer, "key"):
        raise TypeError(f"scorer must be a callable images -> float, or None; got {type(scorer).__name__}")


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
    retries : int, times an iteration is sent again after its inputs were lost with a worker
    """

    name = "dask"

    def __init__(self, scheduler=None, n_workers=None, timeout=10.0, retries=3):
        self.scheduler = check_scheduler(scheduler)
        self.requested_workers = None if n_workers is None else check_int("n_workers", n_workers, minimum=1)
        self.timeout = check_positive("timeout", timeout)
        self.retries = check_int("retries", retries, minimum=0)
        self.client = self.cluster = None
        self._shared = {}  # key of the first future -> [value, current future]
        self.bytes_moved = 0

    def __enter__(self):
        try:
            from distributed import Client, LocalCluster
        except ImportError as error:
            raise ImportError("executor='dask' needs Dask distributed: pip install 'refimpl[distributed]'") from error
        try:
            if self.scheduler is None:
                self.cluster = LocalCluster(n_workers=self.requested_workers or os.cpu_count() or 1,
                                            threads_per_worker=1, processes=True, dashboard_address=":0",
                                            silence_logs=40)
            self.client = Client(self.cluster or self.scheduler, timeout=f"{self.timeout}s", set_as_default=False)
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
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    def share(self, value):
        """Scatter ``value`` to every worker once; returns the future that tasks take as an argument."""
        future = self._scatter(value)
        self._shared[future.key] = [value, future]
        return future

    def _scatter(self, value):
        self.bytes_moved += state_bytes(value) * self.n_workers
        return self.client.scatter(value, broadcast=True, hash=False)

    def step(self, iteration, states, neighbourhoods, data, scorer, settings, seed):
        """New states of every cell after ``iteration``, computed as one Dask task per cell.

        ``data`` and ``scorer`` should be handles from :meth:`share` (sent once); an array given instead is
        checked here and sent with every task.
        """
        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError

        check_iteration_inputs(iteration, states, neighbourhoods, scorer, settings, seed)
        if not hasattr(data, "key"):  # a future from share() was checked by whoever shared it
            data = check_images(data, settings, "data")
        for attempt in range(self.retries + 1):
            try:
                return self._step(iteration, states, neighbourhoods, self._current(data), self._current(scorer),
                                  settings, seed)
            except (CancelledError, KilledWorker, CommClosedError, OSError):  # a worker and its data are gone
                if attempt == self.retries:
                    raise
                time.sleep(0.5 * (attempt + 1))  # the scheduler needs a moment to drop a dead worker from its list
                self.client.wait_for_workers(1, timeout=self.timeout)
                for entry in self._shared.values():  # the shared inputs may have gone with the worker
                    entry[1] = self._scatter(entry[0])

    def _current(self, handle):
        """The live future of a handle returned by :meth:`share` (it is replaced when sent again)."""
        return self._shared[handle.key][1] if getattr(handle, "key", None) in self._shared else handle

    def _step(self, iteration, states, neighbourhoods, data, scorer, settings, seed):
        inputs = self._scatter(list(states))
        token = uuid.uuid4().hex[:8]
        tasks = [self.client.submit(_cell_step, cell, iteration, [inputs[j] for j in neighbours], data, scorer,
                                    settings, seed, key=f"coevo-cell{cell}-iteration{iteration}-{token}")
                 for cell, neighbours in enumerate(neighbourhoods)]
        new_states = self.client.gather(tasks)
        self.bytes_moved += state_bytes(new_states)
        del inputs, tasks
        return new_states


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
