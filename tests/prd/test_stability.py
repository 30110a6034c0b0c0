"""The game of :mod:`refimpl.prd.stability`: its hand-derived Jacobian against central differences, the
symmetric/symmetry-breaking split against what the algebra predicts, equilibria and Lyapunov exponents."""

import numpy as np
import pytest
from hypothesis import given, settings

from refimpl.prd import flow, model, stability
from tests.prd.strategies import problems


def _game(seed, n=8, d_in=4, m=6, m_c=5):
    rng = np.random.default_rng(seed)
    X = model.normalise_inputs(rng.standard_normal((n, d_in)))
    W = rng.standard_normal((m_c, 1))
    return X, rng.standard_normal((n, 1)), np.ones(m_c), W / np.linalg.norm(W), rng


@settings(max_examples=30, deadline=None)
@given(problems(max_m=4))
def test_hand_derived_jacobian_matches_central_differences(problem):
    X, Y, U, V, W, a = problem
    for weight, rate in ((0.0, 1.0), (1.5, 0.3)):
        J = stability.game_jacobian(X, Y, a, U, V, W, weight=weight, rate=rate)
        J_fd = stability.game_jacobian(X, Y, a, U, V, W, weight=weight, rate=rate, method="differences", h=1e-6)
        # off the kinks the field is smooth (piecewise polynomial): the central difference error is O(h²) + rounding
        np.testing.assert_allclose(J, J_fd, rtol=1e-5, atol=1e-7 * max(1.0, np.abs(J).max()))


@settings(max_examples=20, deadline=None)
@given(problems(max_m=4))
def test_field_is_gradient_descent_on_l_sup_at_zero_weight_and_tangent_to_the_critic_sphere(problem):
    X, Y, U, V, W, a = problem
    U_dot, V_dot, W_dot = stability.game_field(X, Y, a, U, V, W, weight=0.0, rate=2.0)
    _, dU, dV = model.supervised_gradient(X, Y, U, V, backend="numpy")
    np.testing.assert_allclose(U_dot, -dU, atol=1e-12)
    np.testing.assert_allclose(V_dot, -dV, atol=1e-12)
    assert abs(np.sum(W * W_dot)) <= 1e-12 * max(1.0, np.linalg.norm(W) * np.linalg.norm(W_dot))
    # β L_adv = L_adv with a scaled by β: the generator's part at β = 1 is L_aug's descent
    U_dot, V_dot, _ = stability.game_field(X, Y, a, U, V, W, weight=1.0, rate=2.0)
    _, dU, dV, _, _ = model.augmented_gradient(X, Y, U, V, W, a, backend="numpy")
    np.testing.assert_allclose(U_dot, -dU, atol=1e-12)
    np.testing.assert_allclose(V_dot, -dV, atol=1e-12)


def test_symmetric_basis_is_orthonormal_and_splits_the_state():
    S, C = stability.symmetric_basis(5, 3, 2, 4)
    k = 5 * 3 + 2 * 5 + 4 * 2
    assert S.shape == (k, 3 + 2 + 8) and C.shape == (k, k - S.shape[1])
    np.testing.assert_allclose(np.hstack([S, C]).T @ np.hstack([S, C]), np.eye(k), atol=1e-12)
    U, V, W = np.tile([1.0, -2.0, 0.5], (5, 1)), np.tile([[0.3], [-1.0]], (1, 5)), np.ones((4, 2))
    homogeneous = flow.pack(U, V, W)
    np.testing.assert_allclose(C.T @ homogeneous, 0.0, atol=1e-12)  # a homogeneous state has no breaking part


def test_breaking_block_at_a_homogeneous_state_is_the_predicted_antisymmetric_pair():
    """At a homogeneous state δZ = 0 for zero-sum perturbations, so the breaking block of one neuron is
    [[0, −s b], [−s bᵀ, 0]], b = Σ_p r_p 1{uᵀx_p > 0} x_p: eigenvalues ±s‖b‖ (each m − 1 times) and 0."""
    X, Y, a, W, rng = _game(4)
    m, weight = 6, 0.7
    u = rng.standard_normal(4)
    U, V = np.tile(u, (m, 1)), np.full((1, m), 1.3)
    split = stability.symmetry_split(stability.game_jacobian(X, Y, a, U, V, W, weight=weight, rate=1.0), m, 4, 1, 5)
    assert split.leakage <= 1e-12
    Z = model.generator_forward(X, U, V)
    _, cache = model.critic_forward(Z, W, a)
    k, _, _ = model.critic_backward(np.ones(8), cache)
    b = ((Z - Y - weight * k)[:, 0] * (X @ u > 0)) @ X
    predicted = np.linalg.norm(b) / np.sqrt(m)
    assert split.max_real_breaking == pytest.approx(predicted, rel=1e-10)
    np.testing.assert_allclose(np.sort(np.abs(split.breaking))[-2 * (m - 1):], predicted, rtol=1e-10)


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_homogeneous_equilibrium_is_a_zero_of_the_field_and_its_breaking_block_vanishes(weight):
    X, Y, a, W, rng = _game(5)
    found = stability.homogeneous_equilibrium(X, Y, a, rng.standard_normal(4), np.ones(1), W, 6, weight=weight,
                                              rate=1.0, flow_steps=20000, dt=0.02)
    assert found.converged and found.kink_margin > 1e-6
    np.testing.assert_allclose(found.U, np.tile(found.U[0], (6, 1)))  # still homogeneous
    field = flow.pack(*stability.game_field(X, Y, a, found.U, found.V, found.W, weight=weight, rate=1.0))
    assert np.linalg.norm(field) < 1e-10
    assert np.linalg.norm(found.W) == pytest.approx(1.0)  # on its sphere
    split = stability.symmetry_split(stability.game_jacobian(X, Y, a, found.U, found.V, found.W, weight=weight,
                                                             rate=1.0), 6, 4, 1, 5)
    assert np.abs(split.breaking).max() < 1e-8  # b = 0 at an equilibrium with v ≠ 0


def test_lyapunov_exponent_matches_the_growth_of_a_small_separation():
    X, Y, a, W, rng = _game(6)
    U, V = model.init_generator(rng, 4, 1, 6)
    dt, steps = 0.02, 200
    exponent, _ = stability.finite_time_lyapunov(X, Y, a, U, V, W, weight=1.0, rate=1.0, dt=dt, steps=steps,
                                                 rng=np.random.default_rng(1))
    delta = np.random.default_rng(1).standard_normal(U.size + V.size + W.size)
    delta /= np.linalg.norm(delta)
    eps, shapes = 1e-7, [U.shape, V.shape, W.shape]
    game = stability.make_game(X, Y, a, weight=1.0, rate=1.0)
    states = [(U, V, W), tuple(flow.unpack(flow.pack(U, V, W) + eps * delta, shapes))]
    for _ in range(steps):
        states = [stability._euler_step(game, *state, dt, 1.0) for state in states]
    separation = np.linalg.norm(flow.pack(*states[1]) - flow.pack(*states[0]))
    # the tangent follows the flow's linearisation, the pair the retracted Euler map: they differ at O(dt)
    assert exponent == pytest.approx(np.log(separation / eps) / (steps * dt), abs=0.02)


def test_lyapunov_exponent_of_breaking_perturbations_at_a_homogeneous_equilibrium_is_zero():
    X, Y, a, W, rng = _game(5)
    found = stability.homogeneous_equilibrium(X, Y, a, rng.standard_normal(4), np.ones(1), W, 6, weight=1.0,
                                              rate=1.0, flow_steps=20000, dt=0.02)
    _, C = stability.symmetric_basis(6, 4, 1, 5)
    exponent, _ = stability.finite_time_lyapunov(X, Y, a, found.U, found.V, found.W, weight=1.0, rate=1.0, dt=0.02,
                                                 steps=100, rng=0, subspace=C)
    assert abs(exponent) < 1e-6


def test_kink_margin_ignores_outputs_that_are_zero_because_every_neuron_is_off():
    X, Y, a, W, rng = _game(7)
    U, V = model.init_generator(rng, 4, 1, 6)
    U[:, 0] = -np.abs(U[:, 0]) - 5.0  # every neuron off on inputs far along +e₁ ...
    X[0] = np.eye(4)[0]  # ... such as this one: z_0 = 0 exactly, and stays 0 under small changes
    Z = model.generator_forward(X, U, V)
    assert Z[0, 0] == 0.0
    nonzero = Z[:, 0] != 0
    expected = min(np.abs(X @ U.T).min(), np.abs(W).min(), np.abs(Z[nonzero] @ W.T).min())
    assert stability.kink_margin(X, U, V, W) == pytest.approx(expected) and expected > 0


def test_unknown_jacobian_method_is_refused():
    X, Y, a, W, rng = _game(8)
    U, V = model.init_generator(rng, 4, 1, 6)
    with pytest.raises(ValueError, match="method must be"):
        stability.game_jacobian(X, Y, a, U, V, W, weight=1.0, rate=1.0, method="autodiff")


def test_closed_form_breaking_rate_is_the_largest_eigenvalue_of_the_breaking_block():
    X, Y, a, W, rng = _game(9)
    U, V = np.tile(rng.standard_normal(4), (6, 1)), np.full((1, 6), -0.8)
    split = stability.symmetry_split(stability.game_jacobian(X, Y, a, U, V, W, weight=2.0, rate=1.0), 6, 4, 1, 5)
    assert stability.breaking_rate(X, Y, a, U, V, W, weight=2.0) == pytest.approx(split.max_real_breaking, rel=1e-10)
    with pytest.raises(ValueError, match="homogeneous state"):
        stability.breaking_rate(X, Y, a, U + rng.standard_normal(U.shape), V, W, weight=2.0)


def test_breaking_rate_falls_to_zero_along_the_flow_to_a_homogeneous_equilibrium():
    X, Y, a, W, rng = _game(5)
    u = rng.standard_normal(4)
    rates = stability.homogeneous_breaking_rates(X, Y, a, u, np.ones(1), W, 6, weight=1.0, dt=0.02, steps=20000)
    assert rates.shape == (20001,) and rates[0] > 1e-3 and rates[-1] < 1e-6
