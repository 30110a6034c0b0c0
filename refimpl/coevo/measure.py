"""Measurements of the ``coevo`` experiment: the six methods at equal budget, scored by FID and TVD.

A *method* is a :class:`~refimpl.coevo.algorithm.CellSettings` recipe (:data:`METHODS`): GAN-BCE is one cell
(1×1) with the code's BCE, E-GAN one cell with :func:`~refimpl.coevo.algorithm.egan_step`, Lip-BCE/MSE/HEU a
grid with one generator loss, Mustangs a grid drawing the loss per batch. Budget: every method runs the same
number of iterations and ``n_batches`` generator batches per cell and iteration (one E-GAN generation counts as
one batch); wall-clock times per method are recorded apart.

Scores use the logits of the LeNet-style MNIST classifier of :mod:`refimpl.core.classifier` (trained once per
settings and cached), or, for smoke runs, a fixed random linear map (``features="linear"``): absolute FIDs
depend on the classifier and cannot be compared across classifiers.
"""

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from refimpl.coevo.algorithm import CellSettings, mixture_samples
from refimpl.coevo.checkpoint import flatten, unflatten
from refimpl.coevo.grid import neighbourhood
from refimpl.coevo.scores import FeatureScore, LinearFeatures, class_frequencies
from refimpl.coevo.training import train_grid
from refimpl.core.validate import check_choice

METHODS = {
    "GAN-BCE": {"grid": False, "method": "lipizzaner", "generator_loss": "bce"},
    "E-GAN": {"grid": False, "method": "egan", "generator_loss": "bce"},
    "Lip-BCE": {"grid": True, "method": "lipizzaner", "generator_loss": "bce"},
    "Lip-MSE": {"grid": True, "method": "lipizzaner", "generator_loss": "mse"},
    "Lip-HEU": {"grid": True, "method": "lipizzaner", "generator_loss": "heuristic"},
    "Mustangs": {"grid": True, "method": "lipizzaner", "generator_loss": "mustangs"},
}
"""The methods of the GECCO'19 comparison, by the seed's names."""


def method_settings(name, base, grid_side):
    """The :class:`CellSettings` of method ``name``: ``base`` with its method, loss and grid (1×1 or ``grid_side``)."""
    recipe = METHODS[check_choice("method", name, tuple(METHODS))]
    return dataclasses.replace(base, grid_side=grid_side if recipe["grid"] else 1, method=recipe["method"],
                               generator_loss=recipe["generator_loss"])


def to_unit_range(images):
    """MNIST in [0, 1], (n, 28, 28) → flat (n, 784) in [−1, 1], the range of the generator's tanh."""
    return 2.0 * images.reshape(len(images), -1) - 1.0


class ClassifierFeatures:
    """Logits (n, 10) of a trained classifier as features; picklable, so Dask ships it once per worker."""

    def __init__(self, network, params):
        self.network, self.params = network, params

    def __call__(self, images):
        return self.network.logits(self.params, np.asarray(images, dtype=np.float64))


def feature_map(kind, split, rng, *, epochs, cache_dir=None):
    """The features of the scores and the classifier's test accuracy (NaN for ``"linear"``).

    ``"lenet"`` trains :func:`refimpl.core.classifier.lenet` with Adam on the training images in [−1, 1], or
    loads its parameters from ``cache_dir`` (default ``$REFIMPL_CACHE`` or ``~/.cache/refimpl``) under a name
    keyed by the data source, the epochs and the seed of ``rng``'s first draw.
    """
    check_choice("features", kind, ("lenet", "linear"))
    if kind == "linear":
        return LinearFeatures(rng.standard_normal((784, 10)) / 28.0), float("nan")
    from refimpl.core.classifier import lenet, train_classifier  # the project's MNIST CNN (foundation issue)

    network, key = lenet(), int(rng.integers(2**31))
    x_train, x_test = to_unit_range(split.train_images), to_unit_range(split.test_images)
    name = hashlib.sha256(json.dumps([split.source, len(x_train), epochs, key]).encode()).hexdigest()[:16]
    path = Path(cache_dir or os.environ.get("REFIMPL_CACHE", Path.home() / ".cache" / "refimpl")) / f"coevo-lenet-{name}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as archive:
            params = unflatten({k: archive[k] for k in archive.files})
    else:
        params = network.init_params(np.random.default_rng(key))
        train_classifier(network, params, x_train, split.train_labels, np.random.default_rng(key + 1), epochs=epochs,
                         batch_size=64, optimizer="adam", lr=1e-3)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(temporary, **flatten(params))
        os.replace(temporary, path)
    features = ClassifierFeatures(network, params)
    accuracy = float(np.mean(features(x_test).argmax(axis=1) == split.test_labels))
    return features, accuracy


def best_cell(states):
    """Index of the cell whose mixture scored lowest in the last iteration."""
    return int(np.argmin([s["mixture_score"] for s in states]))


def final_samples(states, cell, n, settings, seed):
    """n samples of ``cell``'s mixture (its own generator and its neighbours', with its weights)."""
    generators = [states[j]["generator"]["params"] for j in neighbourhood(cell, settings.grid_side)]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2**20]))
    return mixture_samples(generators, states[cell]["mixture_weights"], n, rng, settings)


def measure_method(name, base, grid_side, iterations, images, score, seed, *, final_n, executor="serial",
                   n_workers=None, scheduler=None):
    """Train method ``name`` and score it.

    Returns
    -------
    dict with ``fid_curve`` (iterations,), the best cell's mixture FID per iteration; ``fid``, ``tvd`` and
    ``class_frequencies`` (10,) of ``final_n`` samples of the best cell's mixture; ``mixture_weights``
    (iterations, m) and ``generator_lr`` (iterations,) of cell 0; ``samples`` (16, 784); ``seconds``.
    """
    settings = method_settings(name, base, grid_side)
    start = time.perf_counter()
    run = train_grid(settings, images, iterations=iterations, seed=seed, scorer=score, executor=executor,
                     n_workers=n_workers, scheduler=scheduler)
    seconds = time.perf_counter() - start
    cell = best_cell(run.states)
    samples = final_samples(run.states, cell, final_n, settings, seed)
    features = score.features(samples)
    return {"fid_curve": run.history["mixture_score"].min(axis=1), "fid": score.fid(samples),
            "tvd": score.tvd(samples), "class_frequencies": class_frequencies(features, features.shape[1]),
            "mixture_weights": run.history["mixture_weights"][:, 0], "generator_lr": run.history["generator_lr"][:, 0],
            "samples": samples[:16], "seconds": seconds, "best_cell": cell}


def ranking_agreement(medians, better, worse):
    """Fraction of pairs (b, w) in ``better`` × ``worse`` whose median FIDs are ordered b < w (1 = the seed's ranking)."""
    pairs = [(b, w) for b in better for w in worse]
    return float(np.mean([medians[b] < medians[w] for b, w in pairs]))


def separation(values, better, worse):
    """Fraction of pairs (b, w) in ``better`` × ``worse`` whose value ranges over seeds do not overlap, b's below
    (every seed of b lower than every seed of w): the ranking of :func:`ranking_agreement` with its spread."""
    pairs = [(b, w) for b in better for w in worse]
    return float(np.mean([max(values[b]) < min(values[w]) for b, w in pairs]))


def rank_correlation(ours, theirs):
    r"""Spearman's :math:`\rho` between two dicts of numbers over their common keys (ties get mean ranks)."""
    from scipy.stats import spearmanr

    keys = sorted(set(ours) & set(theirs))
    if len(keys) < 2:
        raise ValueError(f"rank_correlation needs at least 2 common keys; got {keys}")
    return float(spearmanr([ours[k] for k in keys], [theirs[k] for k in keys]).statistic)


def base_settings(latent_dim, hidden, n_batches, fitness_samples, score_samples, enable_selection):
    """The shared :class:`CellSettings` of the comparison (float32, the public code's constants otherwise)."""
    return CellSettings(latent_dim=latent_dim, hidden=hidden, n_batches=n_batches, fitness_samples=fitness_samples,
                        score_samples=score_samples, enable_selection=enable_selection)
