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
