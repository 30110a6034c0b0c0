"""Theory: H∞ closed form, bounds, the Bernoulli fit and the Jacobian spectrum."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.prd import flow, model, theory
from tests.helpers import arrays
from tests.prd.strategies import problems


@settings(max_examples=10)
@given(st.integers(2, 5), st.integers(2, 4), st.integers(0, 2**32 - 1))
def test_gram_closed_form_matches_monte_carlo(n, d_in, seed):
    rng = np.random.default_rng(seed)
    X = model.normalise_inputs(rng.standard_normal((n, d_in)))
    samples = 40_000
    estimate = theory.gram_monte_carlo(rng, X, samples)
    # each entry is a mean of terms in [-1, 1]: 6 standard errors is a bound no correct formula misses
    np.testing.assert_allclose(estimate, theory.gram_infinity(X), atol=6.0 / np.sqrt(samples))


@given(arrays((5, 3), -1.0, 1.0).filter(lambda x: np.all(np.linalg.norm(x, axis=1) > 0.1)))
def test_gram_is_symmetric_positive_semidefinite_with_half_diagonal(X):
    H = theory.gram_infinity(model.normalise_inputs(X))
    np.testing.assert_allclose(H, H.T, atol=1e-15)
    np.testing.assert_allclose(np.diag(H), 0.5, atol=1e-12)  # x^T x = 1, P(u^T x ≥ 0) = 1/2
    assert np.linalg.eigvalsh(H)[0] >= -1e-12


def test_gram_refuses_inputs_that_are_not_unit(rng):
    with pytest.raises(ValueError, match="unit rows"):
        theory.gram_infinity(rng.standard_normal((3, 4)) * 2)


def test_lambda0_is_positive_for_non_parallel_and_zero_for_parallel_inputs(rng):
    X = model.normalise_inputs(rng.standard_normal((6, 4)))
    assert theory.lambda0(theory.gram_infinity(X)) > 1e-3
    X[1] = X[0]
    assert abs(theory.lambda0(theory.gram_infinity(X))) < 1e-12


def test_bounds_shapes_and_limits():
    t = np.array([0.0, 1.0, 1e6])
    bound1 = theory.theorem1_bound(t, n=10, m=100, lambda_0=0.2, residual_0=3.0)
    assert bound1[0] == 0 and bound1[-1] == pytest.approx(2 * np.sqrt(10) * 3.0 / (10 * 0.2))
    bound2 = theory.theorem2_bound(t, n=10, m=100, lambda_0=0.2, residual_0=3.0, L=0.0, delta=0.1, kappa=5.0)
    np.testing.assert_allclose(bound2, bound1)  # no diffusion (L = 0): Theorem 2 reduces to Theorem 1
    growing = theory.theorem2_bound(t, n=10, m=100, lambda_0=0.2, residual_0=3.0, L=0.1, delta=0.1, kappa=5.0)
    assert growing[-1] > 1e3 * bound1[-1]  # the linear term dominates for large t


@given(st.floats(0.2, 3.0), st.floats(0.05, 2.0), st.floats(4.0, 10.0))
def test_bernoulli_fit_recovers_the_parameters_of_its_own_solution(K, rate, start):
    t = np.linspace(0.0, 10.0 / rate, 60)
    curve = K + (start - K) * np.exp(-rate * t)
    fit = theory.fit_bernoulli(t, curve)
    assert fit.K == pytest.approx(K, rel=1e-5) and fit.rate == pytest.approx(rate, rel=1e-5)
    assert fit.r == pytest.approx(2 * K * rate, rel=1e-5) and fit.r_squared > 0.999999


@given(arrays((4, 4)))
def test_finite_difference_jacobian_of_a_linear_field_is_its_matrix(A):
    np.testing.assert_allclose(theory.jacobian(lambda y: A @ y, np.ones(4)), A, atol=1e-8)


def test_spectrum_without_diffusion_is_real_and_has_no_growing_mode_at_a_minimum(rng):
    """Without diffusion J = −∇²L_sup: symmetric, and at a minimum of L_sup no eigenvalue is positive."""
    X = model.normalise_inputs(rng.standard_normal((4, 3)))
    U, V = model.init_generator(rng, 3, 1, 8)
    Y = rng.standard_normal((4, 1))
    run = flow.train(X, Y, U, V, dt=0.2, steps=3000, adversarial=False, checkpoints=2, backend="numpy")
    spectrum = theory.jacobian_spectrum(X, Y, run.U, run.V, adversarial=False)
    assert np.abs(spectrum.eigenvalues.imag).max() < 1e-6
    assert spectrum.max_real < 1e-5


def field_jacobian(X, Y, U, V, W, a, critic_rate):
    state = [U, V, W, a] if critic_rate > 0 else [U, V]
    shapes = [v.shape for v in state]
    return theory.jacobian(lambda y: flow.joint_field(y, X, Y, shapes, adversarial=True, critic_rate=critic_rate,
                                                      frozen=(W, a)), flow.pack(*state))


@settings(max_examples=15)
@given(problems(max_m=4), st.floats(0.1, 2.0))
def test_frozen_critic_jacobian_is_symmetric_and_the_game_couples_with_the_opposite_sign(problem, rate):
    """Frozen critic: J = −∇²L_aug is symmetric. The game: the critic ascends J = mean g(y) − mean g(z)
    while the generator descends L_sup − Σ_p g(z_p), so the cross blocks obey
    ∂Ẇ/∂U = −(rate/n) (∂U̇/∂W)ᵀ: antisymmetric coupling (ascent), never symmetric."""
    X, Y, U, V, W, a = problem
    scale = max(1.0, float(np.abs(field_jacobian(X, Y, U, V, W, a, 0.0)).max()))
    frozen = field_jacobian(X, Y, U, V, W, a, 0.0)
    np.testing.assert_allclose(frozen, frozen.T, atol=1e-6 * scale)
    game = field_jacobian(X, Y, U, V, W, a, rate)
    g = U.size + V.size
    coupling = game[:g, g:]  # ∂(U̇, V̇)/∂(W, a)
    np.testing.assert_allclose(game[g:, :g], -(rate / X.shape[0]) * coupling.T, atol=1e-6 * scale)
    np.testing.assert_allclose(game[:g, :g], frozen, atol=1e-6 * scale)
    if np.abs(coupling).max() > 1e-3:  # an active critic: the game's Jacobian is not symmetric
        assert np.abs(game - game.T).max() > 1e-4


@given(st.lists(st.floats(-2.0, 2.0), min_size=6, max_size=6, unique=True), st.permutations(range(6)))
def test_spectrum_of_a_diagonal_field_reads_its_blocks(values, order):
    """A linear field θ̇ = diag(values)·θ with blocks U (2), V (1), critic (3): known eigenvalues and modes."""
    values = np.array(values)[list(order)]
    spectrum = theory.spectrum_of(np.diag(values), 2, 1)
    np.testing.assert_allclose(np.sort(spectrum.eigenvalues.real), np.sort(values), atol=1e-12)
    leading = int(np.argmax(values))
    assert spectrum.max_real == pytest.approx(values.max())
    assert (spectrum.share_U, spectrum.share_V) == ((1.0, 0.0) if leading < 2 else (0.0, 1.0) if leading == 2
                                                    else (0.0, 0.0))
    assert spectrum.max_real_generator == pytest.approx(values[:3].max())
    assert spectrum.unstable == int(np.sum(values > 1e-6 * np.abs(values).max()))
    np.testing.assert_allclose(np.sort(spectrum.generator_share), [0, 0, 0, 1, 1, 1])


def test_spectrum_of_a_rotation_has_complex_eigenvalues():
    """θ̇ = [[r, −ω], [ω, r]] θ has eigenvalues r ± iω, shared equally between the two blocks."""
    spectrum = theory.spectrum_of(np.array([[0.3, -2.0], [2.0, 0.3]]), 1, 1)
    np.testing.assert_allclose(np.sort(spectrum.eigenvalues.imag), [-2.0, 2.0], atol=1e-12)
    assert spectrum.max_real == pytest.approx(0.3) and spectrum.unstable == 2
    assert spectrum.share_U == pytest.approx(0.5) and spectrum.share_V == pytest.approx(0.5)


def test_bad_input_to_the_theory_functions_is_refused(rng):
    with pytest.raises(ValueError, match="residual must have shape"):
        theory.fit_bernoulli(np.arange(5.0), np.ones(4))
    with pytest.raises(ValueError, match="at least 3 points"):
        theory.fit_bernoulli(np.arange(2.0), np.arange(2.0))
    X = model.normalise_inputs(rng.standard_normal((3, 2)))
    U, V = model.init_generator(rng, 2, 1, 3)
    with pytest.raises(ValueError, match="needs the critic"):
        theory.jacobian_spectrum(X, np.ones((3, 1)), U, V, adversarial=True)
    with pytest.raises(ValueError, match="J must be square"):
        theory.spectrum_of(np.ones((3, 2)), 1, 1)


def test_theorem2_constants_the_regime_and_the_critic_bound_at_its_edge():
    kappa = theory.theorem2_kappa(0.1, 1.2)
    assert kappa == pytest.approx((2 * 1.2 + 0.1) / 0.1)  # λ₁ = 2λ_max + λ₀ (Lemma 4), κ = λ₁/λ₀
    n, m, delta, epsilon = 16, 256, 0.1, 2.0
    L = theory.theorem2_critic_bound(epsilon, n, m, delta, kappa)
    mu = theory.theorem2_mu(L, n, m, delta)
    assert kappa * mu == pytest.approx(epsilon)  # at L_ε the first condition is an equality
    assert mu == pytest.approx(L * n * np.sqrt(2 * np.log(20.0)) / 16.0)
    assert theory.theorem2_in_regime(kappa, 0.9 * mu, epsilon, [4.0, 3.0])
    assert not theory.theorem2_in_regime(kappa, 1.1 * mu, epsilon, [4.0, 3.0])  # κμ > ε
    assert not theory.theorem2_in_regime(kappa, 0.5 * mu, epsilon, [4.0, 1.5])  # ε > one ‖z(0) − y‖
    # inside the regime the first term of eq. 43 is positive: the bound exceeds its own diffusion term
    t = np.array([1.0, 10.0])
    diffusion = 0.5 * mu * (1 + kappa * np.sqrt(n)) / np.sqrt(m) * t
    assert np.all(theory.theorem2_bound(t, n, m, 0.1, 4.0, 0.5 * L, delta, kappa) > diffusion)
    with pytest.raises(ValueError, match="delta must be a probability"):
        theory.theorem2_mu(1.0, n, m, 1.5)


def test_residual_bound_starts_at_the_initial_residual_and_decays_to_kappa_mu():
    t = np.array([0.0, 1.0, 1e4])
    bound = theory.residual_bound(t, 4.0, 0.2, 5.0, 0.1)
    assert bound[0] == pytest.approx(4.0) and bound[-1] == pytest.approx(0.5)
    assert bound[1] == pytest.approx((4.0 - 0.5) * np.exp(-0.1) + 0.5)
    # μ = 0 is Remark 3 of Theorem 1
    np.testing.assert_allclose(theory.residual_bound(t, 4.0, 0.2, 5.0, 0.0), 4.0 * np.exp(-0.1 * t))
