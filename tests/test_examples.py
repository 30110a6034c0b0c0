"""Every script in examples/ runs at its smallest setting (``--smoke``) and writes a figure."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


NEEDS_TORCH = {"crosscheck_your_framework"}  # checks a torch module of the reader's against the golden vectors


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_in_smoke_mode(script, tmp_path):
    if script.stem in NEEDS_TORCH:
        pytest.importorskip("torch")
    completed = subprocess.run([sys.executable, str(script), "--smoke", "--out", str(tmp_path)],
                               capture_output=True, text=True, timeout=300, cwd=tmp_path,
                               env={**os.environ, "MPLBACKEND": "Agg"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert list(tmp_path.glob("*.png")), f"{script.name} wrote no figure"
