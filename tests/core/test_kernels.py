"""The two-layer squared-error kernel: twins agree, gradients are right, bad shapes are named."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refimpl.core import backend
from refimpl.core.gradcheck import assert_gradients
from refimpl.core.kernels import KERNEL, two_layer_squared_error_gradient
from tests.helpers import arrays, floats, off_kinks


@st.composite
def problems(draw):
    n, d_in, m, d_out = (draw(st.integers(1, 6)) for _ in range(4))
    return (draw(arrays((n, d_in))), draw(arrays((n, d_out))), draw(arrays((m, d_in))),
            draw(arrays((d_out, m))), draw(floats(0.1, 2.0)))


@given(problems())
def test_numba_twin_equals_numpy_reference(problem):
    reference = two_layer_squared_error_gradient(*problem, backend="numpy")
    twin = two_layer_squared_error_gradient(*problem, backend="numba")
    assert twin[0] == pytest.approx(reference[0], rel=1e-12, abs=1e-12)
    for a, b in zip(twin[1:], reference[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * max(1.0, np.max(np.abs(b))))


@settings(max_examples=20)
@given(problems())
def test_gradients_match_finite_differences(problem):
    X, Y, U, V, scale = problem
    assume(off_kinks(X @ U.T))
    _, dU, dV = two_layer_squared_error_gradient(X, Y, U, V, scale, backend="numpy")
    assert_gradients(lambda U, V: two_layer_squared_error_gradient(X, Y, U, V, scale, backend="numpy")[0],
                     [U, V], [dU, dV])


def test_shape_mismatch_names_the_parameter():
    X, Y = np.zeros((5, 4)), np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"U must have shape \(m, d_in\) = \(any, 4\) to match X with d_in = 4; got \(3, 5\)"):
        two_layer_squared_error_gradient(X, Y, np.zeros((3, 5)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Y must have shape \(n, d_out\) = \(5, 2\)"):
        two_layer_squared_error_gradient(X, np.zeros((5, 3)), np.zeros((3, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="X must be finite"):
        two_layer_squared_error_gradient(np.full((5, 4), np.nan), Y, np.zeros((3, 4)), np.zeros((2, 3)))


def test_registry_lists_both_twins():
    assert backend.backends_of(KERNEL) == ("numpy", "numba")
    with pytest.raises(ValueError, match="backend must be one of 'numpy', 'numba'; got 'cuda'"):
        backend.get_kernel(KERNEL, "cuda")
