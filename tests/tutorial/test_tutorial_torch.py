"""The tutorial's hand-derived gradients against torch float64 autograd: the linear loss, convolution,
max-pooling and the three networks (skipped when torch is not installed)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.core import losses
from refimpl.tutorial import kernels, model
from tests.helpers import arrays
from tests.tutorial.test_kernels import conv_inputs, pool_inputs

torch = pytest.importorskip("torch", exc_type=ImportError)
from tests.torch_helpers import assert_close, torch_gradients  # noqa: E402  (needs torch)

pytestmark = pytest.mark.torch


@given(st.integers(2, 30).flatmap(lambda n: st.tuples(arrays((n,), -10, 10), arrays((n,), -60, 60))),
       arrays((2,), -10, 10))
def test_linear_loss_matches_torch(data, theta):
    x, y = data
    value, (grad,) = torch_gradients(lambda t: 0.5 * torch.mean((t[0] * torch.tensor(x) + t[1] - torch.tensor(y)) ** 2),
                                     theta)
    loss, ours = model.linear_loss(theta, x, y)
    assert_close([np.array(loss), ours], [value, grad])


@settings(max_examples=20)
@given(conv_inputs(), st.sampled_from(["numpy", "numba"]))
def test_conv2d_matches_torch(inputs, backend):
    x, K, b, pad, dout = inputs
    out, cache = kernels.conv2d_forward(x, K, b, pad, backend=backend)
    value, grads = torch_gradients(lambda x, K, b: torch.nn.functional.conv2d(x, K, b, padding=pad), x, K, b,
                                   dout=dout)
    assert_close([out, *kernels.conv2d_backward(dout, cache)], [value, *grads])


@settings(max_examples=20)
@given(pool_inputs(), st.sampled_from(["numpy", "numba"]))
def test_max_pool_matches_torch_including_ties(inputs, backend):
    x, size, dout = inputs
    out, cache = kernels.max_pool_forward(x, size, backend=backend)
    value, grads = torch_gradients(lambda x: torch.nn.functional.max_pool2d(x, size), x, dout=dout)
    assert_close([out, kernels.max_pool_backward(dout, cache)], [value, *grads])


def torch_logits(name, network, params, x):
    F = torch.nn.functional
    if name == "one_layer":
        return x @ params["M"].T + params["c"]
    if name == "two_layer":
        return torch.relu(x @ params["M1"].T + params["c1"]) @ params["M2"].T + params["c2"]
    images = x.reshape(len(x), network.channels, network.image_size, network.image_size)
    pooled = F.max_pool2d(torch.relu(F.conv2d(images, params["K"], params["b"], padding=network.pad)), network.pool)
    hidden = torch.relu(pooled.reshape(len(x), -1) @ params["M1"].T + params["c1"])
    return hidden @ params["M2"].T + params["c2"]


@settings(max_examples=15)
@given(st.sampled_from(["one_layer", "two_layer", "cnn"]), st.sampled_from(["numpy", "numba"]),
       st.integers(0, 2**32 - 1))
def test_networks_match_torch(name, backend, seed):
    network = {"one_layer": model.OneLayerNet(d_in=12, d_out=4),
               "two_layer": model.TwoLayerNet(d_in=12, hidden=6, d_out=4),
               "cnn": model.ThreeLayerConvNet(image_size=6, channels=1, filters=3, filter_size=3, hidden=5, d_out=4,
                                              backend=backend)}[name]
    rng = np.random.default_rng(seed)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in network.init_params(rng).items()}
    d_in = 36 if name == "cnn" else 12
    x, labels = rng.standard_normal((5, d_in)), rng.integers(0, 4, 5)
    names = sorted(params)

    def loss(*tensors):
        logits = torch_logits(name, network, dict(zip(names, tensors)), torch.tensor(x))
        return torch.nn.functional.cross_entropy(logits, torch.tensor(labels))

    value, grads = torch_gradients(loss, *[params[k] for k in names])
    ours, our_grads = network.loss(params, x, labels)
    assert_close([np.array(ours), *[our_grads[k] for k in names]], [value, *grads])
    assert losses.softmax_cross_entropy(network.forward(params, x)[0], labels)[0] == pytest.approx(float(value))
