"""Benchmark ``core`` returns rows of the one schema (its speed is measured by `refimpl bench core`)."""

from refimpl.bench import ROW_KEYS, add_speedups, benches, time_call
from refimpl.foundation import bench


def test_core_bench_rows_follow_the_schema(monkeypatch):
    assert benches()["core"] is bench.bench_core
    monkeypatch.setattr(bench, "time_call", lambda function, **options: time_call(function, repeat=1))
    result = bench.bench_core(quick=True)
    rows = add_speedups(result["rows"])
    assert all(set(ROW_KEYS) <= set(row) for row in rows)
    assert [row["implementation"] for row in rows][:2] == ["numpy", "numba"]
    assert all(row["ours"] for row in rows[:2]) and all(row["seconds"] > 0 for row in rows)
    torch_rows = [row for row in rows if row["implementation"] == "torch autograd"]
    if torch_rows:
        assert not torch_rows[0]["ours"] and torch_rows[0]["max_rel_diff_to_numpy"] < 1e-12
        assert all("speedup_vs_torch_autograd" in row for row in rows[:2])
