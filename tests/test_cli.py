"""The command line end to end, on the core experiment and benchmark (the smallest ones)."""

import json
import os
import subprocess
import sys

import pytest

from refimpl.cli import main


def test_list_names_core(capsys):
    assert main(["list"]) == 0
    output = capsys.readouterr().out
    assert "experiments:" in output and "core" in output and "benchmarks:" in output


def test_run_writes_the_run_folder(tmp_path, capsys):
    assert main(["run", "core", "--quick", "--seed", "2", "--out", str(tmp_path), "--no-progress"]) == 0
    document = json.loads((tmp_path / "core" / "results.json").read_text())
    assert document["seed"] == 2 and document["quick"] is True
    assert document["results"]["gradcheck"]["max_rel_error"] < 1e-6
    assert (tmp_path / "core" / "optimisers.png").exists()


def test_reproduce_writes_the_report(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--only", "core", "--out", str(tmp_path), "--no-progress"]) == 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "## core" in report and "gradcheck.max_rel_error" in report


def test_bench_core_quick_writes_json(tmp_path, capsys):
    assert main(["bench", "core", "--quick", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "core.json").read_text())
    assert {row["implementation"] for row in document["rows"]} >= {"numpy", "numba"}
    assert "implementation" in capsys.readouterr().out


def test_user_errors_exit_1_with_a_message(capsys):
    assert main(["run", "no-such-experiment", "--out", "/tmp/unused"]) == 1
    assert "no experiment named 'no-such-experiment'" in capsys.readouterr().err
    assert main(["bench", "no-such-bench"]) == 1
    with pytest.raises(SystemExit) as usage:
        main(["run"])
    assert usage.value.code == 2


def test_module_entry_point_runs(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "refimpl", "--version"], capture_output=True, text=True,
                               env={**os.environ, "MPLBACKEND": "Agg"}, check=True)
    assert completed.stdout.startswith("refimpl ")


def test_quick_runs_default_to_their_own_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "core", "--quick", "--no-progress"]) == 0
    assert (tmp_path / "figures" / "quick" / "core" / "results.json").exists()
    assert not (tmp_path / "figures" / "core").exists()
