"""The three twins of kernel "rd_steps" agree to rounding: NumPy vs numba (hypothesis) vs numba.cuda."""

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from refimpl import rd
from refimpl.core import backend
from refimpl.rd.kernels import rd_steps_numba

MODELS = {
    "gray_scott": rd.gray_scott_preset("mitosis"),
    "brusselator": rd.brusselator(3.0, 9.0, 1.0, 10.0),
    "schnakenberg": rd.schnakenberg(),
    "linear": rd.linear([[0.5, -1.0], [1.5, -2.0]], D_u=0.2, D_v=1.0),
}
# per step, relative to the largest field value; measured worst cases over 400 random draws were
# 1.5e-16 (float64) and 1.2e-7 (float32), so these leave a margin of about 70x
TOLERANCE = {np.float64: 1e-14, np.float32: 1e-5}


def _tolerance(dtype, steps, fields):
    return TOLERANCE[dtype] * (1 + steps) * max(float(np.abs(a).max()) for a in fields)


def _start(model, shape, seed, dtype):
    rng = np.random.default_rng(seed)
    u, v = rd.noisy_steady_state(rng, model, shape, amplitude=0.1)
    if model.name.startswith("Gray-Scott"):
        u, v = rd.pearson_seed(rng, shape, square=0.5, noise=0.05)
    return u.astype(dtype), v.astype(dtype)


def _max_difference(a, b):
    return max(float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) for x, y in zip(a, b))


@given(st.sampled_from(sorted(MODELS)), st.one_of(st.tuples(st.integers(1, 9), st.integers(1, 9)),
                                                  st.tuples(st.integers(1, 12))),
       st.sampled_from(rd.BOUNDARIES), st.sampled_from([np.float64, np.float32]), st.integers(0, 40),
       st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_numba_twin_matches_numpy_reference(name, shape, boundary, dtype, steps, steps_per_pass, slabs, seed):
    """Any time blocking (steps per sweep) and any split into row slabs gives the reference fields."""
    model = MODELS[name]
    u, v = _start(model, shape, seed, dtype)
    dt = 0.5 * rd.max_stable_dt(max(model.D_u, model.D_v), 1.0, len(shape))
    reference = rd.simulate(model, u, v, dt=dt, steps=steps, boundary=boundary, backend="numpy")
    blocked = rd_steps_numba(model, u, v, dt, steps, 1.0, boundary, steps_per_pass=steps_per_pass, slabs=slabs)
    difference = _max_difference(reference, blocked)
    note(f"max |numpy - numba| = {difference:.3e}")
    assert all(a.dtype == dtype and a.shape == shape for a in blocked)
    assert difference <= _tolerance(dtype, steps, reference)


@pytest.mark.parametrize("boundary", rd.BOUNDARIES)
def test_twins_agree_after_many_steps(boundary):
    """500 Gray-Scott steps from Pearson's seed on a grid larger than the row slabs and time blocks."""
    model = rd.gray_scott_preset("coral")
    u, v = rd.pearson_seed(np.random.default_rng(3), (48, 40), square=0.3)
    reference = rd.simulate(model, u, v, dt=1.0, steps=500, boundary=boundary, backend="numpy")
    for slabs in (1, 3):
        fused = rd_steps_numba(model, u, v, 1.0, 500, 1.0, boundary, slabs=slabs)
        assert _max_difference(reference, fused) < 1e-13  # measured 7.8e-16 (periodic), 1.9e-15 (neumann)
    assert _max_difference(reference, (u, v)) > 0.05  # the pattern did move


@pytest.mark.cuda
@pytest.mark.skipif(not backend.cuda_available(), reason="needs a CUDA GPU or NUMBA_ENABLE_CUDASIM=1")
@pytest.mark.parametrize("boundary", rd.BOUNDARIES)
@pytest.mark.parametrize("shape, dtype", [((6, 5), np.float64), ((5, 7), np.float32), ((9,), np.float64)])
def test_cuda_twin_matches_numpy_reference(boundary, shape, dtype):
    model = MODELS["gray_scott"]
    u, v = _start(model, shape, 7, dtype)
    reference = rd.simulate(model, u, v, dt=1.0, steps=25, boundary=boundary, backend="numpy")
    on_device = rd.simulate(model, u, v, dt=1.0, steps=25, boundary=boundary, backend="cuda")
    assert all(a.dtype == dtype and a.shape == shape for a in on_device)
    assert _max_difference(reference, on_device) <= _tolerance(dtype, 25, reference)
    assert _max_difference(reference, (u, v)) > 1e-3


@pytest.mark.parametrize("keyword, value", [("slabs", 0), ("slabs", -2), ("steps_per_pass", 0)])
def test_numba_twin_refuses_non_positive_blocking(keyword, value):
    u, v = _start(MODELS["brusselator"], (4, 4), 0, np.float64)
    with pytest.raises(ValueError, match=f"{keyword} must be >= 1; got {value}"):
        rd_steps_numba(MODELS["brusselator"], u, v, 0.01, 3, 1.0, "periodic", **{keyword: value})
