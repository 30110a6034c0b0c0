"""The command line end to end, on the core experiment and benchmark (the smallest ones)."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from refimpl import bench, cli, experiments
from refimpl.bench import bench_row
from refimpl.cli import main
from refimpl.experiments import Claim, register_experiment


def test_list_names_core(capsys):
    assert main(["list"]) == 0
    output = capsys.readouterr().out
    assert "experiments:" in output and "core" in output and "benchmarks:" in output


def test_run_writes_the_run_folder_and_prints_its_claims_table(tmp_path, capsys):
    assert main(["run", "core", "--quick", "--seed", "2", "--out", str(tmp_path), "--no-progress"]) == 0
    document = json.loads((tmp_path / "core" / "results.json").read_text())
    assert document["seed"] == 2 and document["quick"] is True
    assert document["results"]["gradcheck"]["max_rel_error"] < 1e-6
    assert (tmp_path / "core" / "optimisers.png").exists()
    output = capsys.readouterr()
    claim_lines = [line.split() for line in output.out.splitlines() if line.startswith("  ")]
    assert [line[0] for line in claim_lines] == [claim.key for claim in experiments.get_experiment("core").claims]
    measured = experiments.lookup(document["results"], "gradcheck.max_rel_error")
    assert claim_lines[0][1:3] == [f"{measured:.4g}", "agrees:"]
    assert "{" not in output.out, "the summary, not the results JSON"
    assert "core: SGD: started (300 steps)" in output.err, "a line per stage without a terminal"


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


@dataclass(frozen=True)
class NoSettings:
    pass


@pytest.fixture
def guarded(monkeypatch):
    """Experiment "stopped" (raises KeyboardInterrupt) and bench "tiny"; the names of the calls made."""
    calls = []

    @register_experiment("stopped", quick=NoSettings(), full=NoSettings(), claims=[Claim("x", "never measured")])
    def stopped(run, settings):
        calls.append("stopped")
        raise KeyboardInterrupt

    def tiny(quick):
        calls.append("tiny")
        return {"rows": [bench_row("case", "ours", {"best": 1.0, "median": 1.0, "first": 1.0}, ours=True,
                                   threads=1, dtype="float64")]}

    monkeypatch.setitem(bench._benches, "tiny", tiny)
    real_run = cli.run_experiment
    monkeypatch.setattr(cli, "run_experiment", lambda name, **options: calls.append(name) or real_run(name, **options))
    yield calls
    experiments._experiments.pop("stopped")


def _bad_output_paths(tmp_path):
    (tmp_path / "a-file").write_text("keep")
    return [str(tmp_path / "a-file"), str(tmp_path / "a-file" / "sub"), "/proc/refimpl"]


@pytest.mark.parametrize("command", [["run", "core", "--quick"], ["reproduce", "--quick", "--only", "core"],
                                     ["bench", "tiny", "--quick"]])
def test_an_unusable_output_path_is_one_line_before_anything_runs(guarded, tmp_path, capsys, command):
    for out in _bad_output_paths(tmp_path):
        assert main([*command, "--out", out]) == 1
        error = capsys.readouterr().err
        assert error.startswith("refimpl: error: ") and error.count("\n") == 1 and out in error, error
    assert guarded == [] and sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    assert (tmp_path / "a-file").read_text() == "keep"


@pytest.mark.parametrize("bad, message", [(["--seed", "-1"], "--seed must be >= 0; got -1"),
                                          (["--only", "core", "nope"], "no experiment named 'nope'"),
                                          (["--mnist-dir", "/nonexistent"], "MNIST directory '/nonexistent'")])
def test_reproduce_checks_everything_before_it_runs_and_keeps_the_report(guarded, tmp_path, capsys, bad, message):
    report = tmp_path / "REPORT.md"
    report.write_text("the committed report")
    inode = report.stat().st_ino
    command = ["reproduce", "--quick", "--out", str(tmp_path), *(["--only", "core"] if "--only" not in bad else [])]
    assert main([*command, *bad]) == 1
    assert message in capsys.readouterr().err
    assert guarded == [] and report.stat().st_ino == inode and report.read_text() == "the committed report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["REPORT.md"]


def test_reproduce_where_every_run_fails_does_not_rewrite_the_report(tmp_path, capsys):
    report = tmp_path / "REPORT.md"
    report.write_text("the committed report")

    @register_experiment("failing", quick=NoSettings(), full=NoSettings())
    def failing(run, settings):
        raise FloatingPointError("loss became nan at step 3 of 5")

    try:
        assert main(["reproduce", "--quick", "--only", "failing", "--out", str(tmp_path)]) == 1
    finally:
        experiments._experiments.pop("failing")
    error = capsys.readouterr().err
    assert "failing: FAILED: FloatingPointError: loss became nan at step 3 of 5; nothing was written to" in error
    assert "every experiment failed" in error and report.read_text() == "the committed report"


def test_ctrl_c_is_one_line_and_exit_status_130(guarded, tmp_path, capsys):
    assert main(["run", "stopped", "--out", str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err.splitlines()[-1] == \
        f"refimpl: interrupted; nothing was written to {tmp_path / 'out' / 'stopped'}"
    assert guarded == ["stopped", "stopped"] and not (tmp_path / "out").exists()  # the CLI call, the run


def test_quick_benches_never_overwrite_the_committed_results(guarded, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "tiny.json").write_text("committed")
    assert main(["bench", "tiny", "--quick"]) == 0
    assert json.loads((tmp_path / "benchmarks" / "quick" / "tiny.json").read_text())["quick"] is True
    assert (tmp_path / "benchmarks" / "tiny.json").read_text() == "committed"
    assert main(["bench", "tiny"]) == 0
    assert json.loads((tmp_path / "benchmarks" / "tiny.json").read_text())["quick"] is False


def test_a_cuda_bench_goes_to_its_own_file_and_a_cpu_only_bench_refuses_it(guarded, tmp_path, monkeypatch, capsys):
    seen = []

    def gpu(quick, backend="cpu"):
        seen.append(backend)
        return {"rows": [bench_row("case", "ours", {"best": 1.0, "median": 1.0, "first": 1.0}, ours=True,
                                   threads=1, dtype="float64")]}

    monkeypatch.setitem(bench._benches, "gpu", gpu)
    assert main(["bench", "gpu", "--quick", "--backend", "cuda", "--out", str(tmp_path)]) == 0
    assert seen == ["cuda"] and json.loads((tmp_path / "gpu-cuda.json").read_text())["backend"] == "cuda"
    assert not (tmp_path / "gpu.json").exists()
    assert main(["bench", "tiny", "--quick", "--backend", "cuda", "--out", str(tmp_path)]) == 1
    assert "benchmark 'tiny' has no backend option" in capsys.readouterr().err and "tiny" not in guarded


def test_an_empty_output_path_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as usage:
        main(["run", "core", "--out", ""])
    assert usage.value.code == 2 and "--out: must name a folder" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| head`) is gone before the first line
    try:
        completed = subprocess.run([sys.executable, "-m", "refimpl", "list"], stdout=write_end,
                                   stderr=subprocess.PIPE, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    finally:
        os.close(write_end)
    assert completed.returncode == 141 and completed.stderr == ""


def test_sigterm_during_a_benchmark_is_one_line_and_exit_status_143(tmp_path, monkeypatch, capsys):
    def terminated(quick):
        os.kill(os.getpid(), signal.SIGTERM)  # turned into an exception while the benchmark runs
        time.sleep(5)

    monkeypatch.setitem(bench._benches, "terminated", terminated)
    assert main(["bench", "terminated", "--out", str(tmp_path / "out")]) == 143
    assert capsys.readouterr().err.splitlines()[-1] == \
        f"refimpl: interrupted; nothing was written to {tmp_path / 'out' / 'terminated.json'}"
    assert not (tmp_path / "out").exists() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_set_overrides_one_settings_field_and_refuses_unknown_ones(tmp_path, capsys):
    assert main(["run", "core", "--quick", "--no-progress", "--out", str(tmp_path), "--set", "steps=7"]) == 0
    assert json.loads((tmp_path / "core" / "results.json").read_text())["settings"]["steps"] == 7
    capsys.readouterr()
    assert main(["run", "core", "--quick", "--out", str(tmp_path), "--set", "nope=1"]) == 1
    assert "--set 'nope=1': expected KEY=VALUE with KEY one of steps" in capsys.readouterr().err
    assert main(["run", "core", "--quick", "--out", str(tmp_path), "--set", "steps=x"]) == 1
    assert "expected a value of type int" in capsys.readouterr().err
