"""MNIST: the bundled split, and the IDX reader on small files written by the tests (also corrupt ones)."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from refimpl.data import find_mnist_files, load_bundled_mnist, load_mnist, read_idx, read_mnist_directory, write_idx
from refimpl.data.mnist import ENVIRONMENT_VARIABLE, IDX_FILES


def test_bundled_split_is_fixed_balanced_and_disjoint():
    split = load_bundled_mnist()
    assert split.train_images.shape == (4000, 28, 28) and split.test_images.shape == (1000, 28, 28)
    np.testing.assert_array_equal(np.bincount(split.test_labels), [100] * 10)
    np.testing.assert_array_equal(np.bincount(split.train_labels), [400] * 10)
    assert 0.0 <= split.train_images.min() and split.train_images.max() <= 1.0
    train = {image.tobytes() for image in split.train_images}
    assert not any(image.tobytes() in train for image in split.test_images)
    again = load_bundled_mnist()
    np.testing.assert_array_equal(again.train_labels, split.train_labels)
    x_train, _, x_test, _ = split.flat()
    assert x_train.shape == (4000, 784) and x_test.shape == (1000, 784)


def _write_mnist(folder, n_train=6, n_test=4, compress=True, rng=None):
    rng = rng or np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    arrays = {"train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8)}
    for key, array in arrays.items():
        write_idx(folder / f"{IDX_FILES[key]}{suffix}", array)
    return arrays


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip_and_directory_reader(tmp_path, compress):
    arrays = _write_mnist(tmp_path, compress=compress)
    split = read_mnist_directory(tmp_path)
    np.testing.assert_array_equal(split.train_labels, arrays["train_labels"])
    np.testing.assert_allclose(split.test_images, arrays["test_images"] / 255.0)
    assert split.train_labels.dtype == np.int64


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip_for_every_type_code(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a.idx", array)), array)


def test_environment_variable_and_truncation(tmp_path, monkeypatch):
    _write_mnist(tmp_path)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path))
    split = load_mnist(n_train=3)
    assert split.source.startswith("IDX files") and len(split.train_labels) == 3
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    assert load_mnist(n_test=10).source.startswith("bundled")


def test_truncated_file(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.zeros((3, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"is truncated: shape \(3, 28, 28\) needs 2368 bytes, the file has 2358"):
        read_idx(path)


def test_bad_magic_unknown_type_and_trailing_bytes(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(b"\x01\x00\x08\x01\x00\x00\x00\x01\x07")
    with pytest.raises(ValueError, match="is not an IDX file"):
        read_idx(path)
    path.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x07")
    with pytest.raises(ValueError, match="unknown IDX type code 0x07"):
        read_idx(path)
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07\x08")
    with pytest.raises(ValueError, match="longer than its header says"):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "x.idx.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05abcde")[:-6])
    with pytest.raises(ValueError, match="not a readable IDX file"):
        read_idx(path)


def test_mismatched_and_missing_files(tmp_path):
    _write_mnist(tmp_path)
    write_idx(tmp_path / f"{IDX_FILES['train_labels']}.gz", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match=r"train labels must have shape \(6,\) to match the images; got \(5,\)"):
        read_mnist_directory(tmp_path)
    write_idx(tmp_path / f"{IDX_FILES['train_labels']}.gz", np.full(6, 12, np.uint8))
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        read_mnist_directory(tmp_path)
    (tmp_path / f"{IDX_FILES['test_images']}.gz").unlink()
    with pytest.raises(FileNotFoundError, match="has no t10k-images-idx3-ubyte"):
        read_mnist_directory(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_mnist_directory(tmp_path / "absent")


@pytest.mark.parametrize("part", ["train", "test"])
def test_an_images_file_holding_no_image_is_refused_naming_it(tmp_path, part):
    _write_mnist(tmp_path, **{f"n_{part}": 0})
    name = IDX_FILES[f"{part}_images"]
    with pytest.raises(ValueError, match=rf"{name}\.gz holds no images \(shape \(0, 28, 28\)\); "
                                         rf"{part} images must number at least 1"):
        read_mnist_directory(tmp_path)


# the folder the README's --mnist-dir names: ../shared/data/mnist from the repository root
FULL_MNIST = Path(__file__).resolve().parents[2].parent / "shared/data/mnist"
# per-digit counts of the official MNIST distribution (LeCun, Cortes, Burges), digits 0..9
OFFICIAL_COUNTS = {"train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
                   "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]}


@pytest.mark.skipif(not FULL_MNIST.is_dir(), reason=f"full MNIST not found at {FULL_MNIST}")
def test_the_real_full_mnist_files_read_through_the_idx_reader():
    for part, n in (("train", 60000), ("test", 10000)):
        images = read_idx(next(FULL_MNIST.glob(f"{IDX_FILES[f'{part}_images']}*")))
        labels = read_idx(next(FULL_MNIST.glob(f"{IDX_FILES[f'{part}_labels']}*")))
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.uint8
        assert images.min() == 0 and images.max() == 255
        assert 0.05 < np.mean(images > 0) < 0.5  # digits on a black background, not noise or blank
        np.testing.assert_array_equal(np.bincount(labels, minlength=10), OFFICIAL_COUNTS[part])
    split = read_mnist_directory(FULL_MNIST)
    assert len(split.train_labels) == 60000 and len(split.test_labels) == 10000
    assert split.train_images.min() == 0.0 and split.train_images.max() == 1.0
    np.testing.assert_array_equal(np.bincount(split.test_labels), OFFICIAL_COUNTS["test"])


def test_find_mnist_files_names_the_four_files_without_reading_them(tmp_path):
    _write_mnist(tmp_path, compress=False)
    raw = tmp_path / IDX_FILES["test_labels"]
    raw.rename(tmp_path / IDX_FILES["test_labels"].replace("-idx", ".idx"))  # the dotted renaming is found too
    (tmp_path / IDX_FILES["train_images"]).write_bytes(b"not read")
    paths = find_mnist_files(str(tmp_path))
    assert sorted(paths) == sorted(IDX_FILES)
    assert paths["test_labels"].name == "t10k-labels.idx1-ubyte"
    assert paths["train_images"] == tmp_path / IDX_FILES["train_images"]
    with pytest.raises(TypeError, match="directory must be a path .*; got NoneType None"):
        find_mnist_files(None)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_mnist_files(tmp_path / "absent")
    (tmp_path / IDX_FILES["train_labels"]).unlink()
    with pytest.raises(FileNotFoundError, match="has no train-labels-idx1-ubyte"):
        find_mnist_files(tmp_path)
