"""The experiment contract: results files, seeded determinism, atomic failure, the report."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from refimpl import experiments
from refimpl.experiments import Claim, atomic_write, lookup, register_experiment, run_experiment, write_report


@dataclass(frozen=True)
class ToySettings:
    steps: int = 5
    blow_up_at: int = -1


@pytest.fixture
def toy_experiment():
    @register_experiment("toy", quick=ToySettings(steps=3), full=ToySettings(),
                         claims=[Claim("walk.final", "|x| stays within 100", expected=(-100, 100)),
                                 Claim("walk.absent", "never measured")])
    def toy(run, settings):
        """A random walk that can be told to blow up."""
        position, path = 0.0, []
        for step in run.progress(range(settings.steps)):
            position += run.rng.standard_normal() if step != settings.blow_up_at else np.inf
            run.check_finite(step, settings.steps, position=position)
            path.append(position)
        run.record("walk.final", position)
        run.record("walk.path", np.array(path))
        run.write_metrics({"step": range(settings.steps), "position": path})
        figure, axis = plt.subplots()
        axis.plot(path)
        run.save_figure(figure, "walk")

    yield "toy"
    experiments._experiments.pop("toy")


def test_run_writes_results_metrics_and_figure(toy_experiment, tmp_path):
    document = run_experiment(toy_experiment, quick=True, seed=3, out_dir=tmp_path)
    folder = tmp_path / "toy"
    assert json.loads((folder / "results.json").read_text()) == document
    assert document["settings"] == {"steps": 3, "blow_up_at": -1} and document["seed"] == 3
    assert {"numpy", "numba", "python"} <= set(document["versions"])
    assert len(document["results"]["walk"]["path"]) == 3
    assert (folder / "metrics.csv").read_text().splitlines()[0] == "step,position"
    assert (folder / "walk.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob(".*")), "no staging folder may be left behind"


def test_a_fixed_seed_gives_identical_results(toy_experiment, tmp_path):
    first = run_experiment(toy_experiment, seed=7, out_dir=tmp_path / "a")["results"]
    second = run_experiment(toy_experiment, seed=7, out_dir=tmp_path / "b")["results"]
    other = run_experiment(toy_experiment, seed=8, out_dir=tmp_path / "c")["results"]
    assert first == second and first != other


def test_nan_stops_with_the_step_and_keeps_previous_results(toy_experiment, tmp_path):
    previous = run_experiment(toy_experiment, out_dir=tmp_path)
    with pytest.raises(FloatingPointError, match="position became inf at step 2 of 5") as caught:
        run_experiment(toy_experiment, out_dir=tmp_path, settings=ToySettings(blow_up_at=2))
    assert any("nothing was written" in note for note in caught.value.__notes__)
    assert json.loads((tmp_path / "toy" / "results.json").read_text()) == previous
    assert not list(tmp_path.glob(".*"))


def test_report_puts_claims_beside_measurements(toy_experiment, tmp_path):
    run_experiment(toy_experiment, out_dir=tmp_path)
    report = write_report(tmp_path, ["toy", "core"]).read_text()
    assert "| `walk.final` | \\|x\\| stays within 100 |" in report and "agrees: within [-100, 100]" in report
    assert "| `walk.absent` | never measured | — | — | not measured |" in report
    assert "![walk](toy/walk.png)" in report
    assert "## core\n\nNot run" in report


def test_lookup_and_atomic_write(tmp_path):
    assert lookup({"a": {"b": 2}}, "a.b") == 2
    assert lookup({"a": {}}, "a.b", default=None) is None
    with pytest.raises(KeyError, match="missing at 'b'"):
        lookup({"a": {}}, "a.b")
    path = atomic_write(tmp_path / "deep" / "file.txt", "hello")
    assert path.read_text() == "hello" and [p.name for p in path.parent.iterdir()] == ["file.txt"]
    with pytest.raises(FileExistsError, match="file.txt is an existing file, not a folder"):
        atomic_write(path / "under-a-file.txt", "hello")


def test_unknown_experiment_and_bad_settings():
    with pytest.raises(KeyError, match="no experiment named 'nope'"):
        run_experiment("nope")
    with pytest.raises(TypeError, match="must be a dataclass instance"):
        register_experiment("bad", quick={"steps": 1}, full=ToySettings())


# --- nothing left behind: checks before the staging folder, cleanup on errors, signals and after SIGKILL ---


def _hidden(folder):
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


@pytest.mark.parametrize("options, error, match", [
    ({"seed": -1}, ValueError, "seed must be >= 0; got -1"),
    ({"seed": 1.5}, TypeError, "seed must be an integer; got float 1.5"),
    ({"settings": {"steps": 3}}, TypeError, "settings of experiment 'toy' must be a dataclass instance"),
    ({"mnist_dir": "/nonexistent/mnist"}, FileNotFoundError, "MNIST directory '/nonexistent/mnist'"),
])
def test_bad_arguments_are_refused_before_anything_is_created(toy_experiment, tmp_path, options, error, match):
    out = tmp_path / "out"
    with pytest.raises(error, match=match):
        run_experiment(toy_experiment, out_dir=out, **options)
    assert not out.exists()


def test_mnist_dir_must_hold_the_idx_files(toy_experiment, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("")
    with pytest.raises(FileNotFoundError, match="has no train-images-idx3-ubyte"):
        run_experiment(toy_experiment, out_dir=tmp_path / "out", mnist_dir=tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        run_experiment(toy_experiment, out_dir=tmp_path / "out", mnist_dir=tmp_path / "a-file")
    monkeypatch.setenv("REFIMPL_MNIST_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"from \$REFIMPL_MNIST_DIR"):
        run_experiment(toy_experiment, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_output_path_that_cannot_hold_files_is_refused_before_the_run(toy_experiment, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("keep")
    with pytest.raises(FileExistsError, match="is an existing file, not a folder"):
        run_experiment(toy_experiment, out_dir=a_file)
    with pytest.raises(NotADirectoryError, match="cannot create output folder .*a-file/sub: Not a directory"):
        run_experiment(toy_experiment, out_dir=a_file / "sub")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "toy").write_text("a user's file")
    with pytest.raises(FileExistsError, match="toy is an existing file, where a run folder is to be written"):
        run_experiment(toy_experiment, out_dir=tmp_path / "out")
    assert a_file.read_text() == "keep" and (tmp_path / "out" / "toy").read_text() == "a user's file"
    assert _hidden(tmp_path / "out") == [] and sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "out"]


def test_a_failed_run_removes_the_folders_it_created(toy_experiment, tmp_path):
    with pytest.raises(FloatingPointError):
        run_experiment(toy_experiment, out_dir=tmp_path / "new" / "out", settings=ToySettings(blow_up_at=1))
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_keeps_previous_results_and_restores_the_signal_handlers(toy_experiment, tmp_path):
    previous = run_experiment(toy_experiment, out_dir=tmp_path)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    @register_experiment("toy-interrupted", quick=ToySettings(), full=ToySettings())
    def interrupted(run, settings):
        run.record("started", True)
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            run_experiment("toy-interrupted", out_dir=tmp_path)
    finally:
        experiments._experiments.pop("toy-interrupted")
    assert caught.value.__notes__ == [f"nothing was written to {tmp_path / 'toy-interrupted'}"]
    assert json.loads((tmp_path / "toy" / "results.json").read_text()) == previous
    assert _hidden(tmp_path) == [] and not (tmp_path / "toy-interrupted").exists()
    assert {signum: signal.getsignal(signum) for signum in handlers} == handlers


def test_stale_work_folders_of_dead_runs_are_removed_and_live_ones_kept(toy_experiment, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_pid = int(dead.stdout)
    (tmp_path / f".toy-staging-{dead_pid}-abc123").mkdir()
    (tmp_path / f".REPORT.md-partial-{dead_pid}-x7y").write_text("half a report")
    (tmp_path / f".toy-staging-{os.getpid()}-live01").mkdir()  # a concurrent run of a live process
    (tmp_path / ".toy-staging-notapid").mkdir()  # not ours: never touched
    run_experiment(toy_experiment, out_dir=tmp_path)
    assert _hidden(tmp_path) == [f".toy-staging-{os.getpid()}-live01", ".toy-staging-notapid"]


def test_a_retired_folder_whose_replacement_never_arrived_is_put_back(tmp_path):
    dead_pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                                  text=True, check=True).stdout)
    retired = tmp_path / f".toy-retired-{dead_pid}-q1w2e3"
    (retired / "toy").mkdir(parents=True)
    (retired / "toy" / "results.json").write_text("{}")
    experiments.remove_stale(tmp_path)
    assert (tmp_path / "toy" / "results.json").read_text() == "{}" and _hidden(tmp_path) == []


@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)])
def test_output_permissions_follow_the_umask(toy_experiment, tmp_path, umask, folder_mode, file_mode):
    previous = os.umask(umask)
    try:
        run_experiment(toy_experiment, out_dir=tmp_path)
        report = write_report(tmp_path, ["toy"])
    finally:
        os.umask(previous)
    folder = tmp_path / "toy"
    assert stat.S_IMODE(folder.stat().st_mode) == folder_mode
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in [*folder.iterdir(), report]}
    assert modes == dict.fromkeys(["results.json", "metrics.csv", "walk.png", "REPORT.md"], file_mode)


def test_progress_without_a_terminal_prints_a_line_at_the_start_and_end_of_each_loop(toy_experiment, tmp_path,
                                                                                     capsys):
    run_experiment(toy_experiment, out_dir=tmp_path, progress=False)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "toy: started (5 steps)"
    assert lines[1].startswith("toy: 5 steps done in ") and len(lines) == 2
    run = experiments.Run("loop", tmp_path, progress=False)
    for step in run.progress(range(10), desc="early exit"):
        if step == 3:
            break
    assert capsys.readouterr().err.splitlines()[-1].startswith("loop: early exit: 4 steps done in ")


def test_a_heartbeat_keeps_a_log_alive_through_loops_without_progress(tmp_path, capsys):
    run = experiments.Run("quiet", tmp_path, progress=False)
    with run.heartbeat(every=0.05):
        time.sleep(0.3)
    beats = capsys.readouterr().err.splitlines()
    assert len(beats) >= 2 and all(line.startswith("quiet: still running after ") for line in beats)
    with experiments.Run("bars", tmp_path, progress=True).heartbeat(every=0.05):
        time.sleep(0.2)
    assert capsys.readouterr().err == ""


# --- the same, in a real process stopped by a signal ---

SLEEPER = "sleeper"


@dataclass(frozen=True)
class SleeperSettings:
    ready: str = ""
    seconds: float = 0.0


def register_sleeper(ready, seconds):
    """Register experiment "sleeper": it writes a file, says it is ready, then sleeps (to be killed)."""

    @register_experiment(SLEEPER, quick=SleeperSettings(ready, seconds), full=SleeperSettings(ready, seconds))
    def sleeper(run, settings):
        """Writes a figure-sized file, then waits."""
        atomic_write(run.folder / "partial.bin", bytes(10_000))
        Path(settings.ready).write_text(str(os.getpid()))
        time.sleep(settings.seconds)
        run.record("slept", settings.seconds)


def _start_sleeper(tmp_path, out, seconds=60.0):
    """A subprocess running the sleeper through the CLI; returns it once the run is under way."""
    ready = tmp_path / "ready"
    ready.unlink(missing_ok=True)
    code = (f"import sys; from tests.test_experiments import register_sleeper; from refimpl.cli import main; "
            f"register_sleeper({str(ready)!r}, {seconds}); sys.exit(main(['run', {SLEEPER!r}, '--out', {str(out)!r}]))")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "Agg"}
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=_default_signals)
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the sleeper never started"
        time.sleep(0.05)
    return child


def _default_signals():
    """In the child: SIGINT and SIGHUP at their default action (a background job or nohup ignores them)."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@pytest.fixture
def previous_sleeper_results(tmp_path):
    """A finished sleeper run in tmp_path/out: (out folder, bytes of its results.json)."""
    out = tmp_path / "out"
    child = _start_sleeper(tmp_path, out, seconds=0.0)
    assert child.wait(timeout=120) == 0, child.communicate()
    return out, (out / SLEEPER / "results.json").read_bytes()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_mid_run_leaves_previous_results_and_no_staging_folder(previous_sleeper_results, tmp_path,
                                                                        signum):
    out, previous = previous_sleeper_results
    child = _start_sleeper(tmp_path, out)
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + signum, stderr
    assert stderr.splitlines()[-1] == f"refimpl: interrupted; nothing was written to {out / SLEEPER}"
    assert (out / SLEEPER / "results.json").read_bytes() == previous
    assert _hidden(out) == [] and sorted(p.name for p in (out / SLEEPER).iterdir()) == ["partial.bin",
                                                                                         "results.json"]


def test_after_sigkill_the_next_run_removes_the_stale_staging_folder(previous_sleeper_results, tmp_path,
                                                                      toy_experiment):
    out, previous = previous_sleeper_results
    child = _start_sleeper(tmp_path, out)
    child.kill()
    child.communicate(timeout=60)
    assert (out / SLEEPER / "results.json").read_bytes() == previous
    left = _hidden(out)
    assert len(left) == 1 and left[0].startswith(f".{SLEEPER}-staging-{child.pid}-"), left
    run_experiment(toy_experiment, out_dir=out)
    assert _hidden(out) == []
