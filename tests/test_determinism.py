"""Two runs with the same seed write identical files, wall-clock times (the ``timings`` block) apart.

Each experiment runs twice on a tiny variant of its quick setting. The whole ``results.json`` document
but its ``timings`` block must be equal (results, settings, seed, versions; floats compared exactly),
and every CSV file byte-identical. Nothing else is stripped: a wall-clock time recorded with
``run.record`` instead of ``run.record_timing`` makes this test fail.
"""

import dataclasses
import json

import pytest

from refimpl.experiments import get_experiment, run_experiment

TINY = {
    "core": {"steps": 30, "n_points": 60, "hidden": 8},
    "rd-gallery": {"presets": ("coral", "mitosis"), "size": 16, "steps": 100, "seed_square": 0.2,
                   "decay_steps": 20},
    "rd-turing": {"size": 16, "steps": 50, "growth_size": 16, "growth_steps": 20,
                  "growth_modes": ((0, 1), (2, 0)), "backend_size": 8, "backend_steps": 5, "animation": False},
}


def _run(name, folder, seed):
    settings = dataclasses.replace(get_experiment(name).quick, **TINY[name])
    document = run_experiment(name, quick=True, seed=seed, out_dir=folder, settings=settings, progress=False)
    csv_files = {path.name: path.read_bytes() for path in sorted((folder / name).glob("*.csv"))}
    return document, csv_files


@pytest.mark.parametrize("name", sorted(TINY))
def test_same_seed_same_files_but_timings(name, tmp_path):
    first, first_csv = _run(name, tmp_path / "a", seed=5)
    second, second_csv = _run(name, tmp_path / "b", seed=5)
    assert set(first["timings"]) >= {"total"} and first["timings"]["total"] >= 0
    first.pop("timings"), second.pop("timings")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first_csv == second_csv
    if name == "core":
        assert first_csv, "the core experiment writes metrics.csv"
        other, _ = _run(name, tmp_path / "c", seed=6)
        assert other["results"] != first["results"], "another seed must change the results"
