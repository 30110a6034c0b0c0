"""Checkpoints of a whole grid: every cell's state, the history so far and a fingerprint of the run.

A state is a nested dict of arrays and numbers; it is flattened to ``"cell0/generator/params/w1"``-style
keys and written with ``np.savez`` to a temporary file in the same folder, then renamed over the checkpoint
(``os.replace`` is atomic), so a run killed while writing leaves the previous checkpoint intact. Nothing is
pickled: ``np.load(..., allow_pickle=False)`` reads it back.
"""

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["save_checkpoint", "load_checkpoint"]

SEPARATOR = "/"


def flatten(tree, prefix=""):
    """``{"a": {"b": x}}`` → ``{"a/b": np.asarray(x)}``; leaves are arrays, numbers or strings."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + SEPARATOR))
        else:
            flat[name] = np.asarray(value)
    return flat


def unflatten(flat):
    """Inverse of :func:`flatten`: 0-d arrays become Python numbers (or strings), others stay arrays."""
    tree = {}
    for name, array in flat.items():
        *parents, leaf = name.split(SEPARATOR)
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = array.item() if array.ndim == 0 else array
    return tree


def save_checkpoint(path, states, history, fingerprint):
    """Write ``states`` (list of cell states), ``history`` (dict name → array) and ``fingerprint`` (str) atomically."""
    path = _check_path(path, fingerprint)
    if not isinstance(states, (list, tuple)) or not all(isinstance(state, dict) for state in states):
        raise TypeError(f"states must be a list of cell states (dicts); got {type(states).__name__}")
    if not isinstance(history, dict):
        raise TypeError(f"history must be a dict of name -> array; got {type(history).__name__}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tree = {"fingerprint": fingerprint, "history": history, **{f"cell{i}": s for i, s in enumerate(states)}}
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **flatten(tree))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def load_checkpoint(path, fingerprint):
    """Read a checkpoint written by :func:`save_checkpoint`: ``(states, history)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable checkpoint, or was written by a run with other settings, seed or data
        (its fingerprint differs from ``fingerprint``).
    """
    path = _check_path(path, fingerprint)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist: nothing to resume (run without resume first)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            tree = unflatten({name: archive[name] for name in archive.files})
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"checkpoint {path} is corrupt or not a coevo checkpoint ({error}); "
                         "delete it to start afresh") from error
    if tree.get("fingerprint") != fingerprint:
        raise ValueError(f"checkpoint {path} was written by a run with other settings, seed or data (its fingerprint "
                         "differs from fingerprint); resume needs the same ones (or delete the file to start afresh)")
    cells = sorted((k for k in tree if k.startswith("cell")), key=lambda k: int(k[4:]))
    return [tree[k] for k in cells], tree.get("history", {})


def _check_path(path, fingerprint):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; got {type(path).__name__}")
    if not isinstance(fingerprint, str):
        raise TypeError(f"fingerprint must be the str that identifies the run; got {type(fingerprint).__name__}")
    return Path(path)
