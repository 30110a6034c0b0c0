"""The fused Adam update and leaky-ReLU backward pass: numba twins equal their NumPy references."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.coevo.kernels import BIAS_LEAKY_RELU, KERNEL, LEAKY_RELU_BACKWARD, TANH_BACKWARD, CellAdam
from refimpl.core import backend
from refimpl.core.optim import Adam
from tests.helpers import arrays

DTYPES = ("float32", "float64")


@st.composite
def adam_cases(draw):
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    steps = draw(st.integers(1, 4))
    return draw(arrays(shape)), [draw(arrays(shape)) for _ in range(steps)], draw(st.sampled_from(DTYPES))


@given(adam_cases())
def test_cell_adam_twins_equal_core_adam(case):
    start, gradients, dtype = case
    results = {}
    for name, optimiser in (("core", Adam(2e-4, 0.5, 0.999)), ("numpy", CellAdam(2e-4, 0.5, 0.999, backend="numpy")),
                            ("numba", CellAdam(2e-4, 0.5, 0.999, backend="numba"))):
        params = {"p": start.astype(dtype)}
        for gradient in gradients:
            optimiser.step(params, {"p": gradient.astype(dtype)})
        results[name] = (params["p"], optimiser.state_dict())
        assert params["p"].dtype == dtype
    for twin in ("numpy", "numba"):  # the same operations in the same order and dtype: the same bits
        np.testing.assert_array_equal(results[twin][0], results["core"][0])
        for key in ("first_moment", "second_moment"):
            np.testing.assert_array_equal(results[twin][1]["buffers"]["p"][key], results["core"][1]["buffers"]["p"][key])


def test_cell_adam_state_loads_into_core_adam_and_back(rng):
    params = {"w": rng.standard_normal((3, 2))}
    optimiser = CellAdam(1e-3)
    optimiser.step(params, {"w": rng.standard_normal((3, 2))})
    state = optimiser.state_dict()
    assert "_backend" not in state and state["t"] == 1
    core = Adam(1e-3).load_state_dict(state)
    back = CellAdam(1e-3, backend="numpy").load_state_dict(core.state_dict())
    gradient = {"w": rng.standard_normal((3, 2))}
    a, b = {"w": params["w"].copy()}, {"w": params["w"].copy()}
    core.step(a, gradient)
    back.step(b, gradient)
    np.testing.assert_array_equal(a["w"], b["w"])


@given(arrays((4, 6)), arrays((4, 6)), st.sampled_from(DTYPES))
def test_leaky_relu_backward_twins_agree_and_keep_the_dtype(dout, pre_activation, dtype):
    dout, pre_activation = dout.astype(dtype), pre_activation.astype(dtype)
    reference = backend.get_kernel(LEAKY_RELU_BACKWARD, "numpy")(dout.copy(), pre_activation, 0.2)
    twin = backend.get_kernel(LEAKY_RELU_BACKWARD, "numba")(dout.copy(), pre_activation, 0.2)
    assert reference.dtype == twin.dtype == dtype
    np.testing.assert_array_equal(twin, reference)


@given(arrays((5, 7)), arrays((7,)), st.sampled_from(DTYPES))
def test_bias_leaky_relu_twins_agree_to_the_bit(product, bias, dtype):
    product, bias = product.astype(dtype), bias.astype(dtype)
    reference = backend.get_kernel(BIAS_LEAKY_RELU, "numpy")(product.copy(), bias, 0.2)
    twin = backend.get_kernel(BIAS_LEAKY_RELU, "numba")(product.copy(), bias, 0.2)
    for a, b in zip(twin, reference):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)


@given(arrays((4, 6)), arrays((4, 6)), st.sampled_from(DTYPES))
def test_tanh_backward_twins_agree_to_the_bit(dout, pre_activation, dtype):
    dout, output = dout.astype(dtype), np.tanh(pre_activation.astype(dtype))
    reference = backend.get_kernel(TANH_BACKWARD, "numpy")(dout.copy(), output)
    twin = backend.get_kernel(TANH_BACKWARD, "numba")(dout.copy(), output)
    assert reference.dtype == twin.dtype == dtype
    np.testing.assert_array_equal(twin, reference)


def test_kernels_are_registered_with_both_twins():
    for name in (KERNEL, LEAKY_RELU_BACKWARD, BIAS_LEAKY_RELU, TANH_BACKWARD):
        assert backend.backends_of(name) == ("numpy", "numba")
    with pytest.raises(ValueError, match="backend must be one of"):
        CellAdam(1e-3, backend="cuda")
