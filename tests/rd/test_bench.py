"""The rd benchmark runs end to end on a tiny grid (its speed is measured by `refimpl bench rd`, not here)."""

from refimpl.bench import time_call
from refimpl.rd import bench


def test_bench_rows_and_ratios(monkeypatch):
    monkeypatch.setattr(bench, "QUICK", {16: 8})
    monkeypatch.setattr(bench, "_pypde_runner", lambda model, u, v: None)  # py-pde compiles for a minute
    monkeypatch.setattr(bench, "time_call", lambda function, **options: time_call(function, repeat=1))
    result = bench.bench_rd(quick=True)
    assert {(row["implementation"], row["dtype"]) for row in result["rows"]} == {
        ("numpy", "float64"), ("numba, 4 step(s)/sweep", "float32"), ("numba, 1 step(s)/sweep", "float32"),
        ("numba, 4 step(s)/sweep", "float64"), ("numba, 1 step(s)/sweep", "float64")}
    assert all(row["cell_steps_per_s"] > 0 and row["roofline_fraction"] > 0 for row in result["rows"])
    assert result["triad_bandwidth_bytes_per_s"] > 0 and result["ratios"]["grid"] == "16²"
    assert "numba_float64_over_pypde" not in result["ratios"]
