"""Linear function approximation: hand gradient, computed β, and the slides' descent theorem as properties."""

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from refimpl.core.gradcheck import assert_gradients, numerical_gradient
from refimpl.data import noisy_line
from refimpl.tutorial import model, theory
from tests.helpers import arrays, floats


@st.composite
def line_data(draw):
    """A random data set (x, y) and a starting point: sizes, slopes, noise and ranges all drawn."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(2, 40))
    low = draw(floats(-20.0, 5.0))
    x, y = noisy_line(rng, n, slope=draw(floats(-10, 10)), intercept=draw(floats(-10, 10)),
                      noise=draw(floats(0.0, 5.0)), low=low, high=low + draw(floats(0.5, 30.0)))
    theta_0 = np.array([draw(floats(-50, 50)), draw(floats(-50, 50))])
    return x, y, theta_0


@given(line_data())
def test_linear_gradient_matches_finite_differences(data):
    x, y, theta = data
    assert_gradients(lambda t: model.linear_loss(t, x, y)[0], [theta], [model.linear_loss(theta, x, y)[1]])


@given(line_data())
def test_beta_is_the_largest_eigenvalue_of_the_finite_difference_hessian(data):
    x, y, theta = data
    # the Hessian by central differences of the hand gradient, then its spectral norm
    columns = numerical_gradient(lambda t: model.linear_loss(t, x, y)[1], [theta], dout=np.eye(2)[0])[0], \
        numerical_gradient(lambda t: model.linear_loss(t, x, y)[1], [theta], dout=np.eye(2)[1])[0]
    numerical_hessian = np.array(columns)
    np.testing.assert_allclose(numerical_hessian, theory.hessian(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(theory.smoothness_constant(x), np.linalg.norm(numerical_hessian, 2), rtol=1e-6)


@settings(max_examples=60)
@given(line_data(), st.integers(1, 300))
def test_descent_lemma_and_stationarity_bound_hold_at_every_step(data, steps):
    x, y, theta_0 = data
    trace = model.gradient_descent(x, y, theta_0, steps)
    assert trace.step_size == pytest.approx(1.0 / theory.smoothness_constant(x))
    gaps = theory.descent_lemma_gaps(trace.loss_changes, trace.grad_norms_sq, trace.beta)
    note(f"largest gap {gaps.max():.3e}")
    assert theory.descent_lemma_violations(trace.loss_changes, trace.grad_norms_sq, trace.beta,
                                           gradient_floor=trace.gradient_floor) == 0
    theta_star = model.closed_form(x, y)
    excess_0 = model.linear_excess_loss(theta_0, theta_star, x)
    assert theory.stationarity_violations(trace.grad_norms_sq, excess_0, trace.beta,
                                          gradient_floor=trace.gradient_floor) == 0
    # the summed form the slides derive: Σ_t ‖∇L_t‖² ≤ 2β (L_0 − L_T)
    total = np.sum(trace.grad_norms_sq[:-1])
    assert total <= 2 * trace.beta * -np.sum(trace.loss_changes) * (1 + 1e-9) + steps * trace.gradient_floor**2


@given(line_data())
def test_loss_change_agrees_with_difference_of_losses(data):
    x, y, theta_0 = data
    theta_1 = theta_0 + np.array([0.3, -0.7])
    difference = model.linear_loss(theta_1, x, y)[0] - model.linear_loss(theta_0, x, y)[0]
    scale = model.linear_loss(theta_1, x, y)[0] + model.linear_loss(theta_0, x, y)[0]
    assert model.linear_loss_change(theta_0, theta_1, x, y) == pytest.approx(difference, abs=1e-12 * scale)


def test_the_check_detects_a_step_larger_than_one_over_beta():
    # with η = 1.9/β the lemma fails along the top eigenvector: the check must see it
    x, y = noisy_line(np.random.default_rng(0))
    beta = theory.smoothness_constant(x)
    trace = model.gradient_descent(x, y, [0.0, 0.0], 20, step_size=1.9 / beta)
    assert theory.descent_lemma_violations(trace.loss_changes, trace.grad_norms_sq, beta,
                                           gradient_floor=trace.gradient_floor) > 0


@given(line_data())
def test_gradient_descent_reaches_the_closed_form(data):
    x, y, theta_0 = data
    beta = theory.smoothness_constant(x)
    lambda_min = np.linalg.eigvalsh(theory.hessian(x))[0]
    # linear rate (1 − λ_min/β) per step: choose T for a 1e-6 contraction of the error
    steps = int(np.ceil(np.log(1e-6) / np.log1p(-lambda_min / beta))) if lambda_min < beta else 1
    assume(steps <= 2000)  # an ill-conditioned data set (narrow x range far from 0) converges too slowly
    trace = model.gradient_descent(x, y, theta_0, max(steps, 1))
    theta_star = model.closed_form(x, y)
    error_0 = np.linalg.norm(theta_0 - theta_star)
    assert np.linalg.norm(trace.thetas[-1] - theta_star) <= 1e-6 * error_0 + 1e-9 * (1 + np.abs(theta_star).max())


@settings(max_examples=20)
@given(line_data(), st.integers(1, 6))
def test_minibatch_sgd_takes_one_update_per_batch_with_step_one_over_beta_one(data, batch_size):
    x, y, theta_0 = data
    batch_size = min(batch_size, len(x))
    trace = model.minibatch_sgd(x, y, theta_0, np.random.default_rng(0), 2, batch_size=batch_size)
    assert np.all(np.isfinite(trace.losses))
    assert trace.step_size == pytest.approx(1.0 / theory.sample_smoothness_constant(x))
    assert len(trace.thetas) == 1 + 2 * -(-len(x) // batch_size)


def test_unstable_step_and_bad_input_are_refused():
    x, y = noisy_line(np.random.default_rng(0))
    beta = theory.smoothness_constant(x)
    with pytest.raises(ValueError, match="step_size = .* is unstable .* use step_size < 2/β"):
        model.gradient_descent(x, y, [0.0, 0.0], 10, step_size=2.0 / beta)
    with pytest.raises(ValueError, match=r"theta_0 must have shape \(m, c\) = \(2,\)"):
        model.gradient_descent(x, y, [0.0, 0.0, 0.0], 10)
    with pytest.raises(ValueError, match=r"y must have shape \(n,\)"):
        model.gradient_descent(x, y[:-1], [0.0, 0.0], 10)
    with pytest.raises(ValueError, match="batch_size must be at most"):
        model.minibatch_sgd(x, y, [0.0, 0.0], np.random.default_rng(0), 1, batch_size=len(x) + 1)
    with pytest.raises(ValueError, match=r"theta must have shape \(m, c\) = \(2,\); got \(1,\)"):
        model.linear_loss([0.0], x, y)
    with pytest.raises(ValueError, match=r"y must have shape \(n,\) = \(\d+,\) to match x"):
        model.linear_loss([0.0, 0.0], x, y[:-1])
    with pytest.raises(ValueError, match="x must have 1 dimensions"):
        model.linear_loss([0.0, 0.0], x[:, None], y)


@given(arrays((5,), -3, 3))
def test_closed_form_is_numpy_lstsq_and_zero_gradient(y):
    x = np.linspace(-2.0, 2.0, 5)
    theta = model.closed_form(x, y)
    np.testing.assert_allclose(model.linear_loss(theta, x, y)[1], 0.0, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# The same theorem on a β-smooth loss that is not a quadratic: logistic regression. With a centred
# quadratic, step 1/β solves the top-curvature coordinate in one step and the lemma is loose afterwards;
# here the Hessian changes with w, and the first feature is scaled up so that the gradient at w = 0
# points along the direction of curvature β, where the lemma is nearly tight.
# ------------------------------------------------------------------------------------------------


@st.composite
def logistic_data(draw):
    """(X (n, d), y ∈ {±1}^n): feature 0 scaled by 2-8 and carrying the labels, with label noise."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, d = draw(st.integers(20, 60)), draw(st.integers(2, 4))
    X = rng.standard_normal((n, d))
    X[:, 0] *= draw(floats(2.0, 8.0))
    y = np.where(X[:, 0] + draw(floats(0.5, 3.0)) * rng.standard_normal(n) > 0, 1.0, -1.0)
    assume(0 < np.sum(y > 0) < n)
    return X, y


def _minimum(X, y):
    """L* by an independent solver (BFGS on the hand gradient, run to 1e-12)."""
    from scipy.optimize import minimize

    result = minimize(lambda w: theory.logistic_loss(w, X, y), np.zeros(X.shape[1]), jac=True, method="BFGS",
                      options={"gtol": 1e-12, "maxiter": 10000})
    return result.fun


@given(logistic_data(), st.data())
def test_logistic_gradient_matches_finite_differences(data, draw):
    X, y = data
    w = draw.draw(arrays((X.shape[1],), -2.0, 2.0))
    assert_gradients(lambda w: theory.logistic_loss(w, X, y)[0], [w], [theory.logistic_loss(w, X, y)[1]])


@given(logistic_data(), st.data())
def test_logistic_beta_bounds_the_hessian_everywhere_and_is_attained_at_zero(data, draw):
    X, y = data
    beta = theory.logistic_smoothness_constant(X)
    d = X.shape[1]

    def hessian_norm(w):  # central differences of the hand gradient, then the spectral norm
        columns = [numerical_gradient(lambda t: theory.logistic_loss(t, X, y)[1], [w], dout=np.eye(d)[i])[0]
                   for i in range(d)]
        return np.linalg.norm(np.array(columns), 2)

    w = draw.draw(arrays((d,), -2.0, 2.0))
    assert hessian_norm(w) <= beta * (1 + 1e-6)
    np.testing.assert_allclose(hessian_norm(np.zeros(d)), beta, rtol=1e-6)  # the supremum, attained at w = 0


def _decrease_over_guarantee(trace, beta):
    """(L_t - L_{t+1}) / (‖∇L_t‖² / 2β): ≥ 1 by the lemma; near 1 where the lemma is tight."""
    return -trace.loss_changes / (trace.grad_norms_sq[:-1] / (2 * beta))


@settings(max_examples=40)
@given(logistic_data(), st.integers(1, 200))
def test_descent_lemma_and_stationarity_bound_hold_and_are_tight_on_logistic_regression(data, steps):
    X, y = data
    beta = theory.logistic_smoothness_constant(X)
    trace = theory.gradient_descent_trace(lambda w: theory.logistic_loss(w, X, y), np.zeros(X.shape[1]),
                                          1.0 / beta, steps)
    gaps = theory.descent_lemma_gaps(trace.loss_changes, trace.grad_norms_sq, beta)
    ratio = _decrease_over_guarantee(trace, beta)
    note(f"largest gap {gaps.max():.3e}; decrease / guaranteed decrease from {ratio.min():.3f} to {ratio.max():.3f}")
    rounding = 8 * np.finfo(float).eps * trace.losses[:-1]  # the changes are differences of computed losses
    np.testing.assert_array_less(gaps, rounding)  # the lemma, at every step
    assert ratio.min() < 1.5  # and nearly tight at some step: a β overestimated 2× or more would fail here
    excess_0 = trace.losses[0] - _minimum(X, y)
    assert theory.stationarity_violations(trace.grad_norms_sq, excess_0 + 1e-12, beta) == 0
    T = np.arange(1, len(trace.grad_norms_sq) + 1)
    np.testing.assert_array_less(np.minimum.accumulate(trace.grad_norms_sq),
                                 theory.stationarity_bound(excess_0 + 1e-12, beta, T) * (1 + 1e-12))


@settings(max_examples=20)
@given(logistic_data(), floats(0.05, 0.5))
def test_iteration_complexity_on_logistic_regression(data, fraction):
    """T = ⌈2β(L_0 - L*)/ε²⌉ steps of GD with 1/β reach ‖∇L‖ ≤ ε, for ε a fraction of ‖∇L(0)‖."""
    X, y = data
    beta = theory.logistic_smoothness_constant(X)
    def loss(w):
        return theory.logistic_loss(w, X, y)

    loss_0, gradient_0 = loss(np.zeros(X.shape[1]))
    epsilon = fraction * np.sqrt(gradient_0 @ gradient_0)
    T = theory.iterations_for_stationarity(epsilon, loss_0 - _minimum(X, y) + 1e-12, beta)
    assume(T <= 5000)
    trace = theory.gradient_descent_trace(loss, np.zeros(X.shape[1]), 1.0 / beta, T)
    assert np.sqrt(trace.grad_norms_sq[:T].min()) <= epsilon


def test_a_wrong_beta_fails_one_of_the_two_checks():
    """With 4β in place of β (step 1/(4β)), the decrease is at least 1.75× what the lemma guarantees for
    4β at every step, so the tightness assertion above (< 1.5) fails; with β/2 (step 2/β) the lemma for
    β/2 is violated (along the top curvature the step overshoots to a point of equal loss)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)) * [5.0, 1.0, 1.0]
    y = np.where(X[:, 0] + rng.standard_normal(40) > 0, 1.0, -1.0)
    beta = theory.logistic_smoothness_constant(X)
    for wrong in (4 * beta, beta / 2):
        trace = theory.gradient_descent_trace(lambda w: theory.logistic_loss(w, X, y), np.zeros(3), 1 / wrong, 100)
        gaps = theory.descent_lemma_gaps(trace.loss_changes, trace.grad_norms_sq, wrong)
        if wrong > beta:
            assert gaps.max() <= 0 and _decrease_over_guarantee(trace, wrong).min() > 1.5
        else:
            assert gaps.max() > 1e-3 * trace.grad_norms_sq[0] / wrong


def test_logistic_loss_refuses_bad_input():
    X, y = np.ones((4, 2)), np.array([1.0, -1.0, 1.0, -1.0])
    with pytest.raises(ValueError, match=r"w must have shape \(d,\) = \(2,\) to match X; got \(3,\)"):
        theory.logistic_loss(np.zeros(3), X, y)
    with pytest.raises(ValueError, match="y must hold labels -1 or"):
        theory.logistic_loss(np.zeros(2), X, np.array([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match=r"y must have shape \(n,\) = \(4,\) to match X"):
        theory.logistic_loss(np.zeros(2), X, y[:3])
    with pytest.raises(ValueError, match=r"X must hold at least one sample .*; got shape \(0, 2\)"):
        theory.logistic_smoothness_constant(np.ones((0, 2)))
    with pytest.raises(ValueError, match="step_size must be > 0"):
        theory.gradient_descent_trace(lambda w: theory.logistic_loss(w, X, y), np.zeros(2), 0.0, 3)


def test_empty_data_bad_steps_and_bad_networks_inputs_are_refused():
    x, y = noisy_line(np.random.default_rng(0))
    with pytest.raises(ValueError, match="x must hold at least one point; got an empty array"):
        model.closed_form(x[:0], y[:0])
    with pytest.raises(ValueError, match="x must hold at least one point"):
        theory.hessian(np.zeros(0))
    with pytest.raises(ValueError, match=r"theta_next must have shape \(m, c\) = \(2,\); got \(3,\)"):
        model.linear_loss_change([0.0, 0.0], [0.0, 0.0, 1.0], x, y)
    with pytest.raises(ValueError, match="T must hold integer step counts >= 1"):
        theory.stationarity_bound(0.5, 2.0, np.array([1.0, 2.5]))
    with pytest.raises(ValueError, match="loss_changes must hold at least one step"):
        theory.descent_lemma_gaps(np.zeros(0), np.ones(3), 1.0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator or an int seed; got str"):
        model.minibatch_sgd(x, y, [0.0, 0.0], "seed", 1)
    network = model.TwoLayerNet(d_in=3, hidden=2, d_out=2)
    logits, cache = network.forward(network.init_params(0), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"dlogits must have shape \(n, d_out\) = \(4, 2\) to match the forward"):
        network.backward(np.ones((4, 3)), cache)
    with pytest.raises(ValueError, match="x must hold at least one image"):
        network.forward(network.init_params(0), np.ones((0, 3)))


def test_gradient_descent_on_a_loss_that_blows_up_stops_with_the_step():
    def exploding(theta):  # gradient ascent in disguise: the loss grows like exp(t)
        return float(np.exp(theta @ theta)), -1e150 * theta

    message = r"(loss|gradient) became (inf|nan) at step [12] of 11"
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=message):
        theory.gradient_descent_trace(exploding, np.ones(2), 1.0, 10)
