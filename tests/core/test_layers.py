"""Every layer's hand-derived backward pass against central finite differences (float64).

Shapes and values are drawn by hypothesis; ReLU-type inputs are kept 1e-3 away from the kink, where
no finite difference can agree with a one-sided derivative.
"""

import numpy as np
from hypothesis import given, note
from hypothesis import strategies as st

from refimpl.core import layers
from refimpl.core.gradcheck import assert_gradients
from tests.helpers import arrays, off_kink_arrays

dims = st.integers(1, 5)


@st.composite
def affine_inputs(draw):
    n, d_in, d_out = draw(dims), draw(dims), draw(dims)
    return draw(arrays((n, d_in))), draw(arrays((d_out, d_in))), draw(arrays((d_out,))), draw(arrays((n, d_out)))


@given(affine_inputs())
def test_affine_gradients_match_finite_differences(inputs):
    x, w, b, dout = inputs
    out, cache = layers.affine_forward(x, w, b)
    np.testing.assert_allclose(out, x @ w.T + b)
    comparison = assert_gradients(lambda x, w, b: layers.affine_forward(x, w, b)[0], [x, w, b],
                                  layers.affine_backward(dout, cache), dout=dout)
    note(f"worst relative error {comparison.max_rel_error:.2e}")


ELEMENTWISE = {
    "relu": (layers.relu_forward, layers.relu_backward, True),
    "leaky_relu": (lambda x: layers.leaky_relu_forward(x, 0.5), layers.leaky_relu_backward, True),
    "tanh": (layers.tanh_forward, layers.tanh_backward, False),
    "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward, False),
    "softmax": (layers.softmax_forward, layers.softmax_backward, False),
}


@st.composite
def elementwise_inputs(draw):
    shape = (draw(dims), draw(dims))
    name = draw(st.sampled_from(sorted(ELEMENTWISE)))
    has_kink = ELEMENTWISE[name][2]
    return name, draw(off_kink_arrays(shape) if has_kink else arrays(shape)), draw(arrays(shape))


@given(elementwise_inputs())
def test_elementwise_gradients_match_finite_differences(inputs):
    name, x, dout = inputs
    forward, backward, _ = ELEMENTWISE[name]
    _, cache = forward(x)
    comparison = assert_gradients(lambda x: forward(x)[0], [x], [backward(dout, cache)], dout=dout)
    note(f"{name}: worst relative error {comparison.max_rel_error:.2e}")


@given(arrays((4, 6), low=-800.0, high=800.0))
def test_sigmoid_and_softmax_are_finite_for_large_inputs(x):
    s = layers.sigmoid(x)
    p = layers.softmax(x)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(np.isfinite(p))


def test_relu_and_leaky_relu_values():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(layers.relu_forward(x)[0], [0.0, 0.0, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(layers.leaky_relu_forward(x, 0.5)[0], [-1.0, -0.25, 0.0, 0.5, 2.0])
