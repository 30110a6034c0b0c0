"""Synthetic data sets, each drawn from a caller's ``numpy.random.Generator``.

- :func:`noisy_line`: the tutorial's linear data, y ≈ 5x + 2 on x ∈ [−10, 10] (seed 001);
- :func:`two_moons`, :func:`spirals`: 2-D binary classification for decision-boundary plots (seed 004);
- :func:`gaussian_ring`: the mixture of Gaussians on a circle used to test GANs for mode collapse.
"""

import numpy as np

from refimpl.core.validate import check_int, check_positive, check_rng


def noisy_line(rng, n=21, *, slope=5.0, intercept=2.0, noise=1.0, low=-10.0, high=10.0):
    """Points ``x`` evenly spaced on [low, high] and ``y = slope·x + intercept + noise·N(0, 1)``.

    With the defaults these are the slides' pairs (−10, −48), (−9, −43), …, (10, 52), plus noise.

    Returns
    -------
    x, y : (n,) float64
    """
    rng = check_rng("rng", rng)
    n = check_int("n", n, minimum=2)
    check_positive("noise", noise, allow_zero=True)
    x = np.linspace(low, high, n)
    return x, slope * x + intercept + noise * rng.standard_normal(n)


def two_moons(rng, n=200, *, noise=0.1):
    """Two interleaving half circles: ``n // 2`` points of class 0 and ``n - n // 2`` of class 1.

    Returns
    -------
    points : (n, 2) float64
    labels : (n,) int64
    """
    rng = check_rng("rng", rng)
    n = check_int("n", n, minimum=2)
    check_positive("noise", noise, allow_zero=True)
    n_upper = n // 2
    angles = np.pi * rng.random(n)
    upper = np.column_stack([np.cos(angles[:n_upper]), np.sin(angles[:n_upper])])
    lower = np.column_stack([1.0 - np.cos(angles[n_upper:]), 0.5 - np.sin(angles[n_upper:])])
    points = np.vstack([upper, lower]) + noise * rng.standard_normal((n, 2))
    labels = np.repeat([0, 1], [n_upper, n - n_upper])
    return points, labels


def spirals(rng, n=200, *, turns=1.5, noise=0.05):
    """Two interleaved Archimedean spirals of ``turns`` turns, radius up to 1, classes 0 and 1.

    Returns
    -------
    points : (n, 2) float64
    labels : (n,) int64
    """
    rng = check_rng("rng", rng)
    n = check_int("n", n, minimum=2)
    check_positive("turns", turns)
    check_positive("noise", noise, allow_zero=True)
    labels = np.repeat([0, 1], [n // 2, n - n // 2])
    radius = np.sqrt(rng.random(n))  # uniform density along the arm
    angle = 2.0 * np.pi * turns * radius + np.pi * labels
    points = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return points + noise * rng.standard_normal((n, 2)), labels


def gaussian_ring(rng, n=512, *, modes=8, radius=2.0, std=0.02):
    """Samples of an equal-weight mixture of ``modes`` isotropic Gaussians centred on a circle.

    Returns
    -------
    points : (n, 2) float64
    components : (n,) int64, the mode each sample was drawn from
    """
    rng = check_rng("rng", rng)
    n = check_int("n", n, minimum=1)
    modes = check_int("modes", modes, minimum=1)
    check_positive("radius", radius)
    check_positive("std", std, allow_zero=True)
    components = rng.integers(modes, size=n)
    angle = 2.0 * np.pi * components / modes
    centres = radius * np.column_stack([np.cos(angle), np.sin(angle)])
    return centres + std * rng.standard_normal((n, 2)), components
