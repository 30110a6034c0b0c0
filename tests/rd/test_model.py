"""The models, the Laplacian and the guards of refimpl.rd: textbook formulas, boundaries, errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl import rd
from refimpl.rd import model as rd_model
from tests.helpers import arrays, floats

shapes_2d = st.tuples(st.integers(1, 7), st.integers(1, 7))


@given(arrays((3, 4), 0.0, 3.0), arrays((3, 4), 0.0, 3.0), floats(0.01, 0.1), floats(0.01, 0.1),
       floats(0.1, 4.0), floats(0.1, 10.0))
def test_reaction_terms_are_the_textbook_formulas(u, v, F, k, a, b):
    cases = [
        (rd.gray_scott(F, k), -u * v**2 + F * (1 - u), u * v**2 - (F + k) * v),
        (rd.brusselator(a, b), a - (b + 1) * u + u**2 * v, b * u - u**2 * v),
        (rd.schnakenberg(a, b, gamma=k * 10), k * 10 * (a - u + u**2 * v), k * 10 * (b - u**2 * v)),
        (rd.linear([[a, -b], [F, -k]]), a * u - b * v, F * u - k * v),
    ]
    for model, f, g in cases:
        f_model, g_model = model.reaction(u, v)
        np.testing.assert_allclose(f_model, f, rtol=1e-12, atol=1e-12, err_msg=model.name)
        np.testing.assert_allclose(g_model, g, rtol=1e-12, atol=1e-12, err_msg=model.name)


@given(floats(0.1, 4.0), floats(0.1, 10.0), floats(0.1, 5.0))
def test_steady_states_are_zeros_of_the_reaction(a, b, gamma):
    for model in (rd.brusselator(a, b), rd.schnakenberg(a, b, gamma=gamma), rd.gray_scott(a / 40, b / 100),
                  rd.linear([[a, b], [-b, -a]])):
        f, g = model.reaction(*model.steady_state)
        np.testing.assert_allclose([f, g], 0.0, atol=1e-12 * (1 + a + b) ** 3, err_msg=model.name)


def _laplacian_by_matrices(u, h, boundary):
    """Independent oracle: (L_y u + u L_xᵀ) / h² with explicit 1-D second-difference matrices."""
    def second_difference(n):
        matrix = -2 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
        if boundary == "periodic":
            matrix[0, -1] += 1
            matrix[-1, 0] += 1
        else:  # ghost = edge value: the missing neighbour is the cell itself
            matrix[0, 0] += 1
            matrix[-1, -1] += 1
        return matrix

    if u.ndim == 1:
        return second_difference(u.size) @ u / h**2
    return (second_difference(u.shape[0]) @ u + u @ second_difference(u.shape[1]).T) / h**2


@given(st.data(), st.one_of(shapes_2d, st.tuples(st.integers(1, 9))), st.sampled_from(rd.BOUNDARIES),
       floats(0.1, 2.0))
def test_laplacian_matches_second_difference_matrices(data, shape, boundary, h):
    u = data.draw(arrays(shape))
    np.testing.assert_allclose(rd.laplacian(u, h, boundary), _laplacian_by_matrices(u, h, boundary),
                               rtol=1e-12, atol=1e-12)


@given(st.data(), st.one_of(shapes_2d, st.tuples(st.integers(2, 9))), st.sampled_from(rd.BOUNDARIES),
       st.sampled_from(["numpy", "numba"]), st.integers(1, 4))
def test_pure_diffusion_conserves_mass_exactly(data, shape, boundary, backend, steps):
    """(d): with integer fields and dyadic dt·D/h², every sum is exact, so mass balance is exact equality."""
    u = data.draw(st.lists(st.integers(-8, 8), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    u = np.array(u, dtype=np.float64).reshape(shape)
    model = rd.linear(np.zeros((2, 2)), D_u=1.0, D_v=0.5)
    dt = rd.max_stable_dt(1.0, 1.0, len(shape))  # 1/4 in 2-D, 1/2 in 1-D: dyadic
    u_next, v_next = rd.simulate(model, u, -u, dt=dt, steps=steps, boundary=boundary, backend=backend)
    assert u_next.sum() == u.sum() and v_next.sum() == -u.sum()


def test_time_step_guard_names_the_largest_stable_step():
    model = rd.brusselator(D_u=1.0, D_v=10.0)
    u, v = np.ones((4, 4)), np.ones((4, 4))
    with pytest.raises(ValueError, match=r"dt = 0.03 .* D_max = 10, h = 1 in 2-D; use dt <= 0.025"):
        rd.simulate(model, u, v, dt=0.03, steps=1)
    with pytest.raises(ValueError, match=r"use dt <= 0.05$"):
        rd.simulate(model, u[0], v[0], dt=0.06, steps=1)
    rd.simulate(model, u[0], v[0], dt=0.05, steps=1)  # the bound itself is allowed
    with pytest.raises(ValueError, match=r"use dt <= 0.00625$"):
        rd.simulate(model, u, v, dt=0.01, steps=1, h=0.5)


def test_bad_input_is_refused_with_the_parameter_named():
    model = rd.gray_scott_preset("mitosis")
    u, v = np.ones((4, 5)), np.zeros((4, 5))
    with pytest.raises(ValueError, match="D_u must be >= 0"):
        rd.brusselator(D_u=-1.0)
    with pytest.raises(ValueError, match="D_v must be >= 0"):
        rd.gray_scott(0.03, 0.06, D_v=-0.1)
    with pytest.raises(ValueError, match="name must be one of"):
        rd.gray_scott_preset("stripes")
    bad = u.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="u must be finite; it holds 1 NaN"):
        rd.simulate(model, bad, v, dt=1.0, steps=1)
    with pytest.raises(ValueError, match=r"v must have the shape of u, \(4, 5\); got \(5, 4\)"):
        rd.simulate(model, u, v.T, dt=1.0, steps=1)
    with pytest.raises(ValueError, match="u must have 1 or 2 dimensions"):
        rd.simulate(model, np.ones((2, 2, 2)), np.ones((2, 2, 2)), dt=1.0, steps=1)
    with pytest.raises(ValueError, match="boundary must be one of"):
        rd.simulate(model, u, v, dt=1.0, steps=1, boundary="dirichlet")
    with pytest.raises(ValueError, match="backend must be one of"):
        rd.simulate(model, u, v, dt=1.0, steps=1, backend="gpu")
    with pytest.raises(ValueError, match="steps must be >= 0"):
        rd.simulate(model, u, v, dt=1.0, steps=-1)
    with pytest.raises(ValueError, match=r"J must have shape \(2, 2\); got \(1, 2\)"):
        rd.linear([[1.0, 2.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("steps", [0, 9])
def test_dtype_is_kept_and_inputs_are_not_modified(dtype, backend, steps):
    model = rd.gray_scott_preset("coral")
    u, v = (a.astype(dtype) for a in rd_model.pearson_seed(np.random.default_rng(0), (6, 7)))
    u_before, v_before = u.copy(), v.copy()
    out = rd.simulate(model, u, v, dt=1.0, steps=steps, backend=backend)
    assert all(a.dtype == dtype and a.shape == u.shape for a in out)
    assert not any(np.shares_memory(a, b) for a in out for b in (u, v))
    np.testing.assert_array_equal(u, u_before)
    np.testing.assert_array_equal(v, v_before)


def test_laplacian_refuses_an_unknown_boundary():
    u = np.ones((3, 3))
    with pytest.raises(ValueError, match="boundary must be one of 'periodic', 'neumann'; got 'dirichlet'"):
        rd.laplacian(u, boundary="dirichlet")
    with pytest.raises(ValueError, match="boundary must be one of"):
        rd.euler_step(rd.gray_scott_preset("coral"), u, u, 1.0, boundary="Periodic")


@pytest.mark.parametrize("call, message", [
    (lambda rng: rd.pearson_seed(rng, (0, 4)), r"shape\[0\] must be >= 1; got 0"),
    (lambda rng: rd.pearson_seed(rng, (2, 3, 4)), r"shape must be \(n,\) or \(ny, nx\)"),
    (lambda rng: rd.pearson_seed(rng, (4, 4), square=0.0), "square must be > 0; got 0.0"),
    (lambda rng: rd.pearson_seed(rng, (4, 4), square=1.5), r"square must be a fraction of the grid in \(0, 1\]"),
    (lambda rng: rd.pearson_seed(rng, (4, 4), noise=-0.1), "noise must be >= 0; got -0.1"),
    (lambda rng: rd.pearson_seed(rng, (4, 4), values=(0.5,)), r"values must be a pair \(u, v\)"),
    (lambda rng: rd.pearson_seed(rng, (4, 4), values=(0.5, np.nan)), r"values\[1\] must be finite"),
    (lambda rng: rd.noisy_steady_state(rng, rd.brusselator(), (4, 2.5)), r"shape\[1\] must be an integer"),
    (lambda rng: rd.noisy_steady_state(rng, rd.brusselator(), (4,), amplitude=-1e-3),
     "amplitude must be >= 0; got -0.001"),
    (lambda rng: rd.pearson_seed("0", (4, 4)), "rng must be a numpy.random.Generator or an int seed; got str"),
    (lambda rng: rd.noisy_steady_state(None, rd.brusselator(), (4,)), "rng must be a numpy.random.Generator"),
    (lambda rng: rd.max_stable_dt(-1.0), "D_max must be >= 0; got -1.0"),
    (lambda rng: rd.max_stable_dt(1.0, h=0.0), "h must be > 0; got 0.0"),
    (lambda rng: rd.max_stable_dt(1.0, ndim=0), "ndim must be >= 1; got 0"),
])
def test_initial_conditions_and_step_limit_refuse_bad_input(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(np.random.default_rng(0))


def test_an_int_seed_is_the_generator_it_seeds():
    u, v = rd.pearson_seed(7, (6, 7))
    u_ref, v_ref = rd.pearson_seed(np.random.default_rng(7), (6, 7))
    np.testing.assert_array_equal(u, u_ref)
    np.testing.assert_array_equal(v, v_ref)


def test_a_model_record_refuses_malformed_coefficients():
    with pytest.raises(ValueError, match=r"f must have shape \(5,\); got \(4,\)"):
        rd.ReactionDiffusion("bad", 1.0, 1.0, f=(1.0, 2.0, 3.0, 4.0), g=(0.0,) * 5, steady_state=(0.0, 0.0))
    with pytest.raises(TypeError, match="model must be a refimpl.rd.ReactionDiffusion"):
        rd.simulate("gray-scott", np.ones(4), np.zeros(4), dt=0.1, steps=1)
