"""Gradient flow: explicit Euler agrees with solve_ivp on short horizons; training is reproducible."""

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from refimpl.prd import flow, model, theory
from tests.prd.strategies import problems


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


@settings(max_examples=12)
@given(st.integers(3, 8), st.integers(4, 8), st.integers(128, 256), st.floats(0.05, 0.5), st.integers(0, 2**32 - 1))
def test_supervised_flow_decreases_the_loss_below_the_stability_limit(n, d_in, m, factor, seed):
    """Over-parameterised (m ≥ 128 ≫ n, λ₀ ≥ 0.05), d_out = 1, V frozen: the theorems' setting, where the
    flow's kernel H(t) stays near H∞. Gradient descent with dt = factor/λ_max ≤ 0.5/λ_max, a quarter of the
    limit 2/λ_max (λ_max the larger of H∞'s and the initial finite-width Gram's), never increases L_sup.
    (With few neurons or inputs in 2-3 dimensions, H(t) moves and the loss can rise by up to 1e-3 at dt ≈ 1/λ_max.)"""
    rng = np.random.default_rng(seed)
    X = model.normalise_inputs(rng.standard_normal((n, d_in)))
    assume(theory.lambda0(theory.gram_infinity(X)) > 5e-2)  # no (near-)parallel inputs: Assumption 1
    U, V = model.init_generator(rng, d_in, 1, m)
    Y = rng.standard_normal((n, 1))
    lambda_max = max(np.linalg.eigvalsh(theory.gram_infinity(X))[-1], np.linalg.eigvalsh(theory.gram_finite(X, U))[-1])
    run = flow.train(X, Y, U, V, dt=factor / lambda_max, steps=300, adversarial=False, train_V=False,
                     checkpoints=300)
    note(f"largest increase {np.diff(run.loss_sup).max():.3e}")
    assert np.all(np.diff(run.loss_sup) <= 1e-12 * run.loss_sup[0])
    assert run.residual[-1] < run.residual[0]


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
    with pytest.raises(ValueError, match="checkpoints must be >= 1"):
        flow.train(X, Y, U, V, dt=0.1, steps=5, adversarial=False, checkpoints=0)
    with pytest.raises(ValueError, match="critic_rate must be >= 0"):
        flow.integrate_flow(X, Y, U, V, 0.1, adversarial=True, W=W, a=a, critic_rate=-1.0)
    shapes = [U.shape, V.shape, W.shape, a.shape]
    with pytest.raises(ValueError, match="needs epsilon"):
        flow.joint_field(flow.pack(U, V, W, a), X, Y, shapes, adversarial=True, critic_rate=1.0, penalty=1.0)
    with pytest.raises(ValueError, match="vector must have shape"):
        flow.joint_field(flow.pack(U, V), X, Y, shapes, adversarial=True, critic_rate=1.0)


def test_a_non_finite_continuous_state_is_an_error_naming_its_time(rng, monkeypatch):
    """solve_ivp may return NaN states (a field that overflows); integrate_flow stops at the first one."""
    X, Y, U, V, _, _ = small_problem(rng)
    solve_ivp = flow.solve_ivp

    def overflowing(*args, **kwargs):
        solution = solve_ivp(*args, **kwargs)
        solution.y[3, 2:] = np.inf
        return solution

    monkeypatch.setattr(flow, "solve_ivp", overflowing)
    with pytest.raises(FloatingPointError, match=r"state at t = 0.05 became inf at step 2 of 4"):
        flow.integrate_flow(X, Y, U, V, 0.1, adversarial=False, t_eval=np.linspace(0.0, 0.1, 5))


def _copies(*arrays):
    return [np.array(v, copy=True) for v in arrays]


@settings(max_examples=10)
@given(problems(), st.sampled_from(["numpy", "numba"]))
def test_no_function_mutates_its_inputs(problem, backend):
    X, Y, U, V, W, a = problem
    before = _copies(*problem)
    model.supervised_gradient(X, Y, U, V, backend=backend)
    model.adversarial_gradient(X, U, V, W, a, backend=backend)
    model.augmented_parts(X, Y, U, V, W, a, backend=backend)
    model.prd_split(X, Y, U, V, W, a)
    model.critic_objective(Y, model.generator_forward(X, U, V), W, a, penalty=1.0, Y_hat=Y)
    for critic in (flow.CriticSettings(rate=0.5, regulariser="penalty"),
                   flow.CriticSettings(rate=0.5, regulariser="projection", bound=0.5)):
        flow.train(X, Y, U, V, dt=0.01, steps=3, adversarial=True, W=W, a=a, critic=critic,
                   rng=np.random.default_rng(0), checkpoints=1, backend=backend)
    for original, now in zip(before, (X, Y, U, V, W, a), strict=True):
        np.testing.assert_array_equal(now, original)


def test_training_validates_once_before_the_loop(rng, monkeypatch):
    """Public entry points validate; the steps call only unchecked private functions: the number of
    array checks of one flow.train does not grow with the number of steps."""
    from refimpl.core import kernels as core_kernels
    from refimpl.core import validate

    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return validate.as_float_array(*args, **kwargs)

    for module in (model, flow, core_kernels):
        monkeypatch.setattr(module, "as_float_array", counting)
    X, Y, U, V, W, a = small_problem(rng)
    counts = {}
    for steps in (2, 20):
        calls.clear()
        for regulariser in ("penalty", "projection"):
            flow.train(X, Y, U, V, dt=0.01, steps=steps, adversarial=True, W=W, a=a, rng=np.random.default_rng(0),
                       critic=flow.CriticSettings(rate=0.5, regulariser=regulariser), checkpoints=1)
        flow.train(X, Y, U, V, dt=0.01, steps=steps, adversarial=False, checkpoints=1)
        counts[steps] = len(calls)
    assert counts[2] == counts[20] > 0


def test_flat_field_is_the_joint_field(rng):
    X, Y, U, V, W, a = small_problem(rng)
    epsilon = rng.uniform(size=(X.shape[0], 1))
    field, state, shapes = flow.flat_field(X, Y, U, V, adversarial=True, W=W, a=a, critic_rate=0.5, penalty=2.0,
                                           epsilon=epsilon)
    np.testing.assert_array_equal(field(state), flow.joint_field(state, X, Y, shapes, adversarial=True,
                                                                 critic_rate=0.5, penalty=2.0, epsilon=epsilon))
    with pytest.raises(ValueError, match="needs epsilon"):
        flow.flat_field(X, Y, U, V, adversarial=True, W=W, a=a, critic_rate=0.5, penalty=2.0)
    with pytest.raises(ValueError, match=r"epsilon must have shape \(n, 1\)"):
        flow.flat_field(X, Y, U, V, adversarial=True, W=W, a=a, critic_rate=0.5, penalty=2.0, epsilon=epsilon[1:])
    with pytest.raises(ValueError, match="adversarial=True needs"):
        flow.flat_field(X, Y, U, V, adversarial=True)


def test_adversarial_weight_zero_leaves_the_generator_on_the_supervised_flow():
    rng = np.random.default_rng(11)
    X = model.normalise_inputs(rng.standard_normal((6, 3)))
    Y = rng.standard_normal((6, 2))
    U, V = model.init_generator(rng, 3, 2, 5)
    W, a = model.init_critic(rng, 2, 4)
    common = dict(dt=0.05, steps=20, checkpoints=2, backend="numpy")
    sup = flow.train(X, Y, U, V, adversarial=False, **common)
    silent = flow.train(X, Y, U, V, adversarial=True, W=W, a=a, rng=1, critic=flow.CriticSettings(weight=0.0), **common)
    full = flow.train(X, Y, U, V, adversarial=True, W=W, a=a, rng=1, critic=flow.CriticSettings(), **common)
    np.testing.assert_allclose(silent.U, sup.U, atol=1e-13)
    np.testing.assert_allclose(silent.V, sup.V, atol=1e-13)
    assert np.abs(full.U - sup.U).max() > 1e-6  # at β = 1 the adversary does move the generator
