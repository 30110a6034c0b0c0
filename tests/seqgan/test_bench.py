"""The seqgan benchmark runs end to end at a small vocabulary (its speed is measured by `refimpl bench seqgan`)."""

import pytest

from refimpl.bench import add_speedups
from refimpl.seqgan import bench


def test_bench_rows_follow_the_schema_and_the_references_are_compared(monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setattr(bench, "V", 50)
    monkeypatch.setattr(bench, "QUICK_SEQUENCES", 128)
    monkeypatch.setattr(bench, "N_ROLLOUTS", 2)
    rows = add_speedups(bench.bench_seqgan(quick=True)["rows"])
    by_case = {}
    for row in rows:
        by_case.setdefault(row["case"].split(",")[0], set()).add((row["implementation"], row["dtype"], row["threads"]))
    threads = (1, 2)
    assert by_case["MLE epoch"] == {(name, dtype, k) for k in threads for name, dtype in
                                    (("numpy + numba", "float32"), ("numpy + numba", "float64"), ("torch", "float32"))}
    assert by_case["discriminator forward + backward"] == {
        (name, dtype, k) for k in threads for name, dtype in (("ours (numpy convolutions)", "float64"),
                                                              ("ours (numba convolutions)", "float64"),
                                                              ("torch", "float64"), ("torch", "float32"))}
    assert by_case["rollout rewards"] == {("numpy + numba", "float64", k) for k in threads}
    assert by_case["plastic softmax episode forward + backward"] == {
        (name, "float64", k) for k in threads for name in ("numpy reference", "numba")}
    ours = [row for row in rows if row["ours"]]
    assert all(row["speedup_vs_torch"] > 0 for row in ours if row["case"].startswith("discriminator"))
    assert all(row["speedup_vs_numpy_reference"] > 0 for row in ours if row["case"].startswith("plastic"))
    assert all(row["speedup_vs_torch"] > 0 for row in rows if row["ours"] and row["case"].startswith("MLE")
               and row["dtype"] == "float32")
    assert all(row["work"] == 128 * bench.T for row in rows if row["case"].startswith("MLE"))
    assert all(row["work"] == bench.BATCH * 2 * (bench.T - 1) for row in rows if row["case"].startswith("rollout"))
