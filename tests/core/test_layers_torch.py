"""Every core layer and loss against torch float64 autograd (skipped when torch is not installed)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.core import layers, losses
from tests.helpers import arrays, off_kink_arrays

torch = pytest.importorskip("torch", exc_type=ImportError)
from tests.torch_helpers import assert_close, torch_gradients  # noqa: E402  (needs torch)

pytestmark = pytest.mark.torch


shapes = st.tuples(st.integers(1, 6), st.integers(1, 6))


@given(shapes.flatmap(lambda s: st.tuples(arrays(s), arrays((3, s[1])), arrays((3,)), arrays((s[0], 3)))))
def test_affine_matches_torch(inputs):
    x, w, b, dout = inputs
    out, cache = layers.affine_forward(x, w, b)
    value, grads = torch_gradients(lambda x, w, b: x @ w.T + b, x, w, b, dout=dout)
    assert_close([out, *layers.affine_backward(dout, cache)], [value, *grads])


ELEMENTWISE = {
    "relu": (layers.relu_forward, layers.relu_backward, torch.relu),
    "leaky_relu": (lambda x: layers.leaky_relu_forward(x, 0.2), layers.leaky_relu_backward,
                   lambda t: torch.nn.functional.leaky_relu(t, 0.2)),
    "tanh": (layers.tanh_forward, layers.tanh_backward, torch.tanh),
    "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward, torch.sigmoid),
    "softmax": (layers.softmax_forward, layers.softmax_backward, lambda t: torch.softmax(t, dim=-1)),
}


@given(st.sampled_from(sorted(ELEMENTWISE)), shapes.flatmap(lambda s: st.tuples(off_kink_arrays(s), arrays(s))))
def test_elementwise_layers_match_torch(name, inputs):
    x, dout = inputs
    forward, backward, reference = ELEMENTWISE[name]
    out, cache = forward(x)
    value, grads = torch_gradients(reference, x, dout=dout)
    assert_close([out, backward(dout, cache)], [value, *grads])


@given(shapes.flatmap(lambda s: st.tuples(arrays(s), arrays(s))))
def test_squared_error_matches_torch(inputs):
    pred, target = inputs
    loss, dpred = losses.squared_error(pred, target)
    value, grads = torch_gradients(lambda p, t: 0.5 * ((p - t) ** 2).sum(), pred, target)
    assert_close([loss, dpred], [value, grads[0]])


@given(shapes.flatmap(lambda s: st.tuples(arrays(s), st.lists(st.integers(0, s[1] - 1), min_size=s[0],
                                                               max_size=s[0]))))
def test_softmax_cross_entropy_matches_torch(inputs):
    logits, labels = inputs
    labels = np.array(labels)
    loss, dlogits = losses.softmax_cross_entropy(logits, labels)
    value, grads = torch_gradients(
        lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(labels)), logits)
    assert_close([loss, dlogits], [value, grads[0]])


def _bce(z, t):
    return torch.nn.functional.binary_cross_entropy_with_logits(z, t)


TORCH_GAN = {
    "least_squares": (losses.least_squares_discriminator_loss, losses.least_squares_generator_loss,
                      lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean(),
                      lambda f: 0.5 * ((f - 1) ** 2).mean()),
    "non_saturating": (losses.gan_discriminator_loss, losses.non_saturating_generator_loss,
                       lambda r, f: _bce(r, torch.ones_like(r)) + _bce(f, torch.zeros_like(f)),
                       lambda f: _bce(f, torch.ones_like(f))),
    "minimax": (losses.gan_discriminator_loss, losses.minimax_generator_loss,
                lambda r, f: _bce(r, torch.ones_like(r)) + _bce(f, torch.zeros_like(f)),
                lambda f: torch.log1p(-torch.sigmoid(f)).mean()),
    "wasserstein": (losses.wasserstein_critic_loss, losses.wasserstein_generator_loss,
                    lambda r, f: f.mean() - r.mean(), lambda f: -f.mean()),
}


@given(st.sampled_from(sorted(TORCH_GAN)), st.integers(1, 8).flatmap(lambda n: st.tuples(arrays((n,)), arrays((n,)))))
def test_gan_losses_match_torch(name, scores):
    real, fake = scores
    critic, generator, torch_critic, torch_generator = TORCH_GAN[name]
    loss, d_real, d_fake = critic(real, fake)
    value, grads = torch_gradients(torch_critic, real, fake)
    assert_close([loss, d_real, d_fake], [value, *grads])
    loss, d_fake = generator(fake)
    value, grads = torch_gradients(torch_generator, fake)
    assert_close([loss, d_fake], [value, grads[0]])


@given(shapes.flatmap(lambda s: st.tuples(arrays(s), arrays(s, low=0.0, high=1.0))))
def test_binary_cross_entropy_matches_torch(inputs):
    logits, targets = inputs
    loss, dlogits = losses.binary_cross_entropy_with_logits(logits, targets)
    value, grads = torch_gradients(lambda z: _bce(z, torch.tensor(targets)), logits)
    assert_close([loss, dlogits], [value, grads[0]])


@given(st.tuples(*(st.integers(1, 5) for _ in range(4))).flatmap(
    lambda s: st.tuples(arrays((s[0], s[1])), arrays((s[0], s[3])), off_kink_arrays((s[2], s[1])),
                        arrays((s[3], s[2])))))
def test_two_layer_kernel_matches_torch(problem):
    from refimpl.core.kernels import two_layer_squared_error_gradient

    X, Y, U, V = problem
    loss, dU, dV = two_layer_squared_error_gradient(X, Y, U, V, 0.3, backend="numba")
    value, grads = torch_gradients(
        lambda U, V: 0.5 * ((0.3 * torch.relu(torch.tensor(X) @ U.T) @ V.T - torch.tensor(Y)) ** 2).sum(), U, V)
    assert_close([loss, dU, dV], [value, *grads])
