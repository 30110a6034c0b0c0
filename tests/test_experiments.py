"""The experiment contract: results files, seeded determinism, atomic failure, the report."""

import json
from dataclasses import dataclass

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


def test_unknown_experiment_and_bad_settings():
    with pytest.raises(KeyError, match="no experiment named 'nope'"):
        run_experiment("nope")
    with pytest.raises(TypeError, match="must be a dataclass instance"):
        register_experiment("bad", quick={"steps": 1}, full=ToySettings())
