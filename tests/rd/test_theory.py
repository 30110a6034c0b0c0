"""Turing's linear stability analysis, proven against brute force and against the simulation itself."""

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from refimpl import rd
from refimpl.core.gradcheck import numerical_gradient
from refimpl.rd import theory
from tests.helpers import floats

BRUSSELATOR = rd.brusselator(3.0, 9.0, 1.0, 10.0)


@given(floats(0.01, 0.1), floats(0.01, 0.1), floats(0.1, 4.0), floats(0.1, 10.0), floats(-2.0, 2.0),
       floats(-2.0, 2.0))
def test_jacobian_matches_finite_differences(F, k, a, b, u, v):
    for model in (rd.gray_scott(F, k), rd.brusselator(a, b), rd.schnakenberg(a, b, gamma=k * 10),
                  rd.linear([[a, b], [F, -k]])):
        point = [np.array(u), np.array(v)]
        numerical = [numerical_gradient(lambda u, v, i=i: model.reaction(u, v)[i], point) for i in (0, 1)]
        np.testing.assert_allclose(theory.jacobian(model, u, v), np.array(numerical, dtype=float),
                                   rtol=1e-6, atol=1e-8, err_msg=model.name)


@st.composite
def stable_jacobians(draw):
    """Jacobians stable without diffusion (tr < 0, det > 0) and two diffusivities, away from the onset."""
    f_u, trace, determinant = draw(floats(-3, 3)), -draw(floats(0.01, 3)), draw(floats(0.01, 5))
    f_v = draw(st.one_of(floats(-3, -0.05), floats(0.05, 3)))
    g_v = trace - f_u
    J = np.array([[f_u, f_v], [(f_u * g_v - determinant) / f_v, g_v]])  # tr J = trace, det J = determinant
    D_u, D_v = draw(floats(0.05, 2.0)), draw(floats(0.05, 20.0))
    cross = D_v * J[0, 0] + D_u * J[1, 1]
    margin = cross * cross - 4 * D_u * D_v * determinant
    assume(abs(cross) > 1e-2 and abs(margin) > 1e-2 * (cross * cross + 4 * D_u * D_v * determinant))
    return J, D_u, D_v


@given(stable_jacobians())
def test_turing_predicate_holds_exactly_when_some_wavenumber_grows(case):
    """(a), continuous: brute-force eigenvalues of J - k² D on a dense k² grid decide; the predicate agrees."""
    J, D_u, D_v = case
    band = theory.unstable_band(J, D_u, D_v)
    k2 = np.concatenate([np.geomspace(1e-6, 1e4, 4000)] + ([np.linspace(*band, 101)[1:-1]] if band else []))
    matrices = J - k2[:, None, None] * np.diag([D_u, D_v])
    brute_force = np.linalg.eigvals(matrices).real.max(axis=1)
    note(f"max growth {brute_force.max():.3e}, band {band}")
    assert theory.is_turing_unstable(J, D_u, D_v) == bool(brute_force.max() > 0)
    np.testing.assert_allclose(theory.dispersion_relation(J, D_u, D_v, k2), brute_force, rtol=1e-9, atol=1e-9)


@given(stable_jacobians(), st.integers(2, 40), st.integers(1, 40), floats(0.2, 2.0))
def test_lattice_unstable_modes_are_those_inside_the_band(case, n, m, h):
    """(a), on the lattice: a mode grows iff its symbol μ lies in (k1², k2²); none grows without Turing."""
    J, D_u, D_v = case
    mu = theory.lattice_wavenumbers_squared((n, m), h)
    growing = np.linalg.eigvals(J - mu[..., None, None] * np.diag([D_u, D_v])).real.max(axis=-1) > 0
    band = theory.unstable_band(J, D_u, D_v)
    if band is None:
        assert not growing.any()
    else:
        inside = (mu > band[0]) & (mu < band[1])
        near_edge = np.isclose(mu, band[0], rtol=1e-9) | np.isclose(mu, band[1], rtol=1e-9)
        np.testing.assert_array_equal(growing[~near_edge], inside[~near_edge])


@given(st.integers(1, 63), st.integers(0, 63))
def test_lattice_symbol_is_the_eigenvalue_of_the_discrete_laplacian(p, q):
    shape, h = (64, 48), 0.7
    q = q % shape[1]
    phase = theory.fourier_mode(shape, (p, q))
    mu = theory.lattice_wavenumbers_squared(shape, h)[p, q]
    np.testing.assert_allclose(rd.laplacian(phase.real, h), -mu * phase.real, atol=1e-10)


def test_brusselator_reference_numbers():
    J = theory.jacobian(BRUSSELATOR)
    np.testing.assert_allclose(J, [[8.0, 9.0], [-9.0, -9.0]])
    assert theory.is_turing_unstable(J, 1.0, 10.0)
    # d_c = (f_u g_v - 2 f_v g_u + 2 √(-f_v g_u det J)) / f_u² = (-72 + 162 + 2 √(81 · 9)) / 64 = 144 / 64
    assert theory.critical_diffusion_ratio(J) == pytest.approx(2.25)
    assert theory.critical_wavenumber(J, 1.0, 10.0) == pytest.approx(np.sqrt(71 / 20))


@given(stable_jacobians())
def test_critical_ratio_and_wavenumber_mark_the_onset(case):
    J, D_u, _ = case
    assume(J[0, 0] > 0.05 and J[0, 1] * J[1, 0] < 0)
    d_c = theory.critical_diffusion_ratio(J)
    assume(np.isfinite(d_c) and d_c > 0)
    assert theory.is_turing_unstable(J, D_u, D_u * d_c * (1 + 1e-6))
    assert not theory.is_turing_unstable(J, D_u, D_u * d_c * (1 - 1e-6))
    k_c = theory.critical_wavenumber(J, D_u, D_u * d_c)
    growth_at_onset = theory.dispersion_relation(J, D_u, D_u * d_c, np.array([0.9, 1.0, 1.1]) * k_c**2)
    assert abs(growth_at_onset[1]) < 1e-6 and growth_at_onset[[0, 2]].max() < growth_at_onset[1]


def test_fastest_growing_wavenumber_is_the_maximum_of_the_dispersion_relation():
    J = theory.jacobian(BRUSSELATOR)
    k_max = theory.fastest_growing_wavenumber(J, 1.0, 10.0)
    k2 = np.linspace(0.01, 8.0, 20001)
    assert theory.dispersion_relation(J, 1.0, 10.0, k_max**2) >= theory.dispersion_relation(J, 1.0, 10.0, k2).max()


MODES = [(0, 4), (6, 0), (8, 8), (12, 0), (20, 0), (24, 28), (0, 1), (1, 1), (2, 0), (32, 20)]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_single_modes_grow_at_the_lattice_euler_rate(backend):
    """(b): Brusselator a=3, b=9, D=(1, 10), 64², dt = 0.01, 400 steps; growing and decaying modes,
    measured by projection on the seeded eigenvector, against ln|1 + dt λ(μ_pq)| / dt."""
    dt, steps, shape = 0.01, 400 if backend == "numba" else 100, (64, 64)
    signs = []
    for mode in MODES:
        u, v, rate = theory.seeded_mode(BRUSSELATOR, shape, mode, amplitude=1e-8)
        u_end, v_end = rd.simulate(BRUSSELATOR, u, v, dt=dt, steps=steps, backend=backend)
        ratio = theory.mode_coefficient(BRUSSELATOR, u_end, v_end, mode) / theory.mode_coefficient(
            BRUSSELATOR, u, v, mode)
        measured = np.log(abs(ratio)) / (steps * dt)
        predicted = theory.euler_growth_rate(rate, dt)
        assert measured == pytest.approx(predicted, rel=1e-4), mode
        assert ratio == pytest.approx((1 + dt * rate) ** steps, rel=1e-4), mode  # the phase too
        signs.append(np.sign(predicted))
    assert signs.count(1) >= 4 and signs.count(-1) >= 4


@settings(max_examples=5)
@given(floats(5.0, 9.5), st.integers(0, 2**32 - 1))
def test_pattern_from_noise_picks_a_wavelength_in_the_unstable_band(b, seed):
    """(c): the FFT peak of the pattern that grows from small noise lies in the lattice unstable band."""
    model, shape, dt = rd.brusselator(3.0, b, 1.0, 10.0), (64, 64), 0.01
    u, v = rd.noisy_steady_state(np.random.default_rng(seed), model, shape, amplitude=1e-6)
    u, v = rd.simulate(model, u, v, dt=dt, steps=300)
    k = theory.dominant_wavenumber(u)
    band = theory.unstable_band(theory.jacobian(model), 1.0, 10.0)
    note(f"k {k:.3f}, band {band}")
    assert band[0] < k**2 < band[1]
    power = np.abs(np.fft.fft2(u - model.steady_state[0])) ** 2
    assert power.max() > 1e3 * np.median(power)  # a pattern was selected out of the noise


@given(st.one_of(st.tuples(st.integers(2, 24), st.integers(2, 24)), st.tuples(st.integers(2, 24))),
       st.data(), floats(0.2, 2.0), floats(-1.0, 1.0))
def test_dominant_wavenumber_finds_a_single_mode(shape, data, h, offset):
    """A pure Fourier mode on any grid: the returned k is its |k| rounded to the shell width 2π/(N_max h)."""
    mode = tuple(data.draw(st.integers(0, n - 1)) for n in shape)
    assume(any(mode))
    field = offset + theory.fourier_mode(shape, mode).real
    assume(np.ptp(field) > 0.5)  # a self-conjugate mode sampled at its zeros is (almost) flat
    k = np.sqrt(sum((2 * np.pi * np.fft.fftfreq(n, d=h)[p]) ** 2 for p, n in zip(mode, shape)))
    step = 2 * np.pi / (max(shape) * h)
    assert theory.dominant_wavenumber(field, h) == pytest.approx(step * np.rint(k / step), rel=1e-12)


@given(st.one_of(st.sampled_from([0, 8]), st.integers(0, 15)), st.one_of(st.sampled_from([0, 8]), st.integers(0, 15)),
       floats(1e-9, 1e-3))
def test_mode_coefficient_recovers_the_seeded_amplitude(p, q, amplitude):
    """Including the self-conjugate modes (p, q ∈ {0, 8} on 16²), where the real field is the whole mode;
    the modes whose eigenvector is complex there are excluded (the real part alone cannot carry it)."""
    shape, mode = (16, 16), (p, q)
    u, v, rate = theory.seeded_mode(BRUSSELATOR, shape, mode, amplitude)
    self_conjugate = p % 8 == 0 and q % 8 == 0
    assume(not self_conjugate or rate.imag == 0)
    assert theory.mode_coefficient(BRUSSELATOR, u, v, mode) == pytest.approx(amplitude, rel=1e-6)


@pytest.mark.parametrize("preset", sorted(rd.GRAY_SCOTT_PRESETS))
def test_gray_scott_trivial_state_is_linearly_stable(preset):
    """(e): (1, 0) is stable for every preset; patterns there need finite seeds (Pearson 1993)."""
    model = rd.gray_scott_preset(preset)
    J = theory.jacobian(model)
    assert not theory.is_turing_unstable(J, model.D_u, model.D_v)
    mu = theory.lattice_wavenumbers_squared((32, 32))
    assert theory.dispersion_relation(J, model.D_u, model.D_v, mu).max() < 0
    F, k = dict(model.parameters)["F"], dict(model.parameters)["k"]
    states = theory.gray_scott_steady_states(F, k)
    assert (len(states) == 1) == (F < 4 * (F + k) ** 2)
    for state in states:
        np.testing.assert_allclose(model.reaction(*state), 0.0, atol=1e-12)


def test_gray_scott_small_perturbations_of_the_trivial_state_decay():
    model = rd.gray_scott_preset("mitosis")
    rng = np.random.default_rng(0)
    u, v = 1 + 1e-3 * rng.standard_normal((32, 32)), 1e-3 * rng.uniform(0, 1, (32, 32))
    u_end, v_end = rd.simulate(model, u, v, dt=1.0, steps=300)
    assert np.abs(u_end - 1).max() < 0.2 * np.abs(u - 1).max() and np.abs(v_end).max() < 0.2 * np.abs(v).max()


@pytest.mark.parametrize("p", [1, 3, 6, 13, 31, 60])
def test_neumann_cosine_modes_grow_at_the_lattice_euler_rate(p):
    """Zero flux, 1-D: cos(πp(i + ½)/N) is an eigenvector of the 3-point Laplacian with symbol
    μ = 4 sin²(πp/2N); seeded on the steady state it evolves as (1 + dt λ)ⁿ along each eigen-branch."""
    n, dt, steps = 64, 0.01, 200
    J, (u_star, v_star) = theory.jacobian(BRUSSELATOR), BRUSSELATOR.steady_state
    rates, right, left = theory.mode_eigenvectors(J, 1.0, 10.0, 4 * np.sin(np.pi * p / (2 * n)) ** 2)
    cosine = np.cos(np.pi * p * (np.arange(n) + 0.5) / n)
    amplitude = 1e-8 * right[:, 0].real / np.abs(right[:, 0].real).max()
    u, v = u_star + amplitude[0] * cosine, v_star + amplitude[1] * cosine
    u, v = rd.simulate(BRUSSELATOR, u, v, dt=dt, steps=steps, boundary="neumann")
    projected = np.array([(u - u_star) @ cosine, (v - v_star) @ cosine]) / (cosine @ cosine)
    ratio = (left[0] @ projected) / (left[0] @ amplitude)
    assert ratio == pytest.approx((1 + dt * rates[0]) ** steps, rel=1e-4)
