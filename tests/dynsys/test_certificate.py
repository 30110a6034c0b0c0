"""The certificate of the second pass: the exact contractive constant, the learned pair rule, the Lipschitz bound of
every 1-Lipschitz layer (random pairs and Jacobian norms), the per-pair certificate against attacks, the
certificate-aware loss and its head gradient against finite differences, and the minimum-norm attack."""

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from refimpl.core.gradcheck import assert_gradients
from refimpl.dynsys import model, theory, training
from tests.dynsys.cases import preactivations
from tests.helpers import arrays, floats, off_kinks

seeds = st.integers(0, 2**32 - 1)
BUILDERS = {
    "lipschitz": lambda rng, d_in, width, depth, k: model.lipschitz_network(rng, d_in, width, depth, k, h_C=1.2),
    "learned": model.learned_lipschitz_network,
    "cpl": model.cpl_network,
    "sll": model.sll_network,
    "groupsort": model.groupsort_network,
}


@given(floats(0.01, 1.99), st.floats(0.05, 0.99))  # μ = 1 with h_C = 1: see the test below
def test_exact_contractive_constant_is_below_one_and_below_the_square_root_bound(h_C, mu):
    exact = theory.contractive_lipschitz_bound(h_C, mu)
    assert exact < 1.0
    assert exact <= theory.contractive_lipschitz_sqrt(h_C, mu) + 1e-15
    theory.check_pair_rule(h_C, theory.max_expansive_step(h_C, mu), mu)


@pytest.mark.parametrize("h_C", [2.0, 2.5])
def test_steps_that_do_not_contract_are_still_refused(h_C):
    with pytest.raises(ValueError, match="gives no contraction"):
        theory.check_contractive_step(h_C)
    with pytest.raises(ValueError, match="gives no contraction"):
        model.lipschitz_network(np.random.default_rng(0), 2, 3, 1, 2, h_C=h_C)
    with pytest.raises(ValueError, match="gives no contraction"):
        theory.check_contractive_step(0.5, mu=0.0)


@given(floats(-8.0, 8.0))
def test_learned_steps_satisfy_the_pair_rule_with_equality_for_every_theta(theta):
    h_C, h_E, dh_C, dh_E = theory.pair_rule_steps(theta)
    assert 0.0 < h_C < 2.0 and h_E >= 0.0
    np.testing.assert_allclose(theory.contractive_lipschitz_bound(h_C) * (1.0 + h_E), 1.0, rtol=1e-12)
    assume(abs(h_C - 4.0 / 3.0) > 1e-4)  # the kink of max(|1 - h|, |1 - h/2|)
    step = 1e-6
    numerical = (np.array(theory.pair_rule_steps(theta + step)[:2]) -
                 np.array(theory.pair_rule_steps(theta - step)[:2])) / (2 * step)
    np.testing.assert_allclose([dh_C, dh_E], numerical, rtol=1e-5, atol=1e-9)


@st.composite
def certified_networks(draw):
    """Every 1-Lipschitz body with random biases (the activations switch inside the sampled region), its
    kind, the generator and two batches of points."""
    kind = draw(st.sampled_from(sorted(BUILDERS)))
    rng = np.random.default_rng(draw(seeds))
    d_in, width = draw(st.integers(1, 4)), 2 * draw(st.integers(1, 3))
    net = BUILDERS[kind](rng, d_in, width, draw(st.integers(1, 3)), draw(st.integers(2, 4)))
    for layer in net.layers:
        for name in ("b", "v", "theta"):
            if name in layer.params:
                layer.params[name][...] = rng.standard_normal(layer.params[name].shape)
    x, y = 2.0 * rng.standard_normal((60, d_in)), 2.0 * rng.standard_normal((60, d_in))
    return kind, net, x, y


def _layer_and_jacobian_norms(layer, x):
    """The layer's output at x and ‖J(x)‖₂ per row, J from the JVP of every basis vector."""
    forward, _, jvp = model.LAYER_KINDS[layer.kind]
    out, _ = forward(x, **layer.params, **layer.config)
    n, d = x.shape
    _, cache = forward(np.repeat(x, d, axis=0), **layer.params, **layer.config)
    J = jvp(np.tile(np.eye(d), (n, 1)), cache).reshape(n, d, -1)  # J[i, k] = J(x_i) e_k
    return out, np.linalg.norm(J, 2, axis=(1, 2))


@settings(max_examples=60)
@given(certified_networks())
def test_every_layer_obeys_its_certified_constant_on_random_pairs_and_jacobians(case):
    """‖f(x) − f(y)‖ ≤ L‖x − y‖ and ‖J(x)‖₂ ≤ L for each layer, and for the body (lift and blocks)."""
    kind, net, x, y = case
    margins = []
    for layer in net.layers[:-1]:
        certified = theory.layer_lipschitz_bound(layer)
        (fx, jacobians), (fy, _) = _layer_and_jacobian_norms(layer, x), _layer_and_jacobian_norms(layer, y)
        ratios = np.linalg.norm(fx - fy, axis=1) / np.linalg.norm(x - y, axis=1)
        assert ratios.max() <= certified * (1 + 1e-12)
        assert jacobians.max() <= certified * (1 + 1e-12)
        margins.append(certified - max(ratios.max(), jacobians.max()))
        x, y = fx, fy
    body = theory.body_lipschitz(net)
    assert body <= 1.0 + 1e-12
    note(f"{kind}: certified − measured per layer {np.round(margins, 4)}")


@settings(max_examples=40)
@given(certified_networks())
def test_every_logit_difference_obeys_its_per_pair_constant(case):
    """|(z_i − z_j)(x) − (z_i − z_j)(y)| ≤ K_ij ‖x − y‖ and ‖∇(z_i − z_j)‖ ≤ K_ij, K from the certificate."""
    kind, net, x, y = case
    K = theory.pair_lipschitz(net)
    zx, zy = net(x), net(y)
    differences = np.abs((zx[:, :, None] - zx[:, None, :]) - (zy[:, :, None] - zy[:, None, :]))
    ratios = differences / np.linalg.norm(x - y, axis=1)[:, None, None]
    J = model.network_jacobian(net, x)
    gradients = np.linalg.norm(J[:, :, None, :] - J[:, None, :, :], axis=3)
    assert np.all(ratios <= K * (1 + 1e-12) + 1e-15)
    assert np.all(gradients <= K * (1 + 1e-12) + 1e-15)
    off = ~np.eye(len(K), dtype=bool)
    note(f"{kind}: max measured/K over pairs {np.max(gradients.max(axis=0)[off] / K[off]):.4f}")


@settings(max_examples=30)
@given(certified_networks())
def test_per_pair_certificate_is_at_least_the_global_one_and_no_attack_beats_it(case):
    kind, net, x, _ = case
    rng = np.random.default_rng(0)
    logits = net(x)
    labels = logits.argmax(axis=1)
    labels[::3] = (labels[::3] + 1) % logits.shape[1]  # some points misclassified: radius 0
    K = theory.pair_lipschitz(net)
    radii = theory.certified_radii(logits, labels, K)
    k = logits.shape[1]
    global_radii = theory.certified_radii(logits, labels, np.sqrt(2) * np.linalg.norm(net.layers[-1].params["W"], 2)
                                          * theory.body_lipschitz(net) * (1 - np.eye(k)))
    assert np.all(radii >= global_radii * (1 - 1e-12))
    assert np.all(radii[theory.margins(logits, labels) <= 0] == 0)
    norms, X_adv = training.ddn_l2(net, x, labels, steps=60)
    found = np.isfinite(norms)
    assert np.all(norms[found] >= radii[found] * (1 - 1e-9))  # an attack that beats the certificate refutes it
    assert np.all(theory.margins(net(X_adv[found]), labels[found]) <= 0)
    robust, _ = training.pgd_l2(net, x, labels, 0.5, rng, steps=20)
    assert np.all(robust[radii > 0.5])
    note(f"{kind}: radii {np.round(np.sort(radii)[-3:], 3)}, DDN norms / radii ≥ "
         f"{np.min(norms[found & (radii > 0)] / radii[found & (radii > 0)], initial=np.inf):.3f}")


def test_ddn_finds_the_exact_distance_to_a_linear_boundary_within_a_few_percent(rng):
    """For logits Wx + b with two classes the minimal L2 perturbation is |z_0 − z_1| / ‖w_0 − w_1‖."""
    W, b = rng.standard_normal((2, 5)), rng.standard_normal(2)
    net = model.Network([model.Layer("linear", {"W": W, "b": b})])
    X = rng.standard_normal((40, 5))
    y = net(X).argmax(axis=1)
    exact = np.abs(theory.margins(net(X), y)) / np.linalg.norm(W[0] - W[1])
    norms, _ = training.ddn_l2(net, X, y, steps=200, init_norm=float(np.median(exact)))
    assert np.all(norms >= exact * (1 - 1e-9))
    assert np.all(norms <= exact * 1.05 + 1e-3)
    np.testing.assert_array_equal(training.ddn_l2(net, X, 1 - y, steps=5)[0], 0.0)  # already misclassified


@st.composite
def certified_loss_cases(draw):
    n, k = draw(st.integers(1, 5)), draw(st.integers(2, 4))
    K = draw(arrays((k, k), 0.1, 2.0)) * (1 - np.eye(k))
    return (draw(arrays((n, k))), np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))), K,
            draw(floats(0.0, 2.0)), draw(floats(0.2, 5.0)))


@given(certified_loss_cases())
def test_certified_cross_entropy_gradients_match_finite_differences(case):
    logits, labels, K, eps, temperature = case
    _, dlogits, dK = training.certified_cross_entropy(logits, labels, K, eps, temperature)
    off_diagonal = 1 - np.eye(len(K))  # K_yy = 0 is no parameter: perturbing it must change nothing

    def loss(z, K):
        return training.certified_cross_entropy(z, labels, K * off_diagonal, eps, temperature)[0]

    comparison = assert_gradients(loss, [logits, K], [dlogits, dK])
    assert np.all(np.diag(dK) == 0)
    note(f"worst relative error {comparison.max_rel_error:.2e}")


@given(st.integers(2, 4), st.integers(1, 4), seeds)
def test_head_pair_norms_backward_matches_finite_differences(k, m, seed):
    rng = np.random.default_rng(seed)
    C, dnorms = rng.standard_normal((k, m)), rng.standard_normal((k, k))
    assume(np.all(theory.head_pair_norms(C)[0] + np.eye(k) > 1e-2))
    assert_gradients(lambda C: np.sum(dnorms * theory.head_pair_norms(C)[0]), [C],
                     [training.head_pair_norms_backward(dnorms, C)])


@settings(max_examples=20)
@given(st.sampled_from(sorted(BUILDERS)), seeds)
def test_certified_objective_gradient_matches_finite_differences(kind, seed):
    """The whole certificate-aware loss of a small network, every parameter included (the head through N)."""
    rng = np.random.default_rng(seed)
    net = BUILDERS[kind](rng, 3, 4, 1, 3)
    for layer in net.layers:
        for name in ("b", "v"):
            if name in layer.params:
                layer.params[name][...] = 0.5 * rng.standard_normal(layer.params[name].shape)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    _, caches = net.forward(X)
    assume(off_kinks(*preactivations(caches)))
    objective = training.CertifiedObjective(net, 0.7, 2.0, d_out=3)
    params = net.parameters()
    names = list(params)
    _, grads = objective.loss(params, X, y)

    def loss(*values):
        saved = {name: params[name].copy() for name in names}
        for name, value in zip(names, values):
            params[name][...] = value
        value = objective.loss(params, X, y)[0]
        for name in names:
            params[name][...] = saved[name]
        return value

    comparison = assert_gradients(loss, [params[n].copy() for n in names], [grads[n] for n in names])
    note(f"{kind}: worst relative error {comparison.max_rel_error:.2e}")


def test_a_linear_activation_with_unit_step_contracts_to_a_point():
    """μ = 1, h_C = 1: the Jacobian I − AᵀA vanishes, the constant is 0 and any expansive step is allowed."""
    assert theory.contractive_lipschitz_bound(1.0, 1.0) == 0.0
    assert theory.max_expansive_step(1.0, 1.0) == np.inf
    with pytest.raises(ValueError, match=r"mu must be in \(0, 1\)"):
        theory.pair_rule_steps(0.0, mu=1.0)
