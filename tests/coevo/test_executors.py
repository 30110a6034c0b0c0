"""Serial and Dask executors give bit-identical grids; checkpoints are atomic and a resumed run ends where an
uninterrupted one does; a scheduler that does not answer is reported in time; a killed worker changes nothing."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from refimpl.coevo.checkpoint import load_checkpoint, save_checkpoint
from refimpl.coevo.training import fingerprint, train_grid
from tests.coevo.conftest import assert_same_state, replace

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """A real LocalCluster: two worker processes, one thread each."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as local:
        yield local


def _assert_same_run(a, b):
    assert_same_state(a.states, b.states)
    assert sorted(a.history) == sorted(b.history)
    for name in a.history:
        np.testing.assert_array_equal(a.history[name], b.history[name], err_msg=name)


def test_serial_and_dask_give_bit_identical_grids(tiny, images, scorer, cluster):
    serial = train_grid(tiny, images, iterations=2, seed=11, scorer=scorer)
    dask = train_grid(tiny, images, iterations=2, seed=11, scorer=scorer, executor="dask",
                      scheduler=cluster.scheduler_address)
    assert (serial.executor, dask.executor, dask.n_workers) == ("serial", "dask", 2)
    _assert_same_run(serial, dask)
    assert dask.bytes_moved > 0 and serial.bytes_moved == 0


def test_dask_starts_and_closes_its_own_local_cluster(tiny, images):
    settings = replace(tiny, grid_side=1, method="egan")
    serial = train_grid(settings, images, iterations=1, seed=2)
    dask = train_grid(settings, images, iterations=1, seed=2, executor="dask", n_workers=1)
    _assert_same_run(serial, dask)
    assert dask.n_workers == 1


def test_unreachable_scheduler_is_reported_within_the_timeout_and_nothing_is_written(tiny, images, tmp_path):
    checkpoint = tmp_path / "grid.npz"
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"scheduler='tcp://127.0.0.1:9' did not answer within 1 s"):
        train_grid(tiny, images, iterations=2, executor="dask", scheduler="tcp://127.0.0.1:9", timeout=1,
                   checkpoint=checkpoint)
    assert time.perf_counter() - start < 20
    assert list(tmp_path.iterdir()) == []


def test_a_stopped_and_resumed_run_ends_like_an_uninterrupted_one(tiny, images, scorer, tmp_path):
    settings = replace(tiny, enable_selection=False, generator_loss="mustangs")
    uninterrupted = train_grid(settings, images, iterations=3, seed=4, scorer=scorer)
    checkpoint = tmp_path / "grid.npz"

    def stop_after_two(iteration, states):
        if iteration == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_grid(settings, images, iterations=3, seed=4, scorer=scorer, checkpoint=checkpoint,
                   callback=stop_after_two)
    resumed = train_grid(settings, images, iterations=3, seed=4, scorer=scorer, checkpoint=checkpoint, resume=True)
    _assert_same_run(uninterrupted, resumed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.npz"]  # no temporary files left


def test_checkpoint_every_k_iterations_and_at_the_end(tiny, images, tmp_path):
    seen = []
    checkpoint = tmp_path / "grid.npz"

    def iteration_on_disk(iteration, states):
        on_disk = load_checkpoint(checkpoint, fingerprint(tiny, 0, images))[0] if checkpoint.exists() else None
        seen.append(on_disk and on_disk[0]["iteration"])

    train_grid(tiny, images, iterations=3, checkpoint=checkpoint, checkpoint_every=2, callback=iteration_on_disk)
    assert seen == [None, 2, 3]


def test_bad_checkpoints_are_named(tiny, images, tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="corrupt.npz is corrupt"):
        train_grid(tiny, images, iterations=2, checkpoint=corrupt, resume=True)
    other = tmp_path / "other.npz"
    save_checkpoint(other, [], {}, fingerprint(replace(tiny, hidden=4), 0, images))
    with pytest.raises(ValueError, match="other settings, seed or data"):
        train_grid(tiny, images, iterations=2, checkpoint=other, resume=True)
    with pytest.raises(FileNotFoundError, match="missing.npz does not exist"):
        train_grid(tiny, images, iterations=2, checkpoint=tmp_path / "missing.npz", resume=True)


def test_bad_input_names_the_parameter(tiny, images):
    with pytest.raises(ValueError, match="executor must be one of"):
        train_grid(tiny, images, iterations=1, executor="ray")
    with pytest.raises(ValueError, match="scheduler must be an address"):
        train_grid(tiny, images, iterations=1, executor="dask", scheduler="localhost")
    with pytest.raises(ValueError, match=r"images must lie in \[-1, 1\]"):
        train_grid(tiny, images * 3, iterations=1)
    with pytest.raises(ValueError, match=r"images must have shape \(n, image_dim\)"):
        train_grid(tiny, images[:, :5], iterations=1)


def test_an_iteration_whose_inputs_were_lost_is_sent_again(tiny, images, scorer, cluster, monkeypatch):
    from concurrent.futures import CancelledError

    from refimpl.coevo.executors import DaskExecutor

    real_step, failures = DaskExecutor._step, []

    def lose_inputs_once(self, *args):
        if not failures:
            failures.append(args[0])
            raise CancelledError("scattered data lost with a worker")
        return real_step(self, *args)

    monkeypatch.setattr(DaskExecutor, "_step", lose_inputs_once)
    serial = train_grid(tiny, images, iterations=2, seed=5, scorer=scorer)
    dask = train_grid(tiny, images, iterations=2, seed=5, scorer=scorer, executor="dask",
                      scheduler=cluster.scheduler_address)
    assert failures == [1]
    _assert_same_run(serial, dask)


def test_a_worker_killed_mid_run_changes_nothing(tiny, images, scorer, cluster):
    settings = replace(tiny, n_batches=40)
    serial = train_grid(settings, images, iterations=3, seed=9, scorer=scorer)
    victim = next(iter(cluster.workers.values())).process.pid
    killed = []

    def kill_a_worker_after_the_first_iteration(iteration, states):
        # synchronously, so the test does not depend on how long an iteration takes: the next iteration is
        # sent to a cluster that has just lost a worker (and the data scattered to it)
        if iteration == 1:
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    dask = train_grid(settings, images, iterations=3, seed=9, scorer=scorer, executor="dask",
                      scheduler=cluster.scheduler_address, callback=kill_a_worker_after_the_first_iteration)
    assert killed == [victim]
    _assert_same_run(serial, dask)


@pytest.mark.parametrize("address", ["tcp://", "tcp://:8786", "tcp://host:port", "http://host:8786", "host:8786"])
def test_a_malformed_scheduler_address_is_refused_before_connecting(address):
    from refimpl.coevo.executors import make_executor

    with pytest.raises(ValueError, match="scheduler must be an address like 'tcp://HOST:8786'"):
        make_executor("dask", scheduler=address)


def test_well_formed_scheduler_addresses_are_accepted_without_connecting():
    from refimpl.coevo.executors import make_executor

    for address in ("tcp://127.0.0.1:8786", "tls://scheduler.example:8786", "inproc://10.0.0.1/1234/1"):
        assert make_executor("dask", scheduler=address).scheduler == address


def test_a_warm_dask_iteration_moves_only_what_neighbours_read(tiny, cluster):
    from refimpl.coevo.algorithm import init_cell
    from refimpl.coevo.executors import DaskExecutor, exchanged, state_bytes, summary
    from refimpl.coevo.grid import neighbourhoods

    settings = replace(tiny, enable_selection=False, hidden=64, image_dim=64)  # the arrays outweigh the headers
    images = np.random.default_rng(3).uniform(-1, 1, (100, 64)).astype(np.float32)
    states = [init_cell(c, settings, 0) for c in range(4)]
    parameters, whole = state_bytes(exchanged(states[0], False)), state_bytes(states[0])
    assert set(exchanged(states[0], False)["generator"]) == {"params"} and parameters < whole / 2
    assert exchanged(states[0], True) is states[0]
    with DaskExecutor(scheduler=cluster.scheduler_address) as engine:
        engine.client.wait_for_workers(2, timeout=60)  # the nanny restarts the worker another test killed
        shared, cells = (engine.share(images), engine.share(None)), engine.put(states)
        for iteration in (1, 2):
            cells = engine.step(iteration, cells, neighbourhoods(2), *shared, settings, 0)
        before = engine.bytes_moved
        cells = engine.step(3, cells, neighbourhoods(2), *shared, settings, 0)
        moved = engine.bytes_moved - before
        # on 2 workers, cells 0 and 1 on one, 2 and 3 on the other: each cell reads one neighbour's parameters
        # from the other worker (its other neighbour is local); the summaries come to the client; no whole state
        assert 4 * parameters <= moved < 4 * parameters + whole
        assert_same_state(engine.summaries(cells), [summary(s) for s in engine.fetch(cells)])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_workers_reuse_freed_memory_despite_the_nannys_trim_threshold():
    # as a Dask nanny starts a worker: every large temporary then gets fresh pages (page faults), until the
    # executor's tasks restore the thresholds
    code = ("import resource, numpy as np; from refimpl.coevo.executors import _reuse_freed_memory\n"
            "def faults():\n"
            "    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "    for _ in range(50): np.ones((100, 784), np.float32).sum()\n"
            "    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start\n"
            "before = faults(); assert _reuse_freed_memory(); faults(); print(before, faults())")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"})
    assert completed.returncode == 0, completed.stderr[-2000:]
    before, after = map(int, completed.stdout.split())
    assert before >= 50 * 50 and after < before / 10  # (100, 784) float32 = 77 pages, mapped afresh each time
