"""The tutorial's MNIST networks: whole-network gradients against finite differences, backends, parameter
counts, and the filter-normalised directions of the loss-surface plots (training: tests/core/test_classifier.py)."""

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from refimpl.core import conv
from refimpl.core.classifier import ConvNet, count_params
from refimpl.core.gradcheck import assert_gradients
from refimpl.tutorial import landscape, model
from tests.helpers import KINK_MARGIN, arrays


def tiny_networks():
    return {
        "one_layer": model.OneLayerNet(d_in=6, d_out=3),
        "two_layer": model.TwoLayerNet(d_in=6, hidden=4, d_out=3),
        "cnn": model.three_layer_convnet(image_size=4, channels=2, filters=2, filter_size=3, pool=2, hidden=3,
                                         d_out=3, backend="numpy"),  # numba twin: equality test below
    }


def _kink_distances(network, params, x):
    """How far the input is from every kink: each ReLU input, and for the CNN the gap between the two
    largest values of each pooling window whose maximum is positive (where the routing could flip)."""
    if isinstance(network, model.OneLayerNet):
        return []
    if isinstance(network, model.TwoLayerNet):
        return [x @ params["M1"].T + params["c1"]]
    _, (block_caches, _, _, pre_hidden, _) = network.forward(params, x)
    images = x.reshape(len(x), network.channels, network.image_size, network.image_size)
    feature_maps = conv.conv2d_forward(images, params["K1"], params["b1"], network.blocks[0][2], backend="numpy")[0]
    s = network.pool
    n, F, H, W = feature_maps.shape
    windows = np.sort(feature_maps.reshape(n, F, H // s, s, W // s, s).transpose(0, 1, 2, 4, 3, 5)
                      .reshape(n, F, H // s, W // s, s * s), axis=-1)
    top_gap = np.where(windows[..., -1] > 0, windows[..., -1] - windows[..., -2], np.inf)
    pooled = block_caches[0][2]  # the ReLU input of the block: the pooled feature maps
    return [pooled, top_gap, pre_hidden]


@settings(max_examples=15)
@given(st.sampled_from(["one_layer", "two_layer", "cnn"]), st.integers(0, 2**32 - 1), st.integers(1, 4))
def test_network_gradients_match_finite_differences(name, seed, n):
    network = tiny_networks()[name]
    rng = np.random.default_rng(seed)
    params = network.init_params(rng)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}  # nonzero biases too
    d_in = params["M"].shape[1] if name == "one_layer" else (
        params["M1"].shape[1] if name == "two_layer" else network.channels * network.image_size**2)
    x, labels = rng.standard_normal((n, d_in)), rng.integers(0, 3, n)
    assume(all(np.all(np.abs(a) >= KINK_MARGIN) for a in _kink_distances(network, params, x)))
    names = sorted(params)
    _, grads = network.loss(params, x, labels)

    def loss(*arrays_):
        return network.loss(dict(zip(names, arrays_)), x, labels)[0]

    comparison = assert_gradients(loss, [params[k] for k in names], [grads[k] for k in names])
    note(f"{name}: worst relative error {comparison.max_rel_error:.2e}")


@settings(max_examples=10)
@given(st.integers(0, 2**32 - 1))
def test_cnn_backends_give_the_same_loss_and_gradients(seed):
    rng = np.random.default_rng(seed)
    numba_net = model.three_layer_convnet(image_size=8, filters=3, filter_size=3, hidden=5, backend="numba")
    numpy_net = model.three_layer_convnet(image_size=8, filters=3, filter_size=3, hidden=5, backend="numpy")
    params = numba_net.init_params(rng)
    x, labels = rng.random((4, 64)), rng.integers(0, 10, 4)
    loss_numba, grads_numba = numba_net.loss(params, x, labels)
    loss_numpy, grads_numpy = numpy_net.loss(params, x, labels)
    assert loss_numba == pytest.approx(loss_numpy, rel=1e-12)
    for key in params:
        np.testing.assert_allclose(grads_numba[key], grads_numpy[key], rtol=1e-10, atol=1e-14)


def test_parameter_counts_are_the_slides():
    rng = np.random.default_rng(0)
    assert count_params(model.OneLayerNet().init_params(rng)) == 10 * 784 + 10 == 7850
    assert count_params(model.TwoLayerNet(hidden=100).init_params(rng)) == 784 * 100 + 100 + 100 * 10 + 10
    cnn = model.three_layer_convnet(filters=8, filter_size=5, hidden=100)
    assert count_params(cnn.init_params(rng)) == 8 * 25 + 8 + 8 * 14 * 14 * 100 + 100 + 100 * 10 + 10


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="filter_size must be odd"):
        model.three_layer_convnet(filter_size=4)
    with pytest.raises(ValueError, match="which pool = 2 must divide"):
        model.three_layer_convnet(image_size=27)


def test_the_cnn_is_cores_one_block_convnet():
    network = model.three_layer_convnet(filters=8, filter_size=5, hidden=100)
    assert isinstance(network, ConvNet) and network.blocks == ((8, 5, 2),) and network.features == 8 * 14 * 14


@given(st.integers(0, 2**32 - 1))
def test_directions_are_filter_normalised(seed):
    rng = np.random.default_rng(seed)
    network = model.three_layer_convnet(image_size=4, filters=3, filter_size=3, hidden=5)
    params = network.init_params(rng)
    direction = landscape.filter_normalized_direction(params, rng)
    assert direction.keys() == params.keys()
    for name, weight in params.items():
        d = direction[name]
        assert d.shape == weight.shape
        if weight.ndim == 1:
            assert not d.any()  # biases are not moved
        else:
            for filter_d, filter_w in zip(d, weight):  # each filter (first axis) has the weight's norm
                assert np.linalg.norm(filter_d) == pytest.approx(np.linalg.norm(filter_w), rel=1e-12)


@given(arrays((2, 3)), arrays((2, 3)), arrays((3,), -1, 1))
def test_surface_and_slice_evaluate_the_moved_parameters(weight, direction, alphas):
    def loss(p):
        return float(np.sum(p["w"] ** 2))

    params, d = {"w": weight}, {"w": direction}
    expected = [np.sum((weight + a * direction) ** 2) for a in alphas]
    np.testing.assert_allclose(landscape.loss_slice(loss, params, d, alphas), expected, rtol=1e-12, atol=1e-12)
    surface = landscape.loss_surface(loss, params, d, {"w": -direction}, alphas, alphas[:2])
    assert surface.shape == (2, 3)
    np.testing.assert_allclose(surface[0], [np.sum((weight + (a - alphas[0]) * direction) ** 2) for a in alphas],
                               rtol=1e-12, atol=1e-12)
