"""The seqgan benchmark runs end to end at a small vocabulary (its speed is measured by `refimpl bench seqgan`)."""

import pytest

from refimpl.bench import add_speedups
from refimpl.seqgan import bench


def test_bench_rows_follow_the_schema_and_torch_is_the_reference(monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setattr(bench, "V", 50)
    monkeypatch.setattr(bench, "QUICK_SEQUENCES", 128)
    rows = add_speedups(bench.bench_seqgan(quick=True)["rows"])
    assert {(row["implementation"], row["dtype"], row["threads"]) for row in rows} == {
        (implementation, dtype, threads) for threads in (1, 2)
        for implementation, dtype in (("numpy + numba", "float32"), ("numpy + numba", "float64"), ("torch", "float32"))}
    ours_float32 = [row for row in rows if row["ours"] and row["dtype"] == "float32"]
    assert all(row["speedup_vs_torch"] > 0 for row in ours_float32)
    assert all(row["work"] == 128 * bench.T for row in rows)
