"""Convolution (2-D and over time), max-pooling and max over time against torch float64 autograd
(skipped when torch is not installed)."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refimpl.core import conv
from tests.core.test_conv import _top_gap, conv_inputs, pool_inputs, text_inputs, time_pool_inputs

torch = pytest.importorskip("torch", exc_type=ImportError)
from tests.torch_helpers import assert_close, torch_gradients  # noqa: E402  (needs torch)

pytestmark = pytest.mark.torch
F = torch.nn.functional


@settings(max_examples=20)
@given(conv_inputs(), st.sampled_from(["numpy", "numba"]))
def test_conv2d_matches_torch(inputs, backend):
    x, K, b, pad, dout = inputs
    out, cache = conv.conv2d_forward(x, K, b, pad, backend=backend)
    value, grads = torch_gradients(lambda x, K, b: F.conv2d(x, K, b, padding=pad), x, K, b, dout=dout)
    assert_close([out, *conv.conv2d_backward(dout, cache)], [value, *grads])


@settings(max_examples=20)
@given(pool_inputs(), st.sampled_from(["numpy", "numba"]))
def test_max_pool_matches_torch_including_ties(inputs, backend):
    x, size, dout = inputs
    out, cache = conv.max_pool_forward(x, size, backend=backend)
    value, grads = torch_gradients(lambda x: F.max_pool2d(x, size), x, dout=dout)
    assert_close([out, conv.max_pool_backward(dout, cache)], [value, *grads])


@settings(max_examples=20)
@given(text_inputs(), st.sampled_from(["numpy", "numba"]))
def test_temporal_conv_matches_torch_conv1d(inputs, backend):
    # torch's conv1d takes (n, channels = E, T) and filters (F, E, w): the embedding is its channel axis
    x, W, b, dout = inputs
    out, cache = conv.temporal_conv_forward(x, W, b, backend=backend)
    value, grads = torch_gradients(lambda x, W, b: F.conv1d(x.transpose(1, 2), W.transpose(1, 2), b), x, W, b,
                                   dout=dout)
    assert_close([out, *conv.temporal_conv_backward(dout, cache)], [value, *grads])


@settings(max_examples=20)
@given(time_pool_inputs(), st.sampled_from(["numpy", "numba"]))
def test_max_over_time_matches_torch(inputs, backend):
    x, dout = inputs
    assume(_top_gap(x) >= 1e-3)  # torch breaks ties by its own rule; away from ties the gradient is unique
    out, cache = conv.max_over_time_forward(x, backend=backend)
    value, grads = torch_gradients(lambda x: x.max(dim=-1).values, x, dout=dout)
    assert_close([out, conv.max_over_time_backward(dout, cache)], [value, *grads])
