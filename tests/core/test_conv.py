"""Convolution (2-D and over time) and pooling (max-pool, max over time): NumPy and numba twins agree, both
gradients match finite differences, and bad input is refused before any kernel runs."""

import re

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from refimpl.core.backend import backends_of
from refimpl.core.gradcheck import assert_gradients
from refimpl.core import conv
from tests.helpers import arrays


@st.composite
def conv_inputs(draw, max_size=6):
    n, C, F = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pad = draw(st.integers(0, 2))
    H = draw(st.integers(max(1, kh - 2 * pad), max_size))
    W = draw(st.integers(max(1, kw - 2 * pad), max_size))
    x, K, b = draw(arrays((n, C, H, W))), draw(arrays((F, C, kh, kw))), draw(arrays((F,)))
    out_shape = (n, F, H + 2 * pad - kh + 1, W + 2 * pad - kw + 1)
    return x, K, b, pad, draw(arrays(out_shape))


@given(conv_inputs(max_size=9))
def test_conv2d_twins_agree(inputs):
    x, K, b, pad, dout = inputs
    out_numpy, cache_numpy = conv.conv2d_forward(x, K, b, pad, backend="numpy")
    out_numba, cache_numba = conv.conv2d_forward(x, K, b, pad, backend="numba")
    np.testing.assert_allclose(out_numba, out_numpy, rtol=1e-12, atol=1e-12)
    for numba_grad, numpy_grad in zip(conv.conv2d_backward(dout, cache_numba),
                                      conv.conv2d_backward(dout, cache_numpy)):
        np.testing.assert_allclose(numba_grad, numpy_grad, rtol=1e-12, atol=1e-11)
    for cache in (cache_numpy, cache_numba):  # skipping the input gradient leaves dK and db unchanged
        dx, dK, db = conv.conv2d_backward(dout, cache, input_gradient=False)
        assert dx is None
        np.testing.assert_array_equal(dK, conv.conv2d_backward(dout, cache)[1])
        np.testing.assert_array_equal(db, conv.conv2d_backward(dout, cache)[2])


@settings(max_examples=20)
@given(conv_inputs(), st.sampled_from(["numpy", "numba"]))
def test_conv2d_gradients_match_finite_differences(inputs, backend):
    # the central differences evaluate the NumPy forward pass (the definition; the twins' forward passes
    # are proven equal above), the analytic gradients come from the backend under test
    x, K, b, pad, dout = inputs
    _, cache = conv.conv2d_forward(x, K, b, pad, backend=backend)
    comparison = assert_gradients(lambda x, K, b: conv.conv2d_forward(x, K, b, pad, backend="numpy")[0],
                                  [x, K, b], conv.conv2d_backward(dout, cache), dout=dout)
    note(f"worst relative error {comparison.max_rel_error:.2e}")


def test_conv2d_matches_a_direct_sum():
    # the definition out[n,f,y,x] = b_f + Σ_{c,i,j} K[f,c,i,j] x̃[n,c,y+i,x+j], element by element
    rng = np.random.default_rng(1)
    x, K, b = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.empty((2, 3, 5, 5))
    for index in np.ndindex(expected.shape):
        n, f, y, x_ = index
        expected[index] = b[f] + np.sum(K[f] * padded[n, :, y:y + 3, x_:x_ + 2])
    for backend in ("numpy", "numba"):
        np.testing.assert_allclose(conv.conv2d_forward(x, K, b, 1, backend)[0], expected, rtol=1e-12)


@st.composite
def pool_inputs(draw, distinct=False):
    n, C = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    size = draw(st.integers(1, 3))
    Ho, Wo = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shape = (n, C, Ho * size, Wo * size)
    if distinct:
        # a permutation of well-separated values: every window has a unique maximum, 1e-2 above the rest
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        x = rng.permutation(np.arange(np.prod(shape)) * 1e-2 - 1.0).reshape(shape)
    else:
        # small integers: many ties, which the twins must break alike (first maximum)
        x = draw(arrays(shape, -2, 2)).round()
    return x, size, draw(arrays((n, C, Ho, Wo)))


@given(pool_inputs())
def test_max_pool_twins_agree_exactly_even_with_ties(inputs):
    x, size, dout = inputs
    out_numpy, cache_numpy = conv.max_pool_forward(x, size, backend="numpy")
    out_numba, cache_numba = conv.max_pool_forward(x, size, backend="numba")
    np.testing.assert_array_equal(out_numba, out_numpy)
    np.testing.assert_array_equal(cache_numba[0], cache_numpy[0])
    np.testing.assert_array_equal(conv.max_pool_backward(dout, cache_numba),
                                  conv.max_pool_backward(dout, cache_numpy))
    # out is the window maximum, and exactly one element per window receives its gradient
    n, C, H, W = x.shape
    windows = x.reshape(n, C, H // size, size, W // size, size)
    np.testing.assert_array_equal(out_numpy, windows.max(axis=(3, 5)))
    routed = conv.max_pool_backward(np.ones_like(dout), cache_numpy)
    assert np.all(routed.reshape(windows.shape).sum(axis=(3, 5)) == 1)


@settings(max_examples=20)
@given(pool_inputs(distinct=True), st.sampled_from(["numpy", "numba"]))
def test_max_pool_gradient_matches_finite_differences(inputs, backend):
    x, size, dout = inputs
    _, cache = conv.max_pool_forward(x, size, backend=backend)
    assert_gradients(lambda x: conv.max_pool_forward(x, size, backend=backend)[0], [x],
                     [conv.max_pool_backward(dout, cache)], dout=dout, h=1e-4)


def test_ties_go_to_the_first_maximum():
    x = np.zeros((1, 1, 2, 2))
    for backend in ("numpy", "numba"):
        _, cache = conv.max_pool_forward(x, 2, backend)
        np.testing.assert_array_equal(conv.max_pool_backward(np.ones((1, 1, 1, 1)), cache)[0, 0],
                                      [[1.0, 0.0], [0.0, 0.0]])


def test_kernels_are_registered_for_both_backends():
    for name in (conv.CONV_FORWARD, conv.CONV_BACKWARD, conv.POOL_FORWARD, conv.POOL_BACKWARD,
                 conv.TIME_POOL_FORWARD, conv.TIME_POOL_BACKWARD):
        assert backends_of(name) == ("numpy", "numba")


def _wrong_shape(draw, shape):
    """A shape other than ``shape``: one axis longer or shorter, or an axis dropped or added."""
    axis, change = draw(st.integers(0, len(shape) - 1)), draw(st.sampled_from(["grow", "shrink", "drop", "add"]))
    wrong = list(shape)
    if change == "grow" or (change == "shrink" and wrong[axis] == 1):
        wrong[axis] += 1
    elif change == "shrink":
        wrong[axis] -= 1
    elif change == "drop":
        del wrong[axis]
    else:
        wrong.insert(axis, 1)
    return tuple(wrong)


def _no_kernel(name, backend):
    raise AssertionError(f"kernel {name} ({backend}) reached with a wrong-shaped dout")


@settings(max_examples=30)
@given(st.data(), st.sampled_from(["numpy", "numba"]), st.booleans())
def test_wrong_shaped_dout_is_refused_before_any_kernel_runs(data, backend, pooling):
    # the numba loops index by dout's shape unchecked, so a wrong one must stop at the validation
    if pooling:
        x, size, dout = data.draw(pool_inputs())
        cache = conv.max_pool_forward(x, size, backend=backend)[1]
        backward, described = conv.max_pool_backward, r"\(n, C, Ho, Wo\)"
    else:
        x, K, b, pad, dout = data.draw(conv_inputs())
        cache = conv.conv2d_forward(x, K, b, pad, backend=backend)[1]
        backward, described = conv.conv2d_backward, r"\(n, F, Ho, Wo\)"
    expected = re.escape(str(dout.shape).replace(",)", ")"))
    bad = np.zeros(_wrong_shape(data.draw, dout.shape))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv, "get_kernel", _no_kernel)
        with pytest.raises(ValueError, match=rf"dout must have shape {described} = {expected} .*; "
                                             rf"got {re.escape(str(bad.shape))}"):
            backward(bad, cache)


def test_bad_shapes_are_refused_with_the_parameter_named():
    x, K, b = np.zeros((2, 3, 6, 6)), np.zeros((4, 3, 3, 3)), np.zeros(4)
    with pytest.raises(ValueError, match=r"K must have shape \(F, C, kh, kw\) = \(any, 3, any, any\)"):
        conv.conv2d_forward(x, np.zeros((4, 2, 3, 3)), b)
    with pytest.raises(ValueError, match=r"b must have shape \(F,\) = \(4,\)"):
        conv.conv2d_forward(x, K, np.zeros(3))
    with pytest.raises(ValueError, match="does not fit"):
        conv.conv2d_forward(x, np.zeros((4, 3, 7, 7)), b)
    with pytest.raises(ValueError, match="divisible by size = 4"):
        conv.max_pool_forward(x, 4)
    with pytest.raises(ValueError, match="backend must be one of"):
        conv.max_pool_forward(x, 2, backend="cuda")
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        conv.conv2d_forward(np.zeros((6, 6)), K, b)


@given(conv_inputs(max_size=7))
def test_a_workspace_changes_no_number_and_is_reused(inputs):
    # the numba twin writes its im2col matrices into the workspace's buffers: same results, same buffers
    x, K, b, pad, dout = inputs
    workspace = conv.Workspace()
    fresh_out, fresh_cache = conv.conv2d_forward(x, K, b, pad)
    for _ in range(2):
        out, cache = conv.conv2d_forward(x, K, b, pad, workspace=workspace)
        np.testing.assert_array_equal(out, fresh_out)
        for ours, fresh in zip(conv.conv2d_backward(dout, cache), conv.conv2d_backward(dout, fresh_cache)):
            np.testing.assert_array_equal(ours, fresh)
    assert conv.conv2d_forward(x, K, b, pad, workspace=workspace)[1][0] is cache[0]


@st.composite
def text_inputs(draw):
    n, T, E, F = draw(st.integers(1, 3)), draw(st.integers(1, 7)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    w = draw(st.integers(1, T))
    x, W, b = draw(arrays((n, T, E))), draw(arrays((F, w, E))), draw(arrays((F,)))
    return x, W, b, draw(arrays((n, F, T - w + 1)))


@given(text_inputs())
def test_temporal_conv_twins_agree_and_match_a_direct_sum(inputs):
    x, W, b, dout = inputs
    n, T, E = x.shape
    F, w, _ = W.shape
    # the definition out[n, f, t] = b_f + Σ_{i,e} W[f, i, e] x[n, t + i, e], element by element
    expected = np.array([[[b[f] + np.sum(W[f] * x[p, t:t + w]) for t in range(T - w + 1)] for f in range(F)]
                         for p in range(n)])
    out_numpy, cache_numpy = conv.temporal_conv_forward(x, W, b, backend="numpy")
    out_numba, cache_numba = conv.temporal_conv_forward(x, W, b, backend="numba")
    np.testing.assert_allclose(out_numpy, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out_numba, out_numpy, rtol=1e-12, atol=1e-12)
    for numba_grad, numpy_grad in zip(conv.temporal_conv_backward(dout, cache_numba),
                                      conv.temporal_conv_backward(dout, cache_numpy)):
        np.testing.assert_allclose(numba_grad, numpy_grad, rtol=1e-12, atol=1e-11)


@settings(max_examples=25)
@given(text_inputs(), st.sampled_from(["numpy", "numba"]))
def test_temporal_conv_gradients_match_finite_differences(inputs, backend):
    x, W, b, dout = inputs
    _, cache = conv.temporal_conv_forward(x, W, b, backend=backend)
    grads = conv.temporal_conv_backward(dout, cache)
    assert [g.shape for g in grads] == [x.shape, W.shape, b.shape]
    comparison = assert_gradients(lambda x, W, b: conv.temporal_conv_forward(x, W, b, backend="numpy")[0],
                                  [x, W, b], grads, dout=dout)
    note(f"worst relative error {comparison.max_rel_error:.2e}")


@st.composite
def time_pool_inputs(draw):
    n, F, L = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 6))
    return draw(arrays((n, F, L))), draw(arrays((n, F)))


def _top_gap(x):
    """The gap between the largest and second-largest value along time (inf for one time step)."""
    if x.shape[-1] == 1:
        return np.inf
    top = np.sort(x, axis=-1)
    return float(np.min(top[..., -1] - top[..., -2]))


@settings(max_examples=30)
@given(time_pool_inputs(), st.sampled_from(["numpy", "numba"]))
def test_max_over_time_gradient_matches_finite_differences(inputs, backend):
    x, dout = inputs
    assume(_top_gap(x) >= 1e-3)  # off ties: there the maximum is not differentiable
    out, cache = conv.max_over_time_forward(x, backend=backend)
    np.testing.assert_array_equal(out, x.max(axis=-1))
    assert_gradients(lambda x: conv.max_over_time_forward(x, backend="numpy")[0], [x],
                     [conv.max_over_time_backward(dout, cache)], dout=dout, h=1e-4)


@given(time_pool_inputs())
def test_max_over_time_twins_agree_exactly_and_ties_go_to_the_earliest(inputs):
    x, dout = inputs
    x = x.round()  # small integers: many ties
    (out_numpy, cache_numpy), (out_numba, cache_numba) = (conv.max_over_time_forward(x, backend=backend)
                                                          for backend in ("numpy", "numba"))
    np.testing.assert_array_equal(out_numba, out_numpy)
    dx = conv.max_over_time_backward(dout, cache_numba)
    np.testing.assert_array_equal(dx, conv.max_over_time_backward(dout, cache_numpy))
    first = (x == x.max(axis=-1, keepdims=True)).argmax(axis=-1)  # the earliest maximum
    np.testing.assert_array_equal(np.take_along_axis(dx, first[..., None], axis=-1)[..., 0], dout)
    assert np.count_nonzero(dx) <= np.count_nonzero(dout)


def test_text_layers_refuse_bad_shapes_with_the_parameter_named():
    x = np.zeros((2, 5, 4))
    with pytest.raises(ValueError, match=r"W must have shape \(F, w, E\) = \(any, any, 4\) to span the embedding"):
        conv.temporal_conv_forward(x, np.zeros((3, 2, 5)), np.zeros(3))
    with pytest.raises(ValueError, match=r"does not fit in sequences of length T = 5"):
        conv.temporal_conv_forward(x, np.zeros((3, 6, 4)), np.zeros(3))
    with pytest.raises(ValueError, match=r"b must have shape \(F,\) = \(3,\)"):
        conv.temporal_conv_forward(x, np.zeros((3, 2, 4)), np.zeros(2))
    _, cache = conv.temporal_conv_forward(x, np.zeros((3, 2, 4)), np.zeros(3))
    with pytest.raises(ValueError, match=r"dout must have shape \(n, F, T - w \+ 1\) = \(2, 3, 4\)"):
        conv.temporal_conv_backward(np.zeros((2, 3, 5)), cache)
    _, cache = conv.max_over_time_forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"dout must have shape \(n, F\) = \(2, 3\)"):
        conv.max_over_time_backward(np.zeros((2, 4)), cache)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        conv.max_over_time_forward(np.zeros((2, 3)))


def test_non_finite_dout_empty_batches_and_foreign_caches_are_refused_by_the_public_layers():
    x, K, b = np.ones((2, 1, 4, 4)), np.ones((3, 1, 3, 3)), np.zeros(3)
    out, cache = conv.conv2d_forward(x, K, b, pad=1, backend="numpy")
    dout = np.ones(out.shape)
    dout[1, 2, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"dout must be finite; it holds 1 NaN or infinite value"):
        conv.conv2d_backward(dout, cache)
    pooled, pool_cache = conv.max_pool_forward(x, 2, backend="numpy")
    with pytest.raises(ValueError, match=r"dout must be finite"):
        conv.max_pool_backward(np.full(pooled.shape, np.inf), pool_cache)
    with pytest.raises(TypeError, match="cache must be the tuple returned by max_pool_forward"):
        conv.max_pool_backward(np.ones(pooled.shape), cache)
    with pytest.raises(ValueError, match=r"x must hold at least one sample; got shape \(0, 1, 4, 4\)"):
        conv.max_pool_forward(x[:0], 2)
    with pytest.raises(ValueError, match=r"x must hold at least one sample; got shape \(0, 3, 5\)"):
        conv.max_over_time_forward(np.ones((0, 3, 5)))
    with pytest.raises(TypeError, match="workspace must be a refimpl.core.conv.Workspace or None; got dict"):
        conv.conv2d_forward(x, K, b, workspace={})


def test_only_the_validated_layers_are_public():
    assert "conv2d_forward" in conv.__all__
    assert not [name for name in conv.__all__ if name.endswith(("_numpy", "_numba"))]
    assert callable(conv.conv2d_forward_numba)  # the twins stay importable by name
