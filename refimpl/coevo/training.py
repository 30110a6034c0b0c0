"""The driver: iterate the grid with an executor, record the history, checkpoint, resume.

::

    run = train_grid(CellSettings(grid_side=2), images, iterations=30, seed=0, scorer=score,
                     executor="dask", checkpoint="out/grid.npz", checkpoint_every=5)
    run.states        # the final state of every cell
    run.history       # per iteration and cell: fitness, learning rates, mixture score and weights

Iteration 0 is the initial grid (:func:`~refimpl.coevo.algorithm.init_cell`); iteration t ≥ 1 maps the
states of t − 1 to those of t. With ``resume=True`` the run continues from the checkpoint's iteration and
ends with the same states as a run that was never stopped.
"""

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np

from refimpl.coevo.algorithm import check_images, check_settings, init_cell
from refimpl.coevo.checkpoint import load_checkpoint, save_checkpoint
from refimpl.coevo.executors import make_executor
from refimpl.coevo.grid import neighbourhoods
from refimpl.core.validate import check_int

__all__ = ["GridRun", "train_grid"]

HISTORY = ("generator_fitness", "discriminator_fitness", "generator_lr", "discriminator_lr", "mixture_score",
           "mixture_weights")


@dataclass
class GridRun:
    """What :func:`train_grid` returns: final ``states``, ``history`` (name → array (iterations, cells, …)),
    the executor's name, its worker count and the bytes of state it moved."""

    states: list
    history: dict
    executor: str
    n_workers: int
    bytes_moved: int


def fingerprint(settings, seed, images):
    """A string that identifies a run: its settings, seed and a digest of its training images."""
    digest = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:16]
    return json.dumps({"settings": dataclasses.asdict(settings), "seed": seed, "images": digest}, sort_keys=True)


def history_row(states):
    """The numbers recorded per iteration: one entry per cell for each name of :data:`HISTORY`, from the cells'
    states or their :func:`~refimpl.coevo.executors.summary`."""
    return {"generator_fitness": [s["generator"]["fitness"] for s in states],
            "discriminator_fitness": [s["discriminator"]["fitness"] for s in states],
            "generator_lr": [s["generator"]["optimiser"]["lr"] for s in states],
            "discriminator_lr": [s["discriminator"]["optimiser"]["lr"] for s in states],
            "mixture_score": [s["mixture_score"] for s in states],
            "mixture_weights": [s["mixture_weights"] for s in states]}


def _append(history, row):
    return {name: np.concatenate([history[name], np.asarray(row[name])[None]]) if name in history
            else np.asarray(row[name])[None] for name in HISTORY}


def train_grid(settings, images, *, iterations, seed=0, scorer=None, executor="serial", scheduler=None,
               n_workers=None, timeout=10.0, checkpoint=None, checkpoint_every=1, resume=False, callback=None):
    """Train the grid of ``settings`` for ``iterations`` iterations.

    Parameters
    ----------
    settings : :class:`~refimpl.coevo.algorithm.CellSettings`
    images : (n, image_dim) training images in [−1, 1]
    iterations : int ≥ 1, the iteration to reach (a resumed run counts the ones before the checkpoint)
    seed : int ≥ 0
    scorer : callable ``images -> float`` for the mixture ES (a :class:`~refimpl.coevo.scores.FeatureScore`), or None
    executor : ``"serial"`` or ``"dask"``; ``scheduler``, ``n_workers``, ``timeout`` are the Dask executor's
    checkpoint : path, optional, written atomically every ``checkpoint_every`` iterations and at the end
    resume : bool, continue from ``checkpoint`` (which must come from a run with the same settings, seed, images)
    callback : callable ``(iteration, states)``, optional, called after each iteration (and its checkpoint); with
        Dask it costs a gather of the whole states per iteration

    Returns
    -------
    :class:`GridRun`
    """
    settings = check_settings(settings)
    images = check_images(images, settings)
    iterations = check_int("iterations", iterations, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    checkpoint_every = check_int("checkpoint_every", checkpoint_every, minimum=1)
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a path (str or os.PathLike) or None; got {type(checkpoint).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a callable (iteration, states), or None; got {type(callback).__name__}")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs the checkpoint path to resume from")
    identity = fingerprint(settings, seed, images)
    if resume:
        states, history = load_checkpoint(checkpoint, identity)
    else:
        states, history = [init_cell(c, settings, seed) for c in range(settings.grid_side**2)], {}
    grid = neighbourhoods(settings.grid_side)
    with make_executor(executor, scheduler=scheduler, n_workers=n_workers, timeout=timeout) as engine:
        shared_images, shared_scorer = engine.share(images), engine.share(scorer)
        cells = engine.put(states)
        for iteration in range(states[0]["iteration"] + 1, iterations + 1):
            cells = engine.step(iteration, cells, grid, shared_images, shared_scorer, settings, seed)
            history = _append(history, history_row(engine.summaries(cells)))
            due = checkpoint is not None and (iteration % checkpoint_every == 0 or iteration == iterations)
            states = engine.fetch(cells) if due or callback is not None else None
            if due:
                save_checkpoint(checkpoint, states, history, identity)
            if callback is not None:
                callback(iteration, states)
        return GridRun(engine.fetch(cells), history, engine.name, engine.n_workers, engine.bytes_moved)
