"""Tiny grids for the coevo tests: small networks, few batches, a cheap feature map for the mixture score."""

import dataclasses

import numpy as np
import pytest

from refimpl.coevo.algorithm import CellSettings
from refimpl.coevo.checkpoint import flatten
from refimpl.coevo.scores import FeatureScore, LinearFeatures

TINY = CellSettings(grid_side=2, latent_dim=4, hidden=8, image_dim=16, batch_size=10, n_batches=4,
                    fitness_samples=20, score_samples=20, egan_fitness_samples=10)


@pytest.fixture
def tiny():
    return TINY


@pytest.fixture
def images():
    return np.random.default_rng(7).uniform(-1, 1, (100, TINY.image_dim)).astype(TINY.dtype)


@pytest.fixture
def scorer(images):
    return FeatureScore(LinearFeatures(np.random.default_rng(8).standard_normal((TINY.image_dim, 3))), images)


def replace(settings, **changes):
    return dataclasses.replace(settings, **changes)


def assert_same_state(a, b):
    """Two (lists of) cell states hold the same keys and bit-identical arrays and numbers."""
    a, b = (flatten({str(i): s for i, s in enumerate(x)} if isinstance(x, list) else x) for x in (a, b))
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
