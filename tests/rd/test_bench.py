"""The rd benchmark returns rows of the one schema on a tiny grid (its speed is measured by `refimpl bench rd`)."""

import numpy as np
import pytest

from refimpl.bench import ROW_KEYS, add_speedups, time_call
from refimpl.core import backend
from refimpl.rd import bench
from refimpl.rd.kernels import rd_steps_numba, rd_steps_numpy, steps_per_pass_for, sweep_buffers
from refimpl.rd.model import gray_scott_preset, pearson_seed


def test_bench_rows_follow_the_schema(monkeypatch):
    monkeypatch.setattr(bench, "QUICK", {16: 8})
    monkeypatch.setattr(bench, "_pypde_runner", lambda model, u, v: None)  # py-pde compiles for a minute
    monkeypatch.setattr(bench, "time_call", lambda function, **options: time_call(function, repeat=1))
    result = bench.bench_rd(quick=True)
    rows = add_speedups(result["rows"])
    blocked = {dtype: f"numba, {steps_per_pass_for(16, np.dtype(dtype).itemsize)} step(s)/sweep"
               for dtype in ("float32", "float64")}
    assert {(row["implementation"], row["dtype"], row["ours"]) for row in rows} == {
        ("numpy reference", "float64", False), (blocked["float32"], "float32", True),
        ("numba, 1 step(s)/sweep", "float32", True), (blocked["float64"], "float64", True),
        ("numba, 1 step(s)/sweep", "float64", True)}
    for row in rows:
        assert set(ROW_KEYS) <= set(row) and row["case"] == "Gray-Scott mitosis 16², 8 steps"
        assert row["work"] == 16 * 16 * 8 and row["work_unit"] == "cell-steps"
        assert row["throughput"] == row["work"] / row["seconds"] and row["roofline_fraction"] > 0
        assert row["threads"] == 1  # 16² is below PARALLEL_FROM_CELLS: every implementation on one thread
    # 16² runs on one thread, like the NumPy reference: each float64 numba row gets its speed-up
    numba64 = [row for row in rows if row["ours"] and row["dtype"] == "float64"]
    assert all(row["speedup_vs_numpy_reference"] > 0 for row in numba64)
    assert not any(key.startswith("speedup") for row in rows if row["dtype"] == "float32" for key in row)
    assert result["notes"]["triad_bandwidth_bytes_per_s"] > 0


@pytest.mark.parametrize("placed", [False, True])
def test_preallocated_buffers_give_the_same_fields(placed):
    """Any buffers, placed by :func:`sweep_buffers` or not."""
    model = gray_scott_preset(bench.PRESET)
    u, v = pearson_seed(np.random.default_rng(0), (12, 10), square=0.3, values=(0.0, 0.9))
    buffers = sweep_buffers(u) if placed else [(np.empty_like(u), np.empty_like(v)) for _ in range(2)]
    expected = rd_steps_numba(model, u, v, 1.0, 9, 1.0, "periodic")
    for _ in range(2):  # a second call reuses the buffers the first one wrote
        got = rd_steps_numba(model, u, v, 1.0, 9, 1.0, "periodic", buffers=buffers)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
    assert any(np.shares_memory(got[0], pair[0]) for pair in buffers)


def test_the_backend_is_checked():
    with pytest.raises(ValueError, match="backend must be one of 'cpu', 'cuda'; got 'gpu'"):
        bench.bench_rd(quick=True, backend="gpu")


@pytest.mark.cuda
@pytest.mark.skipif(not backend.cuda_available(), reason="needs a CUDA GPU or NUMBA_ENABLE_CUDASIM=1")
def test_cuda_bench_rows_follow_the_schema(monkeypatch):
    """The CUDA bench's rows and notes, on a grid the simulator can step (its timings mean nothing there)."""
    from refimpl.core import cuda_kernels

    monkeypatch.setattr(bench, "CUDA_QUICK", {8: 2})
    monkeypatch.setattr(cuda_kernels, "copy_bandwidth", lambda n: 1e9)  # the simulator's copy of 2^22 takes minutes
    result = bench.bench_rd(quick=True, backend="cuda")
    assert {(row["implementation"], row["dtype"]) for row in result["rows"] if row["ours"]} == {
        (f"numba.cuda, {t} step(s)/launch", dtype) for t in (1, 4, 8) for dtype in ("float32", "float64")}
    for row in result["rows"]:
        assert set(ROW_KEYS) <= set(row) and row["threads"] == 1 and row["work"] == 8 * 8 * 2
    assert result["notes"]["copy_bandwidth_bytes_per_s"] == 1e9


def test_cupy_reference_computes_the_same_update():
    """The CuPy reference row times the right equations: run with NumPy standing in for CuPy (same
    ``asarray``, ``roll`` and arithmetic), it gives the NumPy reference's fields to rounding."""
    model = gray_scott_preset(bench.PRESET)
    u, v = pearson_seed(np.random.default_rng(1), (12, 10), square=0.3, values=(0.0, 0.9))
    advance = bench._cupy_stepper(np, model, u, v)
    advance(3)
    expected = rd_steps_numpy(model, u, v, 1.0, 7, 1.0, "periodic")
    for got, want in zip(advance(4), expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)
    assert np.max(np.abs(expected[1] - v)) > 1e-3  # the fields moved
