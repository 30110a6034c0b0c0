r"""Scores of generated digits: Fréchet distance of classifier features (FID), and class coverage (TVD).

As in the public code (``training/mixture/fid_mnist.py``), the features are the 10 logits of a small MNIST
classifier, not Inception's; any ``features(images (n, 784)) -> (n, k)`` callable can be passed. For two
Gaussians fitted to the real and generated features (Heusel et al. 2017, eq. 6),

.. math:: \mathrm{FID} = \|\mu_r - \mu_g\|_2^2 + \mathrm{Tr}\big(\Sigma_r + \Sigma_g - 2(\Sigma_r\Sigma_g)^{1/2}\big),

with the matrix square root of ``scipy.linalg.sqrtm``. Class coverage compares the frequencies of the
predicted classes (argmax of the logits) with those of the real images,

.. math:: \mathrm{TVD} = \tfrac12 \textstyle\sum_c |f_r(c) - f_g(c)| \in [0, 1].

FIDs from different classifiers are on different scales and cannot be compared with one another.
"""

import warnings

import numpy as np
import scipy.linalg

from refimpl.core.validate import as_float_array, check_int, check_shape

__all__ = ["gaussian_statistics", "frechet_distance", "fid", "class_frequencies", "total_variation", "FeatureScore",
           "LinearFeatures"]


def gaussian_statistics(features):
    """Mean (k,) and covariance (k, k) (unbiased, rows are samples) of ``features`` (n, k), n ≥ 2."""
    features = as_float_array("features", features, ndim=2)
    if len(features) < 2:
        raise ValueError(f"features must hold at least 2 samples to estimate a covariance; got shape {features.shape}")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    r"""Fréchet (2-Wasserstein) distance² between :math:`\mathcal N(\mu_a, \Sigma_a)` and :math:`\mathcal N(\mu_b, \Sigma_b)`.

    Parameters
    ----------
    mean_a, mean_b : (k,)
    cov_a, cov_b : (k, k), symmetric positive semi-definite

    Returns
    -------
    float ≥ 0 (up to round-off)

    A singular product gets ε·I added to both covariances (ε = 1e-6, as pytorch-fid does); the tiny imaginary
    part that ``sqrtm`` can return is dropped.
    """
    mean_a = as_float_array("mean_a", mean_a, ndim=1)
    k = len(mean_a)
    if k == 0:
        raise ValueError(f"mean_a must hold at least one feature; got shape {mean_a.shape}")
    mean_b = check_shape("mean_b", as_float_array("mean_b", mean_b, ndim=1), (k,), described="(k,)")
    cov_a = check_shape("cov_a", as_float_array("cov_a", cov_a, ndim=2), (k, k), described="(k, k)")
    cov_b = check_shape("cov_b", as_float_array("cov_b", cov_b, ndim=2), (k, k), described="(k, k)")
    root = _square_root(cov_a @ cov_b)
    if root is None:
        offset = 1e-6 * np.eye(k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            root = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    difference = mean_a - mean_b
    return float(difference @ difference + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(root.real))


def _square_root(matrix):
    """``sqrtm(matrix)``, or None where scipy finds it singular or ill-conditioned or the result is not finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            root = scipy.linalg.sqrtm(matrix)
        except scipy.linalg.LinAlgWarning:
            return None
    return root if np.all(np.isfinite(root)) else None


def fid(real_features, generated_features):
    """FID between two sets of features (n, k) and (m, k), n, m ≥ 2."""
    real = _statistics("real_features", real_features)
    k = len(real[0])
    generated = _statistics("generated_features", generated_features, k)
    return frechet_distance(*real, *generated)


def _statistics(name, features, k=None):
    """:func:`gaussian_statistics` of ``features`` (n, k), with the errors naming ``name``."""
    features = check_shape(name, as_float_array(name, features, ndim=2), (None, k), described="(n, k)",
                           context="" if k is None else f"to match real_features with k = {k}")
    if len(features) < 2 or features.shape[1] == 0:
        raise ValueError(f"{name} must hold at least 2 samples of at least one feature; got shape {features.shape}")
    return gaussian_statistics(features)


def class_frequencies(logits, n_classes=10):
    """Fraction of samples predicted as each class (argmax of ``logits`` (n, n_classes)); shape (n_classes,)."""
    n_classes = check_int("n_classes", n_classes, minimum=1)
    logits = check_shape("logits", as_float_array("logits", logits, ndim=2), (None, n_classes),
                         described="(n, n_classes)")
    if len(logits) == 0:
        raise ValueError(f"logits must hold at least one sample; got shape {logits.shape}")
    counts = np.bincount(np.argmax(logits, axis=1), minlength=n_classes)
    return counts / len(logits)


def total_variation(p, q):
    r"""Total variation distance :math:`\tfrac12\sum_c |p_c - q_c|` of two frequency vectors of one length."""
    p = as_float_array("p", p, ndim=1)
    if p.size == 0:
        raise ValueError(f"p must hold at least one frequency; got shape {p.shape}")
    q = check_shape("q", as_float_array("q", q, ndim=1), p.shape, described="(n_classes,)", context="to match p")
    return 0.5 * float(np.abs(p - q).sum())


class FeatureScore:
    """Scores generated images against real ones with a feature map; the real statistics are computed once.

    Picklable when ``features`` is (Dask sends it to the workers once).

    Parameters
    ----------
    features : callable ``images (n, d) -> (n, k)``
    real_images : (n, d)
    """

    def __init__(self, features, real_images):
        if not callable(features):
            raise TypeError(f"features must be a callable images (n, d) -> (n, k); got {type(features).__name__}")
        self.features = features
        real_images = _images("real_images", real_images)
        self.image_dim = real_images.shape[1]
        real_features = _statistics_input(self.features(real_images))
        self.real_mean, self.real_cov = gaussian_statistics(real_features)
        self.real_frequencies = class_frequencies(real_features, real_features.shape[1])

    def _features(self, images):
        images = check_shape("images", _images("images", images), (None, self.image_dim), described="(n, d)",
                             context=f"to match the real images with d = {self.image_dim}")
        return check_shape("features(images)", _statistics_input(self.features(images)),
                           (None, len(self.real_mean)), described="(n, k)", context="to match the real features")

    def fid(self, images):
        """FID of ``images`` (n, d), n ≥ 2, against the cached real statistics."""
        return frechet_distance(self.real_mean, self.real_cov, *gaussian_statistics(self._features(images)))

    def tvd(self, images):
        """TVD of the predicted classes of ``images`` (n, d) against those of the real images."""
        features = self._features(images)
        return total_variation(self.real_frequencies, class_frequencies(features, features.shape[1]))

    __call__ = fid


class LinearFeatures:
    """A fixed linear map ``images @ matrix``, (n, d) → (n, k): a cheap feature map for tests and smoke runs."""

    def __init__(self, matrix):
        self.matrix = as_float_array("matrix", matrix, ndim=2)
        if 0 in self.matrix.shape:
            raise ValueError(f"matrix must map d >= 1 inputs to k >= 1 features; got shape {self.matrix.shape}")

    def __call__(self, images):
        """Features ``images @ matrix`` (n, k) of ``images`` (n, d)."""
        images = check_shape("images", _images("images", images), (None, len(self.matrix)), described="(n, d)",
                             context=f"to match matrix of shape {self.matrix.shape}")
        return images @ self.matrix


def _images(name, images):
    """A non-empty (n, d) finite float64 array of images, or raise naming ``name``."""
    images = as_float_array(name, images, ndim=2)
    if images.size == 0:
        raise ValueError(f"{name} must hold at least one image of at least one pixel; got shape {images.shape}")
    return images


def _statistics_input(features):
    """What a feature map returned, as a finite (n, k) array (a feature map that fails says so here)."""
    return as_float_array("features(images)", features, ndim=2)
