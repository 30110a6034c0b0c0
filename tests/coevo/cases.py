"""Hypothesis strategies shared by the coevo gradient tests: a small generator/discriminator pair and inputs."""

import numpy as np
from hypothesis import strategies as st

from refimpl.coevo.networks import discriminator_sizes, forward, generator_sizes
from tests.helpers import arrays


def _network(draw, sizes):
    params = {}
    for layer, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"w{layer}"] = draw(arrays((d_out, d_in), -1.0, 1.0))
        params[f"b{layer}"] = draw(arrays((d_out,), -0.5, 0.5))
    return params


@st.composite
def gan_cases(draw):
    """(generator, discriminator, z, real) with widths 1–4, batches of 1–4, float64."""
    latent, hidden, image = (draw(st.integers(1, 4)) for _ in range(3))
    n = draw(st.integers(1, 4))
    generator = _network(draw, generator_sizes(latent, hidden, image))
    discriminator = _network(draw, discriminator_sizes(image, hidden))
    return generator, discriminator, draw(arrays((n, latent), -2.0, 2.0)), draw(arrays((n, image), -1.0, 1.0))


def preactivations(params, x, output):
    """The hidden pre-activations of ``forward(params, x, output)`` (inputs of the leaky ReLUs)."""
    _, caches = forward(params, x, output)
    return [activation_cache[0] for _, activation_cache in caches[:-1]]


def as_dict(keys, arrays_):
    return dict(zip(keys, arrays_))


def stack(*arrays_):
    return np.concatenate([a.ravel() for a in arrays_])
