"""Synthetic sets: shapes, seeded determinism, the slides' line, input checks."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.data import bump_images, gaussian_ring, noisy_line, spirals, two_moons


def test_noiseless_line_is_the_slides_table():
    x, y = noisy_line(np.random.default_rng(0), noise=0.0)
    np.testing.assert_allclose(x, np.arange(-10, 11))
    assert (y[0], y[1], y[-1]) == (-48.0, -43.0, 52.0)


@given(st.sampled_from([two_moons, spirals]), st.integers(2, 50), st.integers(0, 2**32 - 1))
def test_classification_sets_are_seeded_and_balanced(make, n, seed):
    points, labels = make(np.random.default_rng(seed), n)
    again, _ = make(np.random.default_rng(seed), n)
    np.testing.assert_array_equal(points, again)
    assert points.shape == (n, 2) and labels.shape == (n,)
    assert abs(np.sum(labels == 0) - np.sum(labels == 1)) <= 1


@given(st.integers(1, 8), st.floats(0.5, 5.0))
def test_gaussian_ring_without_noise_lies_on_the_circle(modes, radius):
    points, components = gaussian_ring(np.random.default_rng(1), 64, modes=modes, radius=radius, std=0.0)
    np.testing.assert_allclose(np.hypot(points[:, 0], points[:, 1]), radius)
    assert components.max() < modes


def test_bad_arguments_are_named():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n must be >= 2; got 1"):
        two_moons(rng, 1)
    with pytest.raises(ValueError, match="noise must be >= 0; got -0.1"):
        noisy_line(rng, noise=-0.1)
    with pytest.raises(TypeError, match="modes must be an integer"):
        gaussian_ring(rng, modes=2.5)


@given(st.integers(1, 4), st.floats(0.8, 4.0), st.integers(0, 2**32 - 1))
def test_bump_images_are_seeded_sums_of_separable_bumps(bumps, width, seed):
    """Each image is a sum of ``bumps`` separable Gaussians: positive, at most ``bumps``, rank ≤ ``bumps``,
    and its largest pixel is within half a pixel (per axis) of a bump's centre, so ≥ exp(−1/(4 width²))."""
    images = bump_images(np.random.default_rng(seed), 5, bumps=bumps, width=width, side=12)
    np.testing.assert_array_equal(images, bump_images(np.random.default_rng(seed), 5, bumps=bumps, width=width,
                                                      side=12))
    assert images.shape == (5, 144) and np.all(images > 0) and np.all(images <= bumps + 1e-12)
    assert np.all(images.max(axis=1) >= np.exp(-1.0 / (4 * width**2)) - 1e-12)
    for image in images:
        assert np.linalg.matrix_rank(image.reshape(12, 12), tol=1e-9 * image.max()) <= bumps


def test_bump_images_refuse_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="width must be > 0; got 0.0"):
        bump_images(rng, 3, width=0.0)
    with pytest.raises(ValueError, match="bumps must be >= 1; got 0"):
        bump_images(rng, 3, bumps=0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator or an int seed; got str"):
        bump_images("seed", 3)
    np.testing.assert_array_equal(bump_images(7, 3), bump_images(np.random.default_rng(7), 3))  # an int seeds
