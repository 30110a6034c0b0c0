"""The plastic softmax layer: gradients through ≥ 3 episode steps for w, b, α, η and x (Hebb, Oja, clipped away
from the clip) against finite differences; plasticity off is the plain softmax bit for bit; the trace's rule."""

import numpy as np
import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from refimpl.core.gradcheck import assert_gradients
from refimpl.core.layers import softmax
from refimpl.seqgan import plastic
from tests.helpers import arrays, floats


@st.composite
def episodes(draw, rule):
    """An episode of N = 3 … 6 steps through a (d, K) layer, d ≤ 4, K ≤ 3, with labels for the cross-entropy."""
    N, d, K = draw(st.integers(3, 6)), draw(st.integers(1, 4)), draw(st.integers(2, 3))
    x = draw(arrays((N, d), -2.0, 2.0))
    w, alpha = draw(arrays((d, K), -1.5, 1.5)), draw(arrays((d, K), -1.5, 1.5))
    b = draw(arrays((K,), -1.0, 1.0))
    eta = draw(floats(0.05, 0.95))
    labels = draw(hnp.arrays(np.int64, (N,), elements=st.integers(0, K - 1)))
    trace = draw(arrays((d, K), -0.5, 0.5)) if draw(st.booleans()) else None
    return x, w, b, alpha, eta, labels, trace


def _cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean()


def _check_episode(case, rule, clip=2.0):
    x, w, b, alpha, eta, labels, trace = case

    def loss(x, w, b, alpha, eta):
        logits, _, _ = plastic.plastic_softmax_forward(x, w, b, alpha, float(eta), rule=rule, clip=clip, trace=trace)
        return _cross_entropy(logits, labels)

    logits, probabilities, cache = plastic.plastic_softmax_forward(x, w, b, alpha, eta, rule=rule, clip=clip,
                                                                   trace=trace)
    dlogits = (probabilities - np.eye(w.shape[1])[labels]) / len(labels)
    dx, dw, db, dalpha, deta = plastic.plastic_softmax_backward(dlogits, cache)
    comparison = assert_gradients(loss, [x, w, b, alpha, np.array(eta)], [dx, dw, db, dalpha, np.array(deta)])
    note(f"{rule}: {comparison}")
    return cache


@pytest.mark.parametrize("rule", ["hebb", "oja"])
@given(data=st.data())
def test_gradients_through_the_episode_match_finite_differences(rule, data):
    _check_episode(data.draw(episodes(rule)), rule)


CLIP = 0.4  # small enough that the drawn traces reach it in about a third of the examples


def away_from_the_clip(case, clip=CLIP, margin=1e-3):
    """True when no unclipped trace entry of the episode lies within ``margin`` of ±clip (where the
    derivative jumps and neither differences nor another autograd can agree)."""
    x, w, b, alpha, eta, _, trace = case
    _, probabilities, cache = plastic.plastic_softmax_forward(x, w, b, alpha, eta, rule="clip", clip=clip, trace=trace)
    unclipped = cache["traces"][:-1] + eta * x[:, :, None] * probabilities[:, None, :]
    return bool(np.all(np.abs(np.abs(unclipped) - clip) > margin))


@given(episodes("clip"))
def test_clipped_trace_gradients_match_finite_differences_away_from_the_clip(case):
    assume(away_from_the_clip(case))
    _check_episode(case, "clip", CLIP)


def test_the_clipped_trace_stays_within_the_bound_and_reaches_it(rng):
    x = 3.0 * rng.standard_normal((20, 3))
    _, _, cache = plastic.plastic_softmax_forward(x, np.zeros((3, 2)), np.zeros(2), np.ones((3, 2)), 0.5,
                                                  rule="clip", clip=0.7)
    assert np.abs(cache["traces"]).max() == pytest.approx(0.7)


def test_hebbian_trace_is_the_decaying_average_of_pre_post_products(rng):
    x, w, b, alpha = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((3, 2))
    _, y, cache = plastic.plastic_softmax_forward(x, w, b, alpha, 0.3)
    expected = sum(0.3 * 0.7 ** (3 - t) * np.outer(x[t], y[t]) for t in range(4))
    np.testing.assert_allclose(cache["traces"][-1], expected, rtol=1e-12)
    # the first step sees no trace: the plain softmax; the second sees H_1 = η x_0ᵀ y_0
    np.testing.assert_allclose(y[0], softmax(x[0] @ w + b), rtol=1e-14)
    np.testing.assert_allclose(y[1], softmax(x[1] @ (w + alpha * 0.3 * np.outer(x[0], y[0])) + b), rtol=1e-12)


@pytest.mark.parametrize("rule", plastic.RULES)
def test_plasticity_off_is_the_plain_softmax_bit_for_bit(rule, rng):
    x, w, b = rng.standard_normal((64, 30)), rng.standard_normal((30, 2)), rng.standard_normal(2)
    # the NumPy reference (the numba twin's exp may differ in the last bit; the twin test bounds it)
    logits, y, cache = plastic.plastic_softmax_forward(x, w, b, np.zeros((30, 2)), 0.0, rule=rule, backend="numpy")
    plain = x @ w + b
    np.testing.assert_array_equal(logits, plain)
    np.testing.assert_array_equal(y, softmax(plain))
    dlogits = rng.standard_normal((64, 2))
    dx, dw, db, dalpha, deta = plastic.plastic_softmax_backward(dlogits, cache)
    np.testing.assert_array_equal(dx, dlogits @ w.T)
    np.testing.assert_array_equal(dw, x.T @ dlogits)
    np.testing.assert_array_equal(db, dlogits.sum(axis=0))
    assert not dalpha.any() and deta == 0.0


@pytest.mark.parametrize("rule", plastic.RULES)
@given(data=st.data())
def test_numpy_and_numba_episode_twins_agree(rule, data):
    x, w, b, alpha, eta, labels, trace = data.draw(episodes(rule))
    outputs = {}
    for backend in ("numpy", "numba"):
        logits, probabilities, cache = plastic.plastic_softmax_forward(x, w, b, alpha, eta, rule=rule, clip=CLIP,
                                                                       trace=trace, backend=backend)
        dlogits = (probabilities - np.eye(w.shape[1])[labels]) / len(labels)
        outputs[backend] = (logits, probabilities, cache["traces"],
                            *plastic.plastic_softmax_backward(dlogits, cache))
    for ours, reference in zip(outputs["numba"], outputs["numpy"]):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-13)


def test_bad_input_is_refused(rng):
    x, w, b, alpha = np.ones((3, 2)), np.ones((2, 2)), np.ones(2), np.ones((2, 2))
    with pytest.raises(ValueError, match=r"eta must be in \[0, 1\]"):
        plastic.plastic_softmax_forward(x, w, b, alpha, 1.5)
    with pytest.raises(ValueError, match=r"alpha must have shape \(d, K\) = \(2, 2\)"):
        plastic.plastic_softmax_forward(x, w, b, np.ones((3, 2)), 0.1)
    with pytest.raises(ValueError, match="rule must be one of"):
        plastic.plastic_softmax_forward(x, w, b, alpha, 0.1, rule="bcm")
    with pytest.raises(ValueError, match="backend must be one of"):
        plastic.plastic_softmax_forward(x, w, b, alpha, 0.1, backend="cuda")
    with pytest.raises(ValueError, match=r"w must have shape \(d, K\) = \(2, any\) to match x"):
        plastic.plastic_softmax_forward(x, np.ones((3, 2)), b, alpha, 0.1)
