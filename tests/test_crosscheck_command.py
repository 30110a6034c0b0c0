"""The ``crosscheck`` command: the table, crosscheck.json (written atomically), the exit status on a failure,
frameworks that are not installed reported as skipped, and the argument parser the CLI wires in."""

import argparse
import json

import numpy as np
import pytest

from refimpl.crosscheck import command, frameworks
from refimpl.crosscheck.registry import Case, register, unregister, uniform

TOPIC = "test-crosscheck"


def _scaled_inputs(rng):
    return {"x": uniform(rng, (3, 2)), "dout": uniform(rng, (3, 2))}


def _case(name, factor):
    """y = 2x with a hand-derived gradient multiplied by ``factor`` (1: right; anything else: wrong)."""
    return Case(f"{TOPIC}.{name}", TOPIC, "y = 2x", _scaled_inputs,
                lambda p: {"value": 2.0 * p["x"], "grad_x": 2.0 * factor * p["dout"]}, ("x",),
                {framework: (lambda x: 2.0 * x) for framework in frameworks.FRAMEWORKS}, cotangent="dout")


@pytest.fixture
def test_cases():
    """A right and a deliberately wrong case under a topic of their own, removed after the test."""
    cases = [register(_case("right", 1.0)), register(_case("wrong", 1.0 + 1e-6))]
    yield cases
    for case in cases:
        unregister(case.name)


def _installed(framework):
    pytest.importorskip(framework, exc_type=ImportError)


@pytest.mark.torch
def test_a_wrong_gradient_fails_the_run_and_the_file_says_which(test_cases, tmp_path, capsys):
    _installed("torch")
    status = command.run("torch", topic=TOPIC, seed=3, out=tmp_path, progress=False)
    assert status == 1
    document = json.loads((tmp_path / "crosscheck.json").read_text())
    rows = {row["case"]: row for row in document["cases"]}
    assert rows[f"{TOPIC}.right"]["passed"] and not rows[f"{TOPIC}.wrong"]["passed"]
    assert rows[f"{TOPIC}.wrong"]["worst_output"] == "grad_x"
    assert float(rows[f"{TOPIC}.wrong"]["max_relative_error"]) > 1e-7
    assert document["frameworks"]["torch"]["failed"] == 1 and document["seed"] == 3
    assert document["frameworks"]["torch"]["worst_case"] == f"{TOPIC}.wrong"
    output = capsys.readouterr().out
    assert "FAIL" in output and "pass" in output and "x 3×2, dout 3×2" in output
    assert [p.name for p in tmp_path.iterdir()] == ["crosscheck.json"]  # no temporary file left behind


@pytest.mark.torch
def test_a_run_of_right_cases_exits_zero_and_a_missing_framework_is_skipped(test_cases, tmp_path, capsys, monkeypatch):
    _installed("torch")
    unregister(f"{TOPIC}.wrong")
    try:
        monkeypatch.setattr(frameworks, "available", lambda name: name == "torch")
        assert command.run("all", topic=TOPIC, out=tmp_path, progress=False) == 0
    finally:
        register(_case("wrong", 1.0 + 1e-6))
    document = json.loads((tmp_path / "crosscheck.json").read_text())
    assert document["frameworks"]["jax"] == {"status": "skipped", "reason": "jax is not installed", "version": None}
    assert {row["framework"] for row in document["cases"]} == {"torch"}
    assert "jax: skipped (jax is not installed)" in capsys.readouterr().out


def test_no_framework_installed_checks_nothing_and_fails_nothing(test_cases, tmp_path, monkeypatch):
    monkeypatch.setattr(frameworks, "available", lambda name: False)
    assert command.run("all", topic=TOPIC, out=tmp_path, progress=False) == 0
    document = json.loads((tmp_path / "crosscheck.json").read_text())
    assert document["cases"] == [] and all(f["status"] == "skipped" for f in document["frameworks"].values())


def test_a_reference_that_raises_is_a_failed_row_not_a_crash(test_cases, tmp_path):
    _installed("torch")
    broken = Case(f"{TOPIC}.broken", TOPIC, "y = 2x", _scaled_inputs, test_cases[0].compute, ("x",),
                  {"torch": lambda x: x @ np.ones((5, 5))}, cotangent="dout")
    row = command.check_case(broken, "torch", 0)
    assert row["status"] == "error" and not row["passed"] and "Error: " in row["error"]
    assert command.check_case(broken, "jax", 0)["status"] == "no reference"


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="framework must be one of all, torch, jax; got 'tensorflow'"):
        command.run("tensorflow")
    with pytest.raises(KeyError, match="no cross-check cases for topic 'nope'"):
        command.run("torch", topic="nope")


def test_the_parser_passes_every_option_to_run(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(command, "run", lambda *args, progress: calls.append((*args, progress)) or 0)
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["crosscheck", "--framework", "jax", "--topic", "prd", "--seed", "7", "--out",
                              str(tmp_path), "--no-progress"])
    assert args.handler(args) == 0 and calls == [("jax", "prd", 7, tmp_path, False)]
    defaults = parser.parse_args(["crosscheck"])
    defaults.handler(defaults)
    assert calls[-1] == ("all", None, 0, command.Path("."), None)
    with pytest.raises(SystemExit):
        parser.parse_args(["crosscheck", "--framework", "tensorflow"])
