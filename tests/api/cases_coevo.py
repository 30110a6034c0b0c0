"""Bad-input cases of :mod:`refimpl.coevo` (see :mod:`tests.api.probe`).

Tiny networks and grids, so that every valid call runs in milliseconds; the probes are refused before
any training starts. ``backend="numpy"`` and float64 keep the examples independent of numba's caches.
"""

import tempfile
from functools import partial
from pathlib import Path

import numpy as np

from refimpl.coevo import algorithm, checkpoint, executors, grid, kernels, losses, networks, scores, training
from tests.api.probe import Case, qualified_name

SETTINGS = algorithm.CellSettings(grid_side=1, latent_dim=3, hidden=4, image_dim=5, dtype="float64", batch_size=4,
                                  n_batches=2, fitness_samples=6, score_samples=6, egan_fitness_samples=4,
                                  backend="numpy")
EGAN = algorithm.CellSettings(**{**SETTINGS.__dict__, "method": "egan"})
GENERATOR_SIZES = networks.generator_sizes(SETTINGS.latent_dim, SETTINGS.hidden, SETTINGS.image_dim)
DISCRIMINATOR_SIZES = networks.discriminator_sizes(SETTINGS.image_dim, SETTINGS.hidden)
LOGIT_SHAPES = ("wrong size",)  # one logit more is a batch one larger: still valid


def _images(rng, n=8):
    return rng.uniform(-1, 1, (n, SETTINGS.image_dim))


def _networks(rng):
    return {"generator": networks.init_network(rng, GENERATOR_SIZES), "discriminator":
            networks.init_network(rng, DISCRIMINATOR_SIZES)}


def _z(rng, n=4):
    return rng.standard_normal((n, SETTINGS.latent_dim))


def _forward_example(rng):
    return {"params": _networks(rng)["discriminator"], "x": _images(rng, 4), "output": "logit", "backend": "numpy"}


def _backward_example(rng):
    example = _forward_example(rng)
    out, caches = networks.forward(**example)
    return {"params": example["params"], "dout": rng.standard_normal(out.shape), "caches": caches,
            "output": "logit", "backend": "numpy"}


def _cell_example(rng, settings=SETTINGS):
    return {"cell": 0, "iteration": 1, "states": [algorithm.init_cell(0, settings, 0)], "data": _images(rng),
            "scorer": None, "settings": settings, "seed": 0}


def _serial_step(cell, iteration, states, data, scorer, settings, seed):
    return executors.SerialExecutor().step(iteration, states, grid.neighbourhoods(settings.grid_side), data, scorer,
                                           settings, seed)


def _score(rng):
    return scores.FeatureScore(scores.LinearFeatures(rng.standard_normal((SETTINGS.image_dim, 3))), _images(rng))


_CHECKPOINTS = tempfile.TemporaryDirectory(prefix="coevo-probe-")  # one folder for every probe, removed at exit
_COUNT = iter(range(10**9))


def _checkpoint_path():
    return Path(_CHECKPOINTS.name) / f"grid-{next(_COUNT)}.npz"


def _saved_checkpoint(rng):
    path = _checkpoint_path()
    checkpoint.save_checkpoint(path, [algorithm.init_cell(0, SETTINGS, 0)], {}, "run")
    return {"path": path, "fingerprint": "run"}


def _adam_step(params, grads):
    """One step on a single array: the arguments carry the names the messages use (params['w'], grads['w'])."""
    kernels.CellAdam(0.1, backend="numpy").step({"w": params}, {"w": grads})


GRID = [
    Case(grid.cell_index, lambda rng: {"x": 1, "y": 2, "side": 3}, accepts={"x": ("negative",), "y": ("negative",)}),
    # x and y wrap around the torus: -1 is the last column or row
    Case(grid.neighbourhood, lambda rng: {"cell": 2, "side": 3}),
    Case(grid.neighbourhoods, lambda rng: {"side": 3}),
    Case(grid.transposed_neighbourhoods, lambda rng: {"side": 3}),
]

NETWORKS = [
    Case(networks.generator_sizes, lambda rng: {"latent_dim": 3, "hidden": 4, "image_dim": 5}),
    Case(networks.discriminator_sizes, lambda rng: {"image_dim": 5, "hidden": 4}),
    Case(networks.init_network, lambda rng: {"rng": rng, "sizes": GENERATOR_SIZES, "dtype": "float32"}),
    Case(networks.forward, _forward_example),
    Case(networks.backward, _backward_example, skip=("caches",)),  # what forward returned
    Case(networks.generate, lambda rng: {"generator": _networks(rng)["generator"], "z": _z(rng), "backend": "numpy"}),
    Case(networks.discriminate, lambda rng: {"discriminator": _networks(rng)["discriminator"], "x": _images(rng),
                                             "backend": "numpy"}),
    Case(networks.generator_gradients, lambda rng: {**_networks(rng), "z": _z(rng), "backend": "numpy",
                                                    "loss_function": partial(losses.generator_loss, "bce")}),
    Case(networks.discriminator_gradients, lambda rng: {"discriminator": _networks(rng)["discriminator"],
                                                        "real": _images(rng, 4), "fake": _images(rng, 3),
                                                        "backend": "numpy"}),
]

LOSSES = [
    *(Case(f, lambda rng: {"logits": rng.standard_normal(5)}, accepts={"logits": LOGIT_SHAPES})
      for f in (losses.mse_generator_loss, losses.heuristic_generator_loss)),
    Case(losses.generator_loss, lambda rng: {"loss": "mse", "logits": rng.standard_normal(5)},
         accepts={"logits": LOGIT_SHAPES}),
    Case(losses.discriminator_loss, lambda rng: {"real_logits": rng.standard_normal(5),
                                                 "fake_logits": rng.standard_normal(4)},
         accepts={"real_logits": LOGIT_SHAPES, "fake_logits": LOGIT_SHAPES}),  # the batches may differ in size
    Case(losses.draw_loss, lambda rng: {"loss": "mustangs", "rng": rng}),
]

ALGORITHM = [
    Case(algorithm.CellSettings, lambda rng: {"grid_side": 1, "method": "lipizzaner", "generator_loss": "mse",
                                              "hidden": 4, "batch_size": 3, "learning_rate": 1e-3,
                                              "mutation_probability": 0.5, "backend": "numpy", "dtype": "float64"}),
    Case(algorithm.check_settings, lambda rng: {"settings": SETTINGS}),
    Case(algorithm.check_images, lambda rng: {"images": _images(rng), "settings": SETTINGS}),
    Case(algorithm.cell_rng, lambda rng: {"seed": 1, "cell": 2, "iteration": 3}),
    Case(algorithm.init_cell, lambda rng: {"cell": 0, "settings": SETTINGS, "seed": 0}),
    Case(algorithm.cell_step, _cell_example),
    Case(algorithm.cell_step, lambda rng: _cell_example(rng, EGAN)),  # E-GAN's generation
    Case(algorithm.mutate_learning_rate, lambda rng: {"lr": 2e-4, "rng": rng, "lr0": 2e-4, "alpha": 1e-4,
                                                      "probability": 0.5}),
    Case(algorithm.batch_indices, lambda rng: {"rng": rng, "n_data": 10, "batch_size": 3, "n_batches": 4}),
    Case(algorithm.tournament, lambda rng: {"fitness": [0.3, 0.1, 0.2], "rng": rng, "size": 2}),
    Case(algorithm.mixture_samples, lambda rng: {"generators": [_networks(rng)["generator"]] * 2,
                                                 "weights": np.array([0.25, 0.75]), "n": 6, "rng": rng,
                                                 "settings": SETTINGS}),
    Case(algorithm.evolve_mixture, lambda rng: {"weights": np.array([0.25, 0.75]), "scorer": _score(rng),
                                                "generators": [_networks(rng)["generator"]] * 2, "rng": rng,
                                                "settings": SETTINGS}),
    Case(algorithm.egan_fitness, lambda rng: {**_networks(rng), "real": _images(rng, 4), "rng": rng,
                                              "settings": EGAN}),
]

EXECUTORS = [
    Case(executors.SerialExecutor, lambda rng: {}),
    Case(executors.SerialExecutor.step, _cell_example, call=_serial_step,
         skip=("cell",)),  # not an argument of step: the executor runs every cell
    # None: a local cluster (started on __enter__ only), with one worker per core
    Case(executors.DaskExecutor, lambda rng: {"scheduler": "tcp://127.0.0.1:8786", "timeout": 5.0, "retries": 1},
         accepts={"scheduler": ("none",)}),
    Case(executors.DaskExecutor, lambda rng: {"n_workers": 2}, accepts={"n_workers": ("none",)}),
    Case(executors.make_executor, lambda rng: {"executor": "serial", "timeout": 5.0}),
    Case(executors.make_executor, lambda rng: {"executor": "dask", "scheduler": "tcp://127.0.0.1:8786"},
         accepts={"scheduler": ("none",)}),
]

CHECKPOINTS = [
    Case(checkpoint.save_checkpoint, lambda rng: {"path": _checkpoint_path(), "states": [algorithm.init_cell(
        0, SETTINGS, 0)], "history": {}, "fingerprint": "run"},
         accepts={"fingerprint": ("unknown option",)}),  # any string identifies a run
    Case(checkpoint.load_checkpoint, _saved_checkpoint),
]

SCORES = [
    Case(scores.gaussian_statistics, lambda rng: {"features": rng.standard_normal((6, 3))},
         accepts={"features": ("wrong size",)}),  # any number of features
    Case(scores.frechet_distance, lambda rng: {"mean_a": rng.standard_normal(3), "cov_a": np.eye(3),
                                               "mean_b": rng.standard_normal(3), "cov_b": 2 * np.eye(3)}),
    Case(scores.fid, lambda rng: {"real_features": rng.standard_normal((6, 3)),
                                  "generated_features": rng.standard_normal((5, 3))}),
    Case(scores.class_frequencies, lambda rng: {"logits": rng.standard_normal((6, 4)), "n_classes": 4}),
    Case(scores.total_variation, lambda rng: {"p": np.array([0.5, 0.25, 0.25]), "q": np.array([0.25, 0.25, 0.5])}),
    Case(scores.FeatureScore, lambda rng: {"features": scores.LinearFeatures(rng.standard_normal((5, 3))),
                                           "real_images": _images(rng)},
         accepts={"real_images": ("wrong size",)}),  # the width is the feature map's: LinearFeatures refuses it
    Case(scores.FeatureScore.fid, lambda rng: {"images": _images(rng)},
         call=lambda images: _score(np.random.default_rng(1)).fid(images)),
    Case(scores.FeatureScore.tvd, lambda rng: {"images": _images(rng)},
         call=lambda images: _score(np.random.default_rng(1)).tvd(images)),
    Case(scores.LinearFeatures, lambda rng: {"matrix": rng.standard_normal((5, 3))},
         accepts={"matrix": ("wrong size",)}),  # any number of features
    Case(scores.LinearFeatures.__call__, lambda rng: {"images": _images(rng)},
         call=lambda images: scores.LinearFeatures(np.ones((SETTINGS.image_dim, 3)))(images)),
]

KERNELS = [
    Case(kernels.CellAdam, lambda rng: {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "backend": "numba"}),
    Case(kernels.CellAdam.step, lambda rng: {"params": rng.standard_normal((3, 2)),
                                             "grads": rng.standard_normal((3, 2))},
         call=_adam_step,  # as core's Adam: NaN or inf gradients are stopped by the training loops' finite checks
         accepts={"grads": ("nan", "inf"), "params": ("nan", "inf")}),
]

TRAINING = [
    Case(training.train_grid, lambda rng: {"settings": SETTINGS, "images": _images(rng), "iterations": 1, "seed": 0,
                                           "executor": "serial", "timeout": 5.0, "checkpoint_every": 1}),
]

PACKAGES = {"refimpl.coevo": [], "refimpl.coevo.grid": GRID, "refimpl.coevo.networks": NETWORKS,
            "refimpl.coevo.losses": LOSSES, "refimpl.coevo.algorithm": ALGORITHM,
            "refimpl.coevo.executors": EXECUTORS, "refimpl.coevo.checkpoint": CHECKPOINTS,
            "refimpl.coevo.scores": SCORES, "refimpl.coevo.kernels": KERNELS, "refimpl.coevo.training": TRAINING}

EXEMPT = {
    qualified_name(networks.check_network): "a validator: its messages are tested in tests/coevo/test_networks.py",
    qualified_name(training.GridRun): "a result record, built by train_grid",
}
