"""The prd CUDA benchmark returns rows of the one schema (run in the simulator on a tiny size)."""

import pytest

from refimpl.bench import ROW_KEYS
from refimpl.core import backend


@pytest.mark.cuda
@pytest.mark.skipif(not backend.cuda_available(), reason="needs a CUDA GPU or NUMBA_ENABLE_CUDASIM=1")
def test_cuda_bench_rows_follow_the_schema(monkeypatch):
    from refimpl.prd import bench_cuda

    monkeypatch.setattr(bench_cuda, "QUICK", {"tiny": (5, 3, 4, 2, 3)})
    result = bench_cuda.bench_prd_cuda(quick=True)
    ours = [row for row in result["rows"] if row["ours"]]
    assert [row["case"].split(",")[0] for row in ours] == ["L_sup gradient", "L_adv gradient"]
    for row in result["rows"]:
        assert set(ROW_KEYS) <= set(row) and row["threads"] == 1 and row["work_unit"] == "flop"
    assert ours[0]["work"] == 2 * 5 * 4 * (2 * 3 + 3 * 2)
    assert result["notes"]["products"] in ("numba.cuda tiled", "numba.cuda + cuBLAS (CuPy)")


@pytest.mark.cuda
@pytest.mark.skipif(not backend.cuda_available(), reason="needs a CUDA GPU or NUMBA_ENABLE_CUDASIM=1")
def test_cuda_bench_compares_both_gradients_with_torch(monkeypatch):
    """With torch present (here on its CPU, standing in for a CUDA device), L_sup and L_adv each get a torch
    autograd row, and our rows carry the largest relative gradient difference to it."""
    pytest.importorskip("torch")
    from types import SimpleNamespace

    from refimpl.crosscheck import torch_reference
    from refimpl.prd import bench_cuda

    on_cpu = SimpleNamespace(  # the same references with the device argument replaced by "cpu"
        two_layer_squared_error_gradient=lambda *args: torch_reference.two_layer_squared_error_gradient(
            *args[:-1], device="cpu"),
        adversarial_gradient=lambda *args: torch_reference.adversarial_gradient(*args[:-1], device="cpu"))
    monkeypatch.setattr(bench_cuda, "QUICK", {"tiny": (6, 3, 5, 2, 4)})
    monkeypatch.setattr(bench_cuda, "_torch_reference", lambda: on_cpu)
    rows = bench_cuda.bench_prd_cuda(quick=True)["rows"]
    assert [(row["case"].split(",")[0], row["ours"]) for row in rows] == [
        ("L_sup gradient", False), ("L_sup gradient", True), ("L_adv gradient", False), ("L_adv gradient", True)]
    for row in rows[1::2]:
        assert row["max_rel_diff_to_torch"] < 1e-12, row["case"]
