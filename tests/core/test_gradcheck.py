"""The referee itself: the finite-difference check must accept right gradients and reject wrong ones."""

import numpy as np
import pytest
from hypothesis import given

from refimpl.core.gradcheck import assert_gradients, compare_gradients, numerical_gradient
from tests.helpers import arrays


@given(arrays((3, 4)))
def test_numerical_gradient_of_a_cubic_is_accurate(x):
    (gradient,) = numerical_gradient(lambda z: np.sum(z**3), [x])
    np.testing.assert_allclose(gradient, 3 * x**2, rtol=1e-8, atol=1e-8)


@given(arrays((2, 3)), arrays((2, 3)))
def test_array_output_is_projected_on_dout(x, dout):
    (gradient,) = numerical_gradient(np.sin, [x], dout=dout)
    np.testing.assert_allclose(gradient, np.cos(x) * dout, rtol=1e-7, atol=1e-9)


@given(arrays((3,), 0.5, 3.0))
def test_a_wrong_gradient_is_rejected(x):
    with pytest.raises(AssertionError, match="disagrees with central differences"):
        assert_gradients(lambda z: np.sum(z**2), [x], [2 * x * (1 + 1e-4)])


def test_zero_gradients_pass_through_the_absolute_floor():
    comparison = compare_gradients([np.array([1e-12, 0.0])], [np.array([0.0, 1e-13])])
    assert comparison.passed


def test_inputs_are_not_modified():
    x = np.arange(4.0)
    numerical_gradient(lambda z: np.sum(z**2), [x])
    np.testing.assert_array_equal(x, np.arange(4.0))


def test_array_output_without_dout_is_an_error():
    with pytest.raises(ValueError, match="pass dout"):
        numerical_gradient(np.sin, [np.ones(2)])
