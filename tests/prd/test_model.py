"""PRD model: every hand-derived gradient against central differences, the split of eqs. 52-55, identities."""

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from refimpl.core.gradcheck import assert_gradients
from refimpl.prd import model
from tests.helpers import arrays, off_kink_arrays, off_kinks
from tests.prd.strategies import problems


def supervised_loss(X, Y, U, V):
    return 0.5 * np.sum((model.generator_forward(X, U, V) - Y) ** 2)


@settings(max_examples=25)
@given(problems())
def test_supervised_gradient_matches_finite_differences(problem):
    X, Y, U, V, _, _ = problem
    loss, dU, dV = model.supervised_gradient(X, Y, U, V, backend="numpy")
    assert loss == pytest.approx(supervised_loss(X, Y, U, V), rel=1e-12, abs=1e-12)
    comparison = assert_gradients(lambda U, V: supervised_loss(X, Y, U, V), [U, V], [dU, dV])
    note(f"worst relative error {comparison.max_rel_error:.2e}")


@settings(max_examples=25)
@given(problems())
def test_augmented_gradient_matches_finite_differences_for_U_V_W_a(problem):
    X, Y, U, V, W, a = problem
    loss, *gradients = model.augmented_gradient(X, Y, U, V, W, a, backend="numpy")

    def augmented(U, V, W, a):
        return supervised_loss(X, Y, U, V) - model.adversarial_term(X, U, V, W, a)

    assert loss == pytest.approx(augmented(U, V, W, a), rel=1e-12, abs=1e-12)
    comparison = assert_gradients(augmented, [U, V, W, a], gradients)
    note(f"worst relative error {comparison.max_rel_error:.2e}")


@given(problems())
def test_adversarial_term_is_the_critic_score_of_the_generator_outputs(problem):
    X, _, U, V, W, a = problem
    scores, _ = model.critic_forward(model.generator_forward(X, U, V), W, a)
    value = model.adversarial_term(X, U, V, W, a)
    scale = max(1.0, float(np.sum(np.abs(scores))))
    assert value == pytest.approx(float(np.sum(scores)), abs=1e-12 * scale)
    assert model.adversarial_gradient(X, U, V, W, a, backend="numpy")[0] == pytest.approx(value, abs=1e-12 * scale)


@given(problems())
def test_prd_split_reaction_plus_diffusion_is_minus_the_augmented_gradient(problem):
    X, Y, U, V, W, a = problem
    split = model.prd_split(X, Y, U, V, W, a)
    _, dU_sup, dV_sup = model.supervised_gradient(X, Y, U, V, backend="numpy")
    _, dU_adv, dV_adv, _, _ = model.adversarial_gradient(X, U, V, W, a, backend="numpy")
    _, dU, dV, _, _ = model.augmented_gradient(X, Y, U, V, W, a, backend="numpy")
    for ours, theirs in [(split.reaction_u, -dU_sup), (split.reaction_v, -dV_sup), (split.diffusion_u, dU_adv),
                         (split.diffusion_v, dV_adv), (split.reaction_u + split.diffusion_u, -dU),
                         (split.reaction_v + split.diffusion_v, -dV)]:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(theirs).max()))


def literal_diffusion_u(X, U, V, W, a, indicator):
    """D^u_j of eq. 52 written out with a given indicator 1_{jp} (n, m): eq. 50's 1{u_j^T x_p ≥ 0} or
    eq. 39's printed 1{v_j^T x_p ≥ 0}."""
    m, d_out = U.shape[0], V.shape[0]
    critic_mask = (np.maximum(X @ U.T, 0.0) @ V.T @ W.T) >= 0
    direction = (critic_mask * a) @ W  # row p: a^T diag(δ_p) W
    weights = (direction @ V) * indicator / (np.sqrt(m * W.shape[0]) * np.sqrt(d_out))  # (n, m)
    return weights.T @ X


def test_prd_split_detects_the_indicator_typo_of_eq_39(rng):
    """With eq. 39's printed indicator 1{v_j^T x_p ≥ 0} the diffusion term is not ∂L_adv/∂U; with eq. 50's
    1{u_j^T x_p ≥ 0} it is: the comparison in the test above can tell them apart."""
    X = model.normalise_inputs(rng.standard_normal((6, 3)))
    U, V = model.init_generator(rng, 3, 3, 5)  # d_in = d_out, so v_j^T x_p is defined
    W, a = model.init_critic(rng, 3, 5)
    _, dU_adv, _, _, _ = model.adversarial_gradient(X, U, V, W, a, backend="numpy")
    tolerance = 1e-10 * max(1.0, np.abs(dU_adv).max())
    right = literal_diffusion_u(X, U, V, W, a, X @ U.T >= 0)
    wrong = literal_diffusion_u(X, U, V, W, a, X @ V >= 0)
    np.testing.assert_allclose(right, dU_adv, rtol=1e-10, atol=tolerance)
    np.testing.assert_allclose(model.prd_split(X, rng.standard_normal((6, 3)), U, V, W, a).diffusion_u, right,
                               rtol=1e-10, atol=tolerance)
    assert np.abs(wrong - dU_adv).max() > 1e3 * tolerance


@settings(max_examples=25)
@given(problems(), st.data())
def test_critic_backward_matches_finite_differences_for_any_upstream_gradient(problem, data):
    """The critic as a layer pair: L = Σ_p dout_p g(y_p); critic_backward(dout, cache) = (∂L/∂Y, ∂L/∂W, ∂L/∂a)."""
    _, Y, _, _, W, a = problem
    dout = data.draw(arrays((Y.shape[0],)))
    scores, cache = model.critic_forward(Y, W, a)
    gradients = model.critic_backward(dout, cache)
    assert [g.shape for g in gradients] == [Y.shape, W.shape, a.shape]

    def loss(Y, W, a):
        return float(dout @ (np.maximum(Y @ W.T, 0.0) @ a)) / np.sqrt(W.shape[0])

    assert float(dout @ scores) == pytest.approx(loss(Y, W, a), rel=1e-12, abs=1e-12)
    comparison = assert_gradients(loss, [Y, W, a], list(gradients))
    note(f"worst relative error {comparison.max_rel_error:.2e}")


@st.composite
def critic_inputs(draw):
    n, d_out, m_c = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 5))
    Y_hat, W, a = draw(off_kink_arrays((n, d_out))), draw(off_kink_arrays((m_c, d_out))), draw(off_kink_arrays((m_c,)))
    active = Y_hat @ W.T > 0
    norms = np.linalg.norm((active * a) @ W, axis=1) / np.sqrt(m_c)
    assume(off_kinks(Y_hat @ W.T) and np.all(norms > 1e-2))
    return Y_hat, W, a, draw(off_kink_arrays((n, d_out)))


@settings(max_examples=25)
@given(critic_inputs())
def test_gradient_penalty_gradient_matches_finite_differences(inputs):
    Y_hat, W, a, _ = inputs
    value, dW, da = model.gradient_penalty(Y_hat, W, a)

    def penalty(W, a):
        input_gradient = ((Y_hat @ W.T > 0) * a) @ W / np.sqrt(W.shape[0])
        return np.mean((np.linalg.norm(input_gradient, axis=1) - 1.0) ** 2)

    assert value == pytest.approx(penalty(W, a), rel=1e-12, abs=1e-14)
    assert_gradients(penalty, [W, a], [dW, da])


@settings(max_examples=25)
@given(critic_inputs(), st.floats(0.0, 20.0))
def test_critic_objective_gradient_matches_finite_differences(inputs, weight):
    Y_real, W, a, Z_fake = inputs
    assume(off_kinks(Z_fake @ W.T, Y_real @ W.T))
    value, dW, da = model.critic_objective(Y_real, Z_fake, W, a, penalty=weight, Y_hat=Y_real)

    def objective(W, a):
        return model.critic_objective(Y_real, Z_fake, W, a, penalty=weight, Y_hat=Y_real)[0]

    assert_gradients(objective, [W, a], [dW, da])


@given(arrays((5, 2)), st.floats(0.1, 5.0))
def test_projection_lands_in_the_ball_and_keeps_points_inside(W, bound):
    projected = model.project_critic(W, bound)
    assert np.linalg.norm(projected) <= bound * (1 + 1e-12)
    if np.linalg.norm(W) <= bound:
        np.testing.assert_array_equal(projected, W)
    else:  # on the sphere, in the same direction
        assert np.linalg.norm(projected) == pytest.approx(bound, rel=1e-12)
        np.testing.assert_allclose(projected * np.linalg.norm(W), W * bound, rtol=1e-12, atol=1e-12)


def test_initialisation_follows_the_theorems(rng):
    U, V = model.init_generator(rng, 784, 10, 2000)
    W, a = model.init_critic(rng, 10, 2000)
    assert U.shape == (2000, 784) and V.shape == (10, 2000) and W.shape == (2000, 10) and a.shape == (2000,)
    assert set(np.unique(V)) == {-1.0, 1.0} and set(np.unique(a)) == {-1.0, 1.0}
    assert abs(U.std() - 1.0) < 0.01 and abs(W.std() - 1.0) < 0.05


def test_bad_input_is_refused_with_a_message(rng):
    X = model.normalise_inputs(rng.standard_normal((4, 3)))
    U, V = model.init_generator(rng, 3, 2, 5)
    with pytest.raises(ValueError, match=r"U must have shape \(m, d_in\)"):
        model.supervised_gradient(X, np.zeros((4, 2)), U[:, :2], V)
    with pytest.raises(ValueError, match=r"Y must have shape \(n, d_out\)"):
        model.supervised_gradient(X, np.zeros((4, 3)), U, V)
    with pytest.raises(ValueError, match="a must have shape"):
        model.adversarial_gradient(X, U, V, np.ones((5, 2)), np.ones(4))
    with pytest.raises(ValueError, match="all-zero row"):
        model.normalise_inputs(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"penalty = 1.0 > 0 needs the interpolates Y_hat"):
        model.critic_objective(np.ones((2, 2)), np.ones((2, 2)), np.ones((3, 2)), np.ones(3), penalty=1.0)
    with pytest.raises(ValueError, match=r"a must have shape \(m_c,\)"):
        model.critic_forward(np.ones((2, 2)), np.ones((3, 2)), np.ones(4))
    _, cache = model.critic_forward(np.ones((2, 2)), np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r"dout must have shape \(n,\) = \(2,\)"):
        model.critic_backward(np.ones(3), cache)
    with pytest.raises(ValueError, match=r"U must have shape \(m, d_in\)"):
        model.generator_forward(X, U[:, :2], V)
    with pytest.raises(ValueError, match=r"Y_hat must have shape \(n, d_out\)"):
        model.gradient_penalty(np.ones((2, 3)), np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r"Z_fake must have shape"):
        model.critic_objective(np.ones((2, 2)), np.ones((3, 2)), np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r"Z_fake must have shape"):
        model.interpolates(rng, np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="bound must be > 0"):
        model.project_critic(np.ones((3, 2)), 0.0)
