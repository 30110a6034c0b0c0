"""MNIST: the bundled 5,000-digit subset, and a reader for the standard IDX files of full MNIST.

The subset ships inside the package (``mnist_5k.npz``, 500 digits of each class; provenance and
licence in ``refimpl/data/README.md``) and is the default everywhere, split once and for all into
4,000 training and 1,000 test images (400/100 of each digit) by a fixed permutation. Full MNIST
(60,000/10,000) is read from the IDX files a user downloads, from a folder named by the argument
``directory``, the CLI's ``--mnist-dir`` or the environment variable ``REFIMPL_MNIST_DIR``.

Images are returned as float64 in [0, 1] with shape (n, 28, 28), labels as int64 (n,).
"""

import gzip
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from refimpl.core.validate import check_int

ENVIRONMENT_VARIABLE = "REFIMPL_MNIST_DIR"
BUNDLED_FILE = "mnist_5k.npz"
BUNDLED_TEST_PER_CLASS = 100
_SPLIT_SEED = 20210202  # fixes the bundled train/test split for every user; never change it

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX type codes (LeCun's format description): code -> big-endian dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True)
class MnistSplit:
    """Training and test digits; images (n, 28, 28) float64 in [0, 1], labels (n,) int64."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str

    def flat(self):
        """Images flattened to (n, 784): ``(train_x, train_y, test_x, test_y)``."""
        return (self.train_images.reshape(len(self.train_images), -1), self.train_labels,
                self.test_images.reshape(len(self.test_images), -1), self.test_labels)


def load_mnist(directory=None, *, n_train=None, n_test=None):
    """Load MNIST: full IDX files from ``directory`` (or ``$REFIMPL_MNIST_DIR``), else the bundled subset.

    Parameters
    ----------
    directory : path, optional
        Folder holding the four IDX files (``.gz`` or raw).
    n_train, n_test : int, optional
        Keep only the first images of each part (the bundled split is shuffled, so any prefix is
        balanced up to sampling).
    """
    directory = directory or os.environ.get(ENVIRONMENT_VARIABLE) or None
    split = read_mnist_directory(directory) if directory else load_bundled_mnist()
    return _truncate(split, n_train, n_test)


def load_bundled_mnist():
    """The bundled subset with its fixed 4,000/1,000 split (400/100 images of each digit)."""
    with resources.files("refimpl.data").joinpath(BUNDLED_FILE).open("rb") as stream:
        archive = np.load(stream)
        images, labels = archive["images"], archive["labels"].astype(np.int64)
    rng = np.random.default_rng(_SPLIT_SEED)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == digit))[:BUNDLED_TEST_PER_CLASS]
                           for digit in range(10)])
    train = np.setdiff1d(np.arange(len(labels)), test)
    train, test = rng.permutation(train), rng.permutation(test)
    return MnistSplit(_to_unit(images[train]), labels[train], _to_unit(images[test]), labels[test],
                      source=f"bundled {BUNDLED_FILE}")


def read_mnist_directory(directory):
    """Read the four standard MNIST IDX files from ``directory`` and check they fit together.

    Raises
    ------
    FileNotFoundError
        If the folder or one of the four files is missing (:func:`find_mnist_files`).
    ValueError
        If a file is corrupt (:func:`read_idx`), an images file holds no image or images of another
        shape than (n, 28, 28), or the labels do not match the images in number or lie outside 0..9.
    """
    paths = find_mnist_files(directory)
    directory = Path(directory)
    parts = {key: read_idx(path) for key, path in paths.items()}
    for part in ("train", "test"):
        images, labels = parts[f"{part}_images"], parts[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"{part} images must have shape (n, 28, 28); got {images.shape}")
        if len(images) == 0:
            raise ValueError(f"{paths[f'{part}_images']} holds no images (shape {images.shape}); "
                             f"{part} images must number at least 1")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"{part} labels must have shape ({len(images)},) to match the images; "
                             f"got {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise ValueError(f"{part} labels must lie in 0..9; got range {labels.min()}..{labels.max()}")
    return MnistSplit(_to_unit(parts["train_images"]), parts["train_labels"].astype(np.int64),
                      _to_unit(parts["test_images"]), parts["test_labels"].astype(np.int64),
                      source=f"IDX files in {directory}")


def find_mnist_files(directory):
    """The paths of the four MNIST IDX files in ``directory`` (without reading them).

    Each file may be raw or gzip-compressed (``.gz``), and named as LeCun distributes it
    (``train-images-idx3-ubyte``) or with a dot (``train-images.idx3-ubyte``).

    Parameters
    ----------
    directory : str or os.PathLike

    Returns
    -------
    dict : {"train_images", "train_labels", "test_images", "test_labels"} -> pathlib.Path

    Raises
    ------
    TypeError
        If ``directory`` is not a path.
    FileNotFoundError
        If the folder or one of the four files is missing.
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a path (str or os.PathLike); got {type(directory).__name__} "
                        f"{directory!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST directory {directory} does not exist (set by --mnist-dir or "
                                f"{ENVIRONMENT_VARIABLE})")
    return {key: _find_idx(directory, stem) for key, stem in IDX_FILES.items()}


def _find_idx(directory, stem):
    dotted = stem.replace("-idx", ".idx")  # a common renaming: train-images.idx3-ubyte
    candidates = [directory / f"{name}{suffix}" for name in (stem, dotted) for suffix in ("", ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{directory} has no {stem} (looked for {', '.join(c.name for c in candidates)})")


def read_idx(path):
    """Read one IDX file (raw or gzip-compressed) into a NumPy array.

    Raises
    ------
    ValueError
        If the magic number is wrong, the type code unknown, or the payload shorter or longer than
        the dimensions say.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            data = stream.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path} is not a readable IDX file: {error}") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file: its magic number must start with two zero bytes")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path} has unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path} is truncated: its header needs {header} bytes, the file has {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "longer than its header says"
        raise ValueError(f"{path} is {state}: shape {shape} needs {expected} bytes, the file has {len(data)}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``)."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    dtype = array.dtype.newbyteorder("=")
    if dtype not in codes:
        raise TypeError(f"array dtype {array.dtype} has no IDX type code")
    header = bytes([0, 0, codes[dtype], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(_IDX_DTYPES[codes[dtype]]).tobytes()
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as stream:
        stream.write(payload)
    return path


def _to_unit(images):
    return images.astype(np.float64) / 255.0


def _truncate(split, n_train, n_test):
    if n_train is None and n_test is None:
        return split
    n_train = len(split.train_labels) if n_train is None else check_int("n_train", n_train, minimum=1)
    n_test = len(split.test_labels) if n_test is None else check_int("n_test", n_test, minimum=1)
    return MnistSplit(split.train_images[:n_train], split.train_labels[:n_train],
                      split.test_images[:n_test], split.test_labels[:n_test], split.source)
