"""Gradient flow: explicit Euler agrees with solve_ivp on short horizons; training is reproducible."""

import numpy as np
import pytest

from refimpl.prd import flow, model


def small_problem(rng, n=5, d_in=3, d_out=2, m=6):
    X = model.normalise_inputs(rng.standard_normal((n, d_in)))
    U, V = model.init_generator(rng, d_in, d_out, m)
    W, a = model.init_critic(rng, d_out, m)
    return X, rng.standard_normal((n, d_out)), U, V, W, a


@pytest.mark.parametrize("adversarial, critic_rate", [(False, 0.0), (True, 0.0), (True, 0.5)])
def test_euler_converges_to_the_continuous_flow(rng, adversarial, critic_rate):
    """Halving dt halves the Euler error against solve_ivp (first order), and the error is small."""
    X, Y, U, V, W, a = small_problem(rng)
    t_end = 0.2
    _, states = flow.integrate_flow(X, Y, U, V, t_end, adversarial=adversarial, W=W, a=a,
                                    critic_rate=critic_rate, t_eval=[t_end])
    exact_U, exact_V = states[-1][0], states[-1][1]
    critic = flow.CriticSettings(rate=critic_rate, regulariser="none") if critic_rate > 0 else None
    errors = []
    for steps in (200, 400):
        run = flow.train(X, Y, U, V, dt=t_end / steps, steps=steps, adversarial=adversarial, W=W, a=a,
                         critic=critic, checkpoints=2, backend="numba")
        errors.append(max(np.abs(run.U - exact_U).max(), np.abs(run.V - exact_V).max()))
        if critic_rate > 0:
            np.testing.assert_allclose(run.W, states[-1][2], atol=1e-2)
    assert errors[1] < 2e-3
    assert 1.6 < errors[0] / errors[1] < 2.4  # first-order convergence: the test fails on a wrong field


def test_frozen_top_layer_and_reproducibility(rng):
    X, Y, U, V, W, a = small_problem(rng)
    critic = flow.CriticSettings(rate=0.5, regulariser="penalty", penalty=10.0)
    runs = [flow.train(X, Y, U, V, dt=0.05, steps=30, adversarial=True, W=W, a=a, critic=critic, train_V=False,
                       rng=np.random.default_rng(7), checkpoints=5) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].U, runs[1].U)
    np.testing.assert_array_equal(runs[0].drift_max, runs[1].drift_max)
    np.testing.assert_array_equal(runs[0].V, V)
    assert runs[0].times[0] == 0 and runs[0].times[-1] == pytest.approx(1.5)
    assert runs[0].neuron_drift.shape == (6, 6)


def test_supervised_flow_decreases_the_loss(rng):
    X, Y, U, V, _, _ = small_problem(rng, m=50)
    run = flow.train(X, Y, U, V, dt=0.2, steps=500, adversarial=False, checkpoints=10)
    assert np.all(np.diff(run.loss_sup) <= 1e-12)
    assert run.residual[-1] < 0.5 * run.residual[0]


def test_projection_keeps_the_critic_in_the_ball(rng):
    X, Y, U, V, W, a = small_problem(rng)
    critic = flow.CriticSettings(rate=1.0, regulariser="projection", bound=0.5)
    run = flow.train(X, Y, U, V, dt=0.05, steps=20, adversarial=True, W=W, a=a, critic=critic)
    assert np.linalg.norm(run.W) <= 0.5 + 1e-12


def test_bad_settings_are_refused(rng):
    X, Y, U, V, W, a = small_problem(rng)
    with pytest.raises(ValueError, match="adversarial=True needs"):
        flow.train(X, Y, U, V, dt=0.1, steps=5, adversarial=True)
    with pytest.raises(ValueError, match="needs rng"):
        flow.train(X, Y, U, V, dt=0.1, steps=5, adversarial=True, W=W, a=a, critic=flow.CriticSettings())
    with pytest.raises(ValueError, match="regulariser"):
        flow.CriticSettings(regulariser="clip")
    with pytest.raises(ValueError, match="dt must be > 0"):
        flow.train(X, Y, U, V, dt=0.0, steps=5, adversarial=False)
    with pytest.raises(FloatingPointError, match="at step"):
        with np.errstate(all="ignore"):
            flow.train(X, Y, U, V, dt=10.0, steps=50, adversarial=False)
