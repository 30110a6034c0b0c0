"""The cell's G and D gradients under every loss against torch float64 autograd (rel ≤ 1e-10)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.coevo.losses import GENERATOR_LOSSES, generator_loss
from refimpl.coevo.networks import SLOPE, discriminator_gradients, generate, generator_gradients
from tests.coevo.cases import gan_cases

torch = pytest.importorskip("torch", exc_type=ImportError)
from tests.torch_helpers import assert_close, torch_gradients  # noqa: E402  (needs torch)

pytestmark = pytest.mark.torch
F = torch.nn.functional


def torch_mlp(x, weights, output):
    *hidden, last = weights
    for w, b in hidden:
        x = F.leaky_relu(F.linear(x, w, b), SLOPE)
    x = F.linear(x, *last)
    return torch.tanh(x) if output == "tanh" else x[:, 0]


TORCH_GENERATOR_LOSSES = {
    "bce": lambda s: F.softplus(-s).mean(),
    "mse": lambda s: ((torch.sigmoid(s) - 1) ** 2).mean(),
    "heuristic": lambda s: 0.5 * F.softplus(-s).mean(),
    "minimax": lambda s: torch.log1p(-torch.sigmoid(s)).mean(),
}


def _pairs(params, tensors):
    keys = sorted(params, key=lambda k: (int(k[1:]), k[0] != "w"))
    named = dict(zip(keys, tensors))
    return keys, [(named[f"w{i}"], named[f"b{i}"]) for i in range(1, len(keys) // 2 + 1)]


@settings(max_examples=10)
@given(gan_cases(), st.sampled_from(GENERATOR_LOSSES))
def test_generator_gradient_matches_torch(case, loss_name):
    generator, discriminator, z, _ = case
    keys, _ = _pairs(generator, [None] * len(generator))
    d_keys, _ = _pairs(discriminator, [None] * len(discriminator))
    d_weights = _pairs(discriminator, [torch.tensor(discriminator[k]) for k in d_keys])[1]

    def loss(*tensors):
        fake = torch_mlp(torch.tensor(z), _pairs(generator, tensors)[1], "tanh")
        return TORCH_GENERATOR_LOSSES[loss_name](torch_mlp(fake, d_weights, "logit"))

    value, theirs = torch_gradients(loss, *[generator[k] for k in keys])
    ours_loss, ours = generator_gradients(generator, discriminator, z, lambda s: generator_loss(loss_name, s))
    assert_close([ours_loss], [value])
    assert_close([ours[k] for k in keys], theirs)


@settings(max_examples=10)
@given(gan_cases())
def test_discriminator_gradient_matches_torch(case):
    generator, discriminator, z, real = case
    fake = generate(generator, z)
    keys, _ = _pairs(discriminator, [None] * len(discriminator))

    def loss(*tensors):
        weights = _pairs(discriminator, tensors)[1]
        return (F.softplus(-torch_mlp(torch.tensor(real), weights, "logit")).mean()
                + F.softplus(torch_mlp(torch.tensor(fake), weights, "logit")).mean())

    value, theirs = torch_gradients(loss, *[discriminator[k] for k in keys])
    ours_loss, ours = discriminator_gradients(discriminator, real, fake)
    assert_close([ours_loss], [value])
    assert_close([ours[k] for k in keys], theirs)
