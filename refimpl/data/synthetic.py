"""Synthetic data sets, each drawn from a caller's ``numpy.random.Generator``.

- :func:`noisy_line`: the tutorial's linear data, y ≈ 5x + 2 on x ∈ [−10, 10] (seed 001);
- :func:`two_moons`, :func:`spirals`: 2-D binary classification for decision-boundary plots (seed 004);
- :func:`gaussian_ring`: the mixture of Gaussians on a circle used to test GANs for mode collapse;
- :func:`bump_images`: smooth side × side images, sums of Gaussian bumps (seed 000's synthetic d_in = 784 set).
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


def bump_images(rng, n, *, bumps=3, width=2.5, side=28):
    r"""Smooth synthetic images: each a sum of ``bumps`` Gaussian bumps at uniformly random places.

    Image p, pixel (i, j), with centres :math:`c_{pb} \sim U[0, \text{side} - 1]^2`:

    .. math:: x_p(i, j) = \sum_{b=1}^{\text{bumps}}
              \exp\Big(-\frac{(i - c_{pb,1})^2 + (j - c_{pb,2})^2}{2\,\text{width}^2}\Big)

    Each bump is separable (an outer product of two 1-D Gaussians), so every image has rank at most
    ``bumps``. Seed 000 uses them (``side = 28``) as d_in = 784 inputs whose filters read as images.

    Parameters
    ----------
    rng : numpy.random.Generator or int seed
    n : int ≥ 1, number of images
    bumps : int ≥ 1, bumps per image
    width : float > 0, standard deviation of a bump in pixels
    side : int ≥ 1, images are side × side

    Returns
    -------
    images : (n, side²) float64, row p the image p flattened row by row, entries in (0, bumps]
    """
    rng = check_rng("rng", rng)
    n, bumps = check_int("n", n, minimum=1), check_int("bumps", bumps, minimum=1)
    side, width = check_int("side", side, minimum=1), check_positive("width", width)
    grid = np.arange(side)
    centres = rng.uniform(0, side - 1, size=(n, bumps, 2))
    rows = np.exp(-((grid[None, None, :] - centres[..., :1]) ** 2) / (2 * width**2))  # (n, bumps, side)
    columns = np.exp(-((grid[None, None, :] - centres[..., 1:]) ** 2) / (2 * width**2))
    return np.einsum("nbi,nbj->nij", rows, columns).reshape(n, side * side)
