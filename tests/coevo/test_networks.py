"""The cell's networks: gradients of G and D under every loss against central differences (float64)."""

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from refimpl.coevo.losses import GENERATOR_LOSSES, draw_loss, generator_loss
from refimpl.coevo.networks import (check_network, discriminator_gradients, discriminator_sizes, generate,
                                    generator_gradients, generator_sizes, init_network, sizes_of)
from refimpl.core.gradcheck import assert_gradients
from tests.coevo.cases import as_dict, gan_cases, preactivations
from tests.helpers import off_kinks


def _off_kinks(generator, discriminator, z, real):
    fake = generate(generator, z)
    return off_kinks(*preactivations(generator, z, "tanh"), *preactivations(discriminator, fake, "logit"),
                     *preactivations(discriminator, real, "logit"))


@settings(max_examples=15)
@given(gan_cases(), st.sampled_from(GENERATOR_LOSSES))
def test_generator_gradient_matches_finite_differences(case, loss_name):
    generator, discriminator, z, real = case
    assume(_off_kinks(generator, discriminator, z, real))
    keys = sorted(generator)

    def loss(*arrays):
        return generator_gradients(as_dict(keys, arrays), discriminator, z, lambda s: generator_loss(loss_name, s))[0]

    _, grads = generator_gradients(generator, discriminator, z, lambda s: generator_loss(loss_name, s))
    comparison = assert_gradients(loss, [generator[k] for k in keys], [grads[k] for k in keys])
    note(f"worst relative error {comparison.max_rel_error:.2e}")


@settings(max_examples=15)
@given(gan_cases())
def test_discriminator_gradient_matches_finite_differences(case):
    generator, discriminator, z, real = case
    assume(_off_kinks(generator, discriminator, z, real))
    fake = generate(generator, z)
    keys = sorted(discriminator)
    _, grads = discriminator_gradients(discriminator, real, fake)
    comparison = assert_gradients(lambda *arrays: discriminator_gradients(as_dict(keys, arrays), real, fake)[0],
                                  [discriminator[k] for k in keys], [grads[k] for k in keys])
    note(f"worst relative error {comparison.max_rel_error:.2e}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_networks_keep_their_dtype_and_shapes(dtype, rng):
    generator = init_network(rng, generator_sizes(3, 5, 7), dtype)
    discriminator = init_network(rng, discriminator_sizes(7, 5), dtype)
    z = rng.standard_normal((4, 3)).astype(dtype)
    _, g_grads = generator_gradients(generator, discriminator, z, lambda s: generator_loss("bce", s))
    _, d_grads = discriminator_gradients(discriminator, generate(generator, z), generate(generator, z))
    for params, grads in ((generator, g_grads), (discriminator, d_grads)):
        assert {k: (v.shape, v.dtype) for k, v in grads.items()} == {k: (v.shape, v.dtype) for k, v in params.items()}
    assert sizes_of(generator) == (3, 5, 5, 7) and sizes_of(discriminator) == (7, 5, 5, 1)


def test_initialisation_is_pytorch_default_uniform(rng):
    params = init_network(rng, (400, 30, 1), "float64")
    assert np.abs(params["w1"]).max() <= 1 / np.sqrt(400) and np.abs(params["w2"]).max() <= 1 / np.sqrt(30)
    assert np.abs(params["w1"]).max() > 0.95 / np.sqrt(400)  # fills its interval


def test_losses_have_the_public_codes_scales():
    logits = np.array([-1.0, 0.5, 2.0])
    p = 1 / (1 + np.exp(-logits))
    assert generator_loss("bce", logits)[0] == pytest.approx(-np.mean(np.log(p)))
    assert generator_loss("heuristic", logits)[0] == pytest.approx(-0.5 * np.mean(np.log(p)))
    assert generator_loss("mse", logits)[0] == pytest.approx(np.mean((p - 1) ** 2))
    assert generator_loss("minimax", logits)[0] == pytest.approx(np.mean(np.log(1 - p)))


def test_mustangs_draws_each_of_three_losses_uniformly():
    rng = np.random.default_rng(0)
    draws = [draw_loss("mustangs", rng) for _ in range(3000)]
    counts = {name: draws.count(name) / len(draws) for name in ("bce", "mse", "heuristic")}
    assert set(draws) == {"bce", "mse", "heuristic"}
    assert all(abs(c - 1 / 3) < 0.03 for c in counts.values()), counts
    assert draw_loss("mse", rng) == "mse"


def test_bad_input_names_the_parameter(rng):
    with pytest.raises(ValueError, match="loss must be one of"):
        generator_loss("wasserstein", np.zeros(3))
    with pytest.raises(ValueError, match=r"generator\['w2'\] must have shape"):
        check_network("generator", init_network(rng, (3, 4, 5, 6)), (3, 4, 4, 6))
    with pytest.raises(ValueError, match="dtype must be one of"):
        init_network(rng, (3, 4), "float16")
