"""Data: the bundled MNIST subset, a reader for full MNIST IDX files, and synthetic sets."""

from refimpl.data.mnist import (MnistSplit, find_mnist_files, load_bundled_mnist, load_mnist, read_idx,
                                read_mnist_directory, write_idx)
from refimpl.data.synthetic import bump_images, gaussian_ring, noisy_line, spirals, two_moons

__all__ = ["MnistSplit", "load_mnist", "load_bundled_mnist", "read_mnist_directory", "find_mnist_files", "read_idx",
           "write_idx", "noisy_line", "two_moons", "spirals", "gaussian_ring", "bump_images"]
