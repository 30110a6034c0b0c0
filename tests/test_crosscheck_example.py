"""The example that checks a reader's own torch modules against golden vectors: it runs in smoke mode, and
the check it teaches catches a module that is wrong (skipped without torch)."""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", exc_type=ImportError)
pytestmark = pytest.mark.torch

SCRIPT = Path(__file__).parents[1] / "examples" / "crosscheck_your_framework.py"


def test_the_example_runs_in_smoke_mode_and_every_module_agrees(tmp_path):
    completed = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(tmp_path)], capture_output=True,
                               text=True, timeout=600, cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "every module agrees with the golden vectors" in completed.stdout
    assert (tmp_path / "crosscheck_your_framework.png").stat().st_size > 0


def test_the_example_s_check_catches_a_wrong_module():
    spec = importlib.util.spec_from_file_location("crosscheck_your_framework", SCRIPT)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    class SlightlyWrongDense(example.DenseLayer):
        def forward(self, x):
            return x @ self.w.T + self.b * (1 + 1e-7)

    with tempfile.TemporaryDirectory() as directory:
        example.vectors.export(directory, seed=0, topic="core")
        entry = json.loads((Path(directory) / "manifest.json").read_text())["cases"]["core.affine"]
        d_out, d_in = entry["inputs"]["w"]["shape"]
        right = example.check_module(directory, entry, example.DenseLayer(d_in, d_out))
        wrong = example.check_module(directory, entry, SlightlyWrongDense(d_in, d_out))
    assert max(right.values()) <= example.TOLERANCE
    assert wrong["value"] > example.TOLERANCE and wrong["grad_b"] > example.TOLERANCE
