"""Optimisers: one step against its closed form, exact resume from a saved state, input checks."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.core import optim
from tests.helpers import arrays


@given(arrays((3, 2)), arrays((3, 2)))
def test_sgd_step(theta, grad):
    params = {"w": theta.copy()}
    optim.SGD(lr=0.1).step(params, {"w": grad})
    np.testing.assert_allclose(params["w"], theta - 0.1 * grad)


@given(arrays((4,)), arrays((4,)), arrays((4,)), st.booleans())
def test_momentum_two_steps(theta, g1, g2, nesterov):
    params = {"w": theta.copy()}
    optimiser = optim.Momentum(lr=0.1, momentum=0.9, nesterov=nesterov)
    optimiser.step(params, {"w": g1})
    optimiser.step(params, {"w": g2})
    v1, v2 = g1, 0.9 * g1 + g2
    step1 = g1 + 0.9 * v1 if nesterov else v1
    step2 = g2 + 0.9 * v2 if nesterov else v2
    np.testing.assert_allclose(params["w"], theta - 0.1 * step1 - 0.1 * step2, rtol=1e-12, atol=1e-12)


@given(arrays((5,)), arrays((5,), 0.01, 3.0))
def test_first_adam_step_moves_by_lr_times_sign(theta, magnitude):
    grad = magnitude * np.where(np.arange(5) % 2, 1.0, -1.0)
    params = {"w": theta.copy()}
    optim.Adam(lr=0.01, eps=1e-12).step(params, {"w": grad})
    np.testing.assert_allclose(params["w"], theta - 0.01 * np.sign(grad), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("make", [lambda: optim.SGD(0.05), lambda: optim.Momentum(0.05),
                                  lambda: optim.Adam(0.05)], ids=["sgd", "momentum", "adam"])
def test_resume_from_state_dict_is_exact(make, rng):
    gradients = [{"w": rng.standard_normal(3), "b": rng.standard_normal(2)} for _ in range(6)]
    straight = {"w": np.ones(3), "b": np.zeros(2)}
    optimiser = make()
    for g in gradients:
        optimiser.step(straight, g)
    resumed = {"w": np.ones(3), "b": np.zeros(2)}
    first = make()
    for g in gradients[:3]:
        first.step(resumed, g)
    second = make().load_state_dict(first.state_dict())
    for g in gradients[3:]:
        second.step(resumed, g)
    for key in straight:
        np.testing.assert_array_equal(resumed[key], straight[key])


def test_bad_hyper_parameters_and_mismatched_gradients_are_refused():
    with pytest.raises(ValueError, match="lr must be > 0"):
        optim.SGD(lr=0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        optim.Momentum(lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match=r"grads\['w'\] must have the shape of params\['w'\] = \(3,\); got \(2,\)"):
        optim.Adam().step({"w": np.zeros(3)}, {"w": np.zeros(2)})
    with pytest.raises(ValueError, match="missing"):
        optim.SGD(0.1).step({"w": np.zeros(3)}, {})
