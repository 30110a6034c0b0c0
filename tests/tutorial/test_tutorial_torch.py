"""The tutorial's hand-derived gradients against torch float64 autograd: the linear loss and the three
networks (skipped when torch is not installed; the layers: tests/core/test_conv_torch.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.core import losses
from refimpl.tutorial import model
from tests.helpers import arrays

torch = pytest.importorskip("torch", exc_type=ImportError)
from refimpl.crosscheck import torch_reference  # noqa: E402  (needs torch)
from tests.torch_helpers import assert_close, torch_gradients  # noqa: E402

pytestmark = pytest.mark.torch


@given(st.integers(2, 30).flatmap(lambda n: st.tuples(arrays((n,), -10, 10), arrays((n,), -60, 60))),
       arrays((2,), -10, 10))
def test_linear_loss_matches_torch(data, theta):
    x, y = data
    value, (grad,) = torch_gradients(lambda t: 0.5 * torch.mean((t[0] * torch.tensor(x) + t[1] - torch.tensor(y)) ** 2),
                                     theta)
    loss, ours = model.linear_loss(theta, x, y)
    assert_close([np.array(loss), ours], [value, grad])


def torch_logits(name, network, params, x):
    if name == "one_layer":
        return x @ params["M"].T + params["c"]
    if name == "two_layer":
        return torch.relu(x @ params["M1"].T + params["c1"]) @ params["M2"].T + params["c2"]
    images = x.reshape(len(x), network.channels, network.image_size, network.image_size)
    return torch_reference.conv_net_logits(network, params, images)


@settings(max_examples=15)
@given(st.sampled_from(["one_layer", "two_layer", "cnn"]), st.sampled_from(["numpy", "numba"]),
       st.integers(0, 2**32 - 1))
def test_networks_match_torch(name, backend, seed):
    network = {"one_layer": model.OneLayerNet(d_in=12, d_out=4),
               "two_layer": model.TwoLayerNet(d_in=12, hidden=6, d_out=4),
               "cnn": model.three_layer_convnet(image_size=6, channels=1, filters=3, filter_size=3, hidden=5, d_out=4,
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
