"""Every flow-map layer's backward pass and JVP against central finite differences (float64), the network
composition, the numba twin of the mass-preserving rollout, and the input checks."""

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from refimpl.core.gradcheck import assert_gradients, numerical_gradient
from refimpl.dynsys import kernels, model, splitting
from refimpl.dynsys.model import LAYER_KINDS
from tests.dynsys.cases import hand_derived, layer_cases, preactivations
from tests.helpers import arrays, off_kinks


def _forward_of(kind, names, config):
    def forward(x, *values):
        return LAYER_KINDS[kind][0](x, **dict(zip(names, values)), **config)[0]
    return forward


@settings(max_examples=60)
@given(layer_cases())
def test_layer_gradients_match_finite_differences(case):
    kind, x, params, config, dout = case
    _, dx, grads = hand_derived(case)
    comparison = assert_gradients(_forward_of(kind, list(params), config), [x, *params.values()],
                                  [dx, *grads], dout=dout)
    note(f"{kind} {config}: worst relative error {comparison.max_rel_error:.2e}")


@settings(max_examples=40)
@given(layer_cases(), st.data())
def test_layer_jvp_matches_finite_differences(case, data):
    kind, x, params, config, _ = case
    forward, _, jvp = LAYER_KINDS[kind]
    _, cache = forward(x, **params, **config)
    assume(off_kinks(*preactivations(cache)))
    t = data.draw(arrays(x.shape, -1.0, 1.0))
    step = 1e-6
    numerical = (forward(x + step * t, **params, **config)[0] - forward(x - step * t, **params, **config)[0]) / (2 * step)
    np.testing.assert_allclose(jvp(t, cache), numerical, rtol=1e-6, atol=1e-8 * max(1.0, np.abs(numerical).max()))


@st.composite
def small_networks(draw):
    """A lift, a ResNet step, a (expansive, contractive) pair and a head, tanh inside the steps."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    d_in, width = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    net = model.lipschitz_network(rng, d_in, width, 1, 2, h_C=draw(st.floats(0.05, 0.95)))
    for layer in net.layers[1:3]:
        layer.config["activation_name"] = "tanh"
    net.layers.insert(1, model.Layer("resnet", {"A": rng.standard_normal((2, width)), "B": rng.standard_normal((width, 2)),
                                                "b": rng.standard_normal(2)}, {"h": 0.3}))
    return net, draw(arrays((2, d_in))), draw(arrays((2, 2)))


@settings(max_examples=15)
@given(small_networks())
def test_network_backward_matches_finite_differences(case):
    net, x, dout = case
    params = net.parameters()
    names = list(params)

    def forward(x, *values):
        saved = {name: params[name].copy() for name in names}
        for name, value in zip(names, values):
            params[name][...] = value
        out = net(x)
        for name in names:
            params[name][...] = saved[name]
        return out

    _, caches = net.forward(x)
    dx, grads = net.backward(dout, caches)
    assert_gradients(forward, [x, *(params[n] for n in names)], [dx, *(grads[n] for n in names)], dout=dout)


@settings(max_examples=15)
@given(small_networks())
def test_network_jacobian_matches_finite_differences(case):
    net, x, _ = case
    J = model.network_jacobian(net, x)
    for i in range(len(x)):
        numerical = np.stack([numerical_gradient(lambda p: net(p[None])[0, k], [x[i]])[0] for k in range(J.shape[1])])
        np.testing.assert_allclose(J[i], numerical, rtol=1e-6, atol=1e-8)


@settings(max_examples=20)
@given(st.integers(1, 4), st.integers(1, 3), st.sampled_from(sorted(model.RK_TABLEAUS)),
       st.sampled_from(["tanh", "leaky_relu"]), st.integers(0, 2**32 - 1))
def test_mass_rollout_twins_agree(d, n, method, activation_name, seed):
    rng = np.random.default_rng(seed)
    x, U, u = rng.standard_normal((n, d)), rng.standard_normal((d * d, d)), rng.standard_normal(d * d)
    reference = kernels.mass_rollout(x, U, u, 0.05, 40, method, activation_name, backend="numpy")
    fast = kernels.mass_rollout(x, U, u, 0.05, 40, method, activation_name, backend="numba")
    for a, b in zip(reference, fast):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-11)
    moved = np.abs(reference[0] - x).max()  # twins that both return x would agree too
    assert moved > 1e-3 if d > 1 else moved < 1e-12  # in 1-D, conserving the mass fixes the state


def test_mass_rollout_and_network_agree():
    """The kernel's step is the model's layer: one rollout step equals one ``mass_rk`` layer."""
    rng = np.random.default_rng(3)
    net = model.mass_preserving_network(rng, 3, 1, h=0.1, method="heun")
    x = rng.standard_normal((4, 3))
    out, _ = kernels.mass_rollout(x, **net.layers[0].params, h=0.1, steps=1, method="heun")
    np.testing.assert_allclose(out, net(x), rtol=1e-13)
    assert np.abs(out - x).max() > 1e-2


def test_bad_input_is_refused_with_clear_messages():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"U must have shape \(d², d\) = \(9, 3\)"):
        kernels.mass_rollout(np.zeros((2, 3)), np.zeros((9, 2)), np.zeros(9), 0.1, 5)
    with pytest.raises(ValueError, match="h must be > 0"):
        kernels.mass_rollout(np.zeros((2, 3)), np.zeros((9, 3)), np.zeros(9), -0.1, 5)
    with pytest.raises(ValueError, match="method must be one of"):
        model.mass_preserving_network(rng, 3, 2, method="rk5")
    with pytest.raises(ValueError, match="d must be even"):
        model.volume_preserving_network(rng, 5, 2)
    with pytest.raises(ValueError, match="kind must be one of"):
        model.Layer("conv", {})
    with pytest.raises(ValueError, match=r"params\['B'\] must have shape \(d, m\) = \(3, 4\) in a resnet layer"):
        model.Layer("resnet", {"A": np.zeros((4, 3)), "B": np.zeros((4, 3)), "b": np.zeros(4)}, {"h": 0.5})
    with pytest.raises(ValueError, match="config of a resnet layer must give the step size h"):
        model.Layer("resnet", {"A": np.zeros((4, 3)), "B": np.zeros((3, 4)), "b": np.zeros(4)})
    lift = model.Layer("linear", {"W": np.zeros((4, 3)), "b": np.zeros(4)})
    with pytest.raises(ValueError, match=r"layer 1 \(linear\) takes width 3 but layer 0 \(linear\) gives 4"):
        model.Network([lift, lift])
    with pytest.raises(TypeError, match="layers_ must be a non-empty list of refimpl.dynsys.Layer"):
        model.Network([])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_mass_rollout_that_blows_up_stops_with_the_step(backend):
    # leaky ReLU field with huge weights and step: |x| grows geometrically until it overflows
    d = 2
    U, u = np.full((d * d, d), 1e3) * np.array([1.0, -1.0]), np.zeros(d * d)
    U[1] *= -1.0
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=r"x became (nan|inf) at step \d+ of 500"):
        kernels.mass_rollout(np.array([[1.0, 0.5]]), U, u, 10.0, 500, activation_name="leaky_relu", backend=backend)


def test_a_strang_error_that_is_not_finite_stops_with_the_step():
    x = np.ones((2, 2))
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="strang_minus_exact_flow became"):
        splitting.strang_local_errors(lambda y: y**3 * 1e6, lambda y: y, x, np.array([0.1, 0.05]))


@pytest.mark.parametrize("build", [
    lambda rng, name: model.resnet(rng, 2, 3, 1, 2, activation_name=name),
    lambda rng, name: model.volume_preserving_network(rng, 2, 1, activation_name=name),
    lambda rng, name: model.hamiltonian_network(rng, 2, 1, activation_name=name),
    lambda rng, name: model.mass_preserving_network(rng, 2, 1, activation_name=name),
])
def test_unknown_activation_names_are_refused_not_read_as_tanh(build):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="activation_name must be one of 'leaky_relu', 'tanh'; got 'relu'"):
        build(rng, "relu")
    x = np.zeros((1, 2))
    with pytest.raises(ValueError, match="activation_name must be one of"):  # the layer functions check too
        model.resnet_forward(x, np.eye(2), np.eye(2), np.zeros(2), 0.5, activation_name="relu")
    with pytest.raises(ValueError, match="activation_name must be one of"):
        splitting.gradient_field(x, np.eye(2), np.zeros(2), activation_name="relu")
    with pytest.raises(ValueError, match="activation_name must be one of"):
        kernels.mass_rollout(x, np.zeros((4, 2)), np.zeros(4), 0.1, 1, activation_name="relu")


@st.composite
def field_cases(draw):
    d, m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return (draw(arrays((n, d), -2.0, 2.0)), draw(arrays((n, d), -1.0, 1.0)), draw(arrays((m, d), -1.0, 1.0)),
            draw(arrays((m,), -1.0, 1.0)), draw(arrays((d * d, d), -1.0, 1.0)), draw(arrays((d * d,), -1.0, 1.0)))


@given(field_cases())
def test_gradient_and_sphere_field_vjps_match_finite_differences(case):
    x, w, A, b, C, c = case
    assert_gradients(lambda x: splitting.gradient_field(x, A, b), [x], [splitting.gradient_field_vjp(x, w, A, b)],
                     dout=w)
    assert_gradients(lambda x: splitting.sphere_field(x, C, c), [x], [splitting.sphere_field_vjp(x, w, C, c)], dout=w)
