"""The structure each network is built to have, as property tests: unit Jacobian determinant, the linear
invariant 𝟙ᵀx, symplecticity, 1-Lipschitz maps, the Presnov decomposition and the Strang order."""

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from refimpl.dynsys import kernels, model, splitting, theory, training

seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=15)
@given(seeds, st.integers(1, 3), st.integers(1, 20), st.floats(0.05, 1.0), st.sampled_from(["tanh", "leaky_relu"]))
def test_volume_preserving_network_has_unit_jacobian_determinant(seed, k, depth, h, activation_name):
    rng = np.random.default_rng(seed)
    net = model.volume_preserving_network(rng, 2 * k, depth, h=h, activation_name=activation_name)
    J = model.network_jacobian(net, rng.standard_normal((8, 2 * k)))
    sign, logdet = np.linalg.slogdet(J)
    condition = np.linalg.cond(J)
    note(f"max |log det J| = {np.abs(logdet).max():.2e}, max cond J = {condition.max():.2e}")
    assert np.abs(J - np.eye(2 * k)).max() > 1e-3  # a real shear, not the identity (det 1 trivially)
    assert np.all(sign == 1.0)
    # LU round-off in log det grows like eps·cond(J); deep leaky-ReLU stacks reach cond ≈ 1e8
    np.testing.assert_array_less(np.abs(logdet), 1e-10 + 1e-15 * condition)


def test_resnet_is_not_volume_preserving():
    """The same determinant test fails for an unconstrained Euler step (the test can fail)."""
    rng = np.random.default_rng(1)
    net = model.resnet(rng, 4, 4, 3, 4, h=0.5, activation_name="tanh")
    logdet = np.linalg.slogdet(model.network_jacobian(net, rng.standard_normal((5, 4))))[1]
    assert np.abs(logdet).max() > 1e-3


@settings(max_examples=10)
@given(seeds, st.integers(2, 5), st.sampled_from(sorted(model.RK_TABLEAUS)), st.sampled_from(["tanh", "leaky_relu"]))
def test_mass_is_conserved_over_1000_steps_by_every_runge_kutta_method(seed, d, method, activation_name):
    rng = np.random.default_rng(seed)
    x, U, u = rng.standard_normal((3, d)), rng.standard_normal((d * d, d)), rng.standard_normal(d * d)
    for backend in ("numpy", "numba"):
        final, sums = kernels.mass_rollout(x, U, u, 0.02, 1000, method, activation_name, backend=backend)
        drift = np.abs(sums - sums[0]).max()
        note(f"{backend} {method}: drift {drift:.2e}, moved {np.abs(final - x).max():.2f}")
        scale = max(1.0, np.abs(x).sum(axis=1).max(), np.abs(final).sum(axis=1).max())  # leaky ReLU fields grow
        assert drift <= 1e-13 * 1000 * scale
        # the state moved (at least 7 % of ‖x_0‖ over 200 seeds): a flow that does nothing would conserve mass too
        np.testing.assert_array_less(0.01 * np.linalg.norm(x, axis=1), np.linalg.norm(final - x, axis=1))


def test_mass_network_conserves_mass_but_a_resnet_does_not():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4))
    mass_net = model.mass_preserving_network(rng, 4, 10, h=0.2, method="euler")
    res_net = model.Network(model.resnet(rng, 4, 4, 10, 4, h=0.2).layers[1:-1])
    np.testing.assert_allclose(mass_net(x).sum(axis=1), x.sum(axis=1), rtol=0, atol=1e-12)
    assert np.abs(mass_net(x) - x).max() > 0.1  # conserved while the state moves
    assert np.abs(res_net(x).sum(axis=1) - x.sum(axis=1)).max() > 1e-3


def _omega(k):
    return np.block([[np.zeros((k, k)), np.eye(k)], [-np.eye(k), np.zeros((k, k))]])


@settings(max_examples=15)
@given(seeds, st.integers(1, 3), st.integers(1, 6), st.integers(1, 8), st.floats(0.05, 1.0))
def test_hamiltonian_blocks_are_symplectic(seed, k, width, depth, h):
    rng = np.random.default_rng(seed)
    net = model.hamiltonian_network(rng, 2 * k, depth, width=width, h=h)
    J = model.network_jacobian(net, rng.standard_normal((5, 2 * k)))
    omega = _omega(k)
    error = np.abs(J.transpose(0, 2, 1) @ omega @ J - omega).max()
    note(f"max |JᵀΩJ − Ω| = {error:.2e}, max |J − I| = {np.abs(J - np.eye(2 * k)).max():.2e}")
    assert np.abs(J - np.eye(2 * k)).max() > 1e-3  # the identity is symplectic too: the map must do something
    assert error < 1e-10 * max(1.0, np.abs(J).max() ** 2)


def test_volume_preserving_step_is_not_symplectic():
    """A divergence-free shear is not symplectic in general: the symplectic test can fail."""
    rng = np.random.default_rng(4)
    net = model.volume_preserving_network(rng, 4, 3)
    J = model.network_jacobian(net, rng.standard_normal((3, 4)))
    assert np.abs(J.transpose(0, 2, 1) @ _omega(2) @ J - _omega(2)).max() > 1e-3


@st.composite
def lipschitz_networks(draw):
    rng = np.random.default_rng(draw(seeds))
    h_C = draw(st.floats(0.05, 1.95))
    h_E = theory.max_expansive_step(h_C) * draw(st.floats(0.1, 1.0))
    net = model.lipschitz_network(rng, draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 4)),
                                  draw(st.integers(2, 4)), h_C=h_C, h_E=h_E)
    for layer in net.layers:  # random biases, so that the activations switch inside the sampled region
        for name in ("b", "v"):
            if name in layer.params:
                layer.params[name][...] = rng.standard_normal(layer.params[name].shape)
    return net, rng


@settings(max_examples=25)
@given(lipschitz_networks())
def test_lipschitz_network_is_1_lipschitz_and_certified_above_empirical(case):
    net, rng = case
    d_in = net.layers[0].params["W"].shape[1]
    x, y = 2.0 * rng.standard_normal((50, d_in)), 2.0 * rng.standard_normal((50, d_in))
    jacobian_norms = np.linalg.norm(model.network_jacobian(net, x), 2, axis=(1, 2))
    ratios = np.linalg.norm(net(x) - net(y), axis=1) / np.linalg.norm(x - y, axis=1)
    certified = theory.certified_lipschitz(net)
    note(f"max ‖J‖ = {jacobian_norms.max():.3f}, max ratio = {ratios.max():.3f}, certified = {certified:.6f}")
    assert certified <= 1.0 + 1e-12
    assert jacobian_norms.max() > 1e-3  # not a constant map, which is 0-Lipschitz and passes every bound
    assert jacobian_norms.max() <= certified + 1e-12
    assert ratios.max() <= certified + 1e-12
    power = training.empirical_lipschitz(net, x, rng, n_iter=200)
    np.testing.assert_array_less(power, jacobian_norms + 1e-9)  # a lower bound, converging to ‖J‖
    np.testing.assert_allclose(power.max(), jacobian_norms.max(), rtol=1e-3)


@settings(max_examples=20)
@given(lipschitz_networks(), st.data())
def test_every_built_network_is_certified_whatever_activation_is_asked_for(case, data):
    """Any activation may be set on the (expansive, contractive) layers; a network that is still built must
    satisfy ‖J‖ ≤ certified ≤ 1, and one that is refused must have asked for an activation with μ = 0."""
    net, rng = case
    for layer in net.layers:
        if layer.kind in ("expansive", "contractive"):
            layer.config["activation_name"] = data.draw(st.sampled_from(model.ACTIVATIONS))
            layer.params.get("b", layer.params.get("v"))[...] *= 20.0  # large biases: tanh saturates somewhere
    names = {layer.config.get("activation_name") for layer in net.layers} - {None}
    try:
        net = model.Network(net.layers)
    except ValueError as error:
        assert "tanh" in names and "is not certified" in str(error)
        return
    x = 2.0 * rng.standard_normal((30, net.layers[0].params["W"].shape[1]))
    certified = theory.certified_lipschitz(net)
    assert np.linalg.norm(model.network_jacobian(net, x), 2, axis=(1, 2)).max() <= certified + 1e-12 <= 1 + 2e-12


def test_a_tanh_pair_breaks_the_pair_rule_and_is_refused():
    """tanh has μ = 0: where the contractive step saturates (Σ' ≈ 0) it is the identity, and the pair's
    Jacobian is the expansive step's 1 + h_E > 1. The leaky ReLU pair at the same point is certified."""
    d, h_C = 3, 0.5
    h_E = theory.max_expansive_step(h_C)
    pair = [model.Layer("expansive", {"W": np.eye(d), "v": np.zeros(d)}, {"h": h_E}),
            model.Layer("contractive", {"A": np.eye(d), "b": np.full(d, 50.0)}, {"h": h_C})]
    net = model.Network(pair)
    x = np.zeros((1, d))
    assert np.linalg.norm(model.network_jacobian(net, x)[0], 2) <= theory.certified_lipschitz(net) <= 1 + 1e-12
    for layer in pair:  # changed after the build checks, as a user might
        layer.config["activation_name"] = "tanh"
    np.testing.assert_allclose(np.linalg.norm(model.network_jacobian(net, x)[0], 2), 1 + h_E, rtol=1e-12)
    with pytest.raises(ValueError, match=r"layer 1 \(contractive\): activation_name = 'tanh' is not certified"):
        model.Network([model.Layer("expansive", pair[0].params, {"h": h_E}), pair[1]])  # tanh only where it matters
    with pytest.raises(ValueError, match="is not certified"):
        model.Network(pair)
    with pytest.raises(ValueError, match="is not certified"):
        theory.certified_lipschitz(net)


@settings(max_examples=20)
@given(seeds, st.integers(1, 6), st.floats(0.05, 1.9))
def test_single_contractive_step_has_the_exact_constant(seed, d, h_C):
    """Orthogonal A: ‖J‖ ≤ max(|1 − h|, |1 − h/2|), attained where all slopes are equal."""
    rng = np.random.default_rng(seed)
    A = model.random_orthogonal(rng, d)
    x = np.concatenate([rng.standard_normal((40, d)), np.ones((1, d)) @ A, -np.ones((1, d)) @ A])
    _, cache = model.contractive_forward(np.repeat(x, d, axis=0), A, np.zeros(d), h_C)
    J = model.contractive_jvp(np.tile(np.eye(d), (len(x), 1)), cache).reshape(len(x), d, d)  # symmetric
    norms = np.linalg.norm(J, 2, axis=(1, 2))
    exact = theory.contractive_lipschitz_bound(h_C)
    assert norms.max() <= exact + 1e-12
    np.testing.assert_allclose(norms.max(), exact, rtol=1e-12)
    assert exact <= theory.contractive_lipschitz_sqrt(h_C) + 1e-15


@given(st.floats(0.01, 1.99), st.floats(1.001, 3.0))
def test_pair_rule_violations_are_refused_when_the_network_is_built(h_C, factor):
    rng = np.random.default_rng(0)
    h_E = theory.max_expansive_step(h_C) * factor
    with pytest.raises(ValueError, match="breaks the pair rule"):
        model.lipschitz_network(rng, 2, 3, 2, 2, h_C=h_C, h_E=h_E)
    model.lipschitz_network(rng, 2, 3, 2, 2, h_C=h_C, h_E=theory.max_expansive_step(h_C))


def test_non_orthogonal_or_unpaired_layers_are_refused():
    rng = np.random.default_rng(0)
    net = model.lipschitz_network(rng, 2, 3, 1, 2)
    layers = net.layers
    with pytest.raises(ValueError, match="not followed by a contractive step"):
        model.Network([layers[1]])
    with pytest.raises(ValueError, match="gives no contraction"):
        model.lipschitz_network(rng, 2, 3, 1, 2, h_C=2.0)
    layers[2].params["A"] *= 1.1
    with pytest.raises(ValueError, match="must be square orthogonal"):
        model.Network(layers)


def test_training_keeps_orthogonality_and_spectral_norms_exactly(rng):
    net = model.lipschitz_network(rng, 2, 5, 2, 2)
    X = rng.standard_normal((64, 2))
    y = (X[:, 0] > 0).astype(int)
    training.train_classifier(net, X, y, rng, steps=30, batch_size=16, lr=0.05, margin=0.5)
    for layer in net.layers:
        if layer.kind == "contractive":
            A = layer.params["A"]
            np.testing.assert_allclose(A.T @ A, np.eye(len(A)), atol=1e-13)
        if "W" in layer.params:
            assert np.linalg.norm(layer.params["W"], 2) <= 1.0 + 1e-12
    model.Network(net.layers)  # still passes the build-time checks


@given(seeds, st.integers(1, 6), st.integers(1, 6))
def test_power_iteration_converges_to_the_largest_singular_value(seed, rows, cols):
    W = np.random.default_rng(seed).standard_normal((rows, cols))
    sigma, _ = theory.spectral_norm(W, n_iter=2000, tol=1e-15)
    exact = np.linalg.norm(W, 2)
    assert sigma <= exact * (1 + 1e-12)
    np.testing.assert_allclose(sigma, exact, rtol=1e-6)


@st.composite
def split_fields(draw):
    rng = np.random.default_rng(draw(seeds))
    d, m = draw(st.integers(2, 4)), draw(st.integers(1, 4))
    A, b = rng.standard_normal((m, d)) / np.sqrt(d), rng.standard_normal(m)
    C, c = rng.standard_normal((d * d, d)) / d, rng.standard_normal(d * d)
    return rng, d, (A, b), (C, c)


@settings(max_examples=20)
@given(split_fields())
def test_presnov_decomposition(case):
    """X_S = f − ∇U is tangent to spheres for any f; the gradient part of a gradient field is itself."""
    rng, d, (A, b), (C, c) = case
    x = rng.standard_normal((6, d))

    def field(y):
        return splitting.gradient_field(y, A, b) + splitting.sphere_field(y, C, c)

    def field_vjp(y, w):
        return splitting.gradient_field_vjp(y, w, A, b) + splitting.sphere_field_vjp(y, w, C, c)

    _, _, remainder = splitting.presnov_decomposition(field, field_vjp, x, n_nodes=30)
    np.testing.assert_allclose(np.sum(x * remainder, axis=1), 0.0, atol=1e-10)
    # the decomposition is unique (a tangent field has potential 0 along rays): the remainder is the sphere
    # part itself, which is far from 0 (so a remainder of 0 would not pass)
    np.testing.assert_allclose(remainder, splitting.sphere_field(x, C, c), atol=1e-10)
    np.testing.assert_allclose(np.sum(x * splitting.sphere_field(x, C, c), axis=1), 0.0, atol=1e-12)
    potential, gradient, remainder = splitting.presnov_decomposition(
        lambda y: splitting.gradient_field(y, A, b), lambda y, w: splitting.gradient_field_vjp(y, w, A, b), x, 30)
    np.testing.assert_allclose(remainder, 0.0, atol=1e-10)
    np.testing.assert_allclose(gradient, splitting.gradient_field(x, A, b), atol=1e-10)


@settings(max_examples=20)
@given(split_fields(), st.floats(0.01, 2.0))
def test_cayley_sphere_step_preserves_the_norm(case, h):
    rng, d, _, (C, c) = case
    x = rng.standard_normal((5, d))
    y = splitting.sphere_cayley_step(x, C, c, h)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=1e-13)
    assert np.abs(y - x).max() > 1e-3 * h * np.abs(splitting.sphere_field(x, C, c)).max()  # it rotates x


@settings(max_examples=8)
@given(split_fields())
def test_strang_splitting_local_error_has_order_3(case):
    rng, d, (A, b), (C, c) = case
    x = rng.standard_normal((4, d))
    steps = np.array([0.08, 0.04, 0.02, 0.01])
    errors = splitting.strang_local_errors(lambda y: splitting.gradient_field(y, A, b),
                                           lambda y: splitting.sphere_field(y, C, c), x, steps)
    slope = theory.loglog_slope(steps, errors)
    note(f"errors {errors}, slope {slope:.3f}")
    assert 2.75 <= slope <= 3.5  # local error O(h³); Lie-Trotter would give 2
