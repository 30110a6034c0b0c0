"""Every loss's hand-derived gradient against central finite differences (float64, hypothesis inputs)."""

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from refimpl.core import losses
from refimpl.core.gradcheck import assert_gradients
from tests.helpers import arrays

shapes = st.tuples(st.integers(1, 6), st.integers(1, 6))


@given(shapes.flatmap(lambda s: st.tuples(arrays(s), arrays(s))))
def test_squared_error_gradient(inputs):
    pred, target = inputs
    loss, dpred = losses.squared_error(pred, target)
    assert loss == pytest.approx(0.5 * np.sum((pred - target) ** 2))
    assert_gradients(lambda p: losses.squared_error(p, target)[0], [pred], [dpred])


@given(shapes.flatmap(lambda s: st.tuples(arrays(s, -20, 20),
                                          st.lists(st.integers(0, s[1] - 1), min_size=s[0], max_size=s[0]))))
def test_softmax_cross_entropy_gradient(inputs):
    logits, labels = inputs
    labels = np.array(labels)
    loss, dlogits = losses.softmax_cross_entropy(logits, labels)
    assert loss >= 0
    comparison = assert_gradients(lambda z: losses.softmax_cross_entropy(z, labels)[0], [logits], [dlogits])
    note(f"worst relative error {comparison.max_rel_error:.2e}")


@given(shapes.flatmap(lambda s: st.tuples(arrays(s, -30, 30), arrays(s, 0.0, 1.0))))
def test_binary_cross_entropy_gradient(inputs):
    logits, targets = inputs
    _, dlogits = losses.binary_cross_entropy_with_logits(logits, targets)
    assert_gradients(lambda z: losses.binary_cross_entropy_with_logits(z, targets)[0], [logits], [dlogits])


CRITIC_LOSSES = [losses.least_squares_discriminator_loss, losses.gan_discriminator_loss,
                 losses.wasserstein_critic_loss]
GENERATOR_LOSSES = [losses.least_squares_generator_loss, losses.non_saturating_generator_loss,
                    losses.minimax_generator_loss, losses.wasserstein_generator_loss]


@pytest.mark.parametrize("loss", CRITIC_LOSSES, ids=lambda f: f.__name__)
@given(scores=st.tuples(st.integers(1, 8), st.integers(1, 8)).flatmap(
    lambda n: st.tuples(arrays((n[0],), -10, 10), arrays((n[1],), -10, 10))))
def test_critic_loss_gradients(loss, scores):
    real, fake = scores
    _, d_real, d_fake = loss(real, fake)
    assert_gradients(lambda r, f: loss(r, f)[0], [real, fake], [d_real, d_fake])


@pytest.mark.parametrize("loss", GENERATOR_LOSSES, ids=lambda f: f.__name__)
@given(fake=st.integers(1, 8).flatmap(lambda n: arrays((n,), -10, 10)))
def test_generator_loss_gradients(loss, fake):
    _, d_fake = loss(fake)
    assert_gradients(lambda f: loss(f)[0], [fake], [d_fake])


def test_losses_stay_finite_for_extreme_logits():
    logits = np.array([-1000.0, 0.0, 1000.0])
    loss, grad = losses.binary_cross_entropy_with_logits(logits, np.array([1.0, 0.5, 0.0]))
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx((1000.0 + np.log(2.0) + 1000.0) / 3)
    loss, grad = losses.minimax_generator_loss(np.array([800.0]))
    assert loss == pytest.approx(-800.0) and grad[0] == pytest.approx(-1.0)


def test_non_saturating_gradient_is_large_where_minimax_saturates():
    rejected = np.array([-8.0])  # the critic is sure this sample is fake
    _, d_non_saturating = losses.non_saturating_generator_loss(rejected)
    _, d_minimax = losses.minimax_generator_loss(rejected)
    assert abs(d_non_saturating[0]) > 1000 * abs(d_minimax[0])
