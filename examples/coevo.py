"""Spatial coevolution of GANs, step by step: a 2×2 Lipizzaner grid and Mustangs on the bundled MNIST subset.

Every cell holds one generator and one discriminator and trains them against its neighbours' (von Neumann
neighbourhood on the torus); a (1+1)-ES evolves the weights of each cell's generator mixture. The mixture score
here is the FID on a fixed random linear map of the images, a cheap stand-in for the classifier of the ``coevo``
experiment (``refimpl run coevo --quick``), so its values are on their own scale::

    python examples/coevo.py                   # 8 iterations of 60 batches, serial
    python examples/coevo.py --executor dask   # the same numbers, one Dask worker process per core
    python examples/coevo.py --smoke           # 2 iterations of 5 batches
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from refimpl.coevo import CellSettings, FeatureScore, LinearFeatures, neighbourhoods, train_grid
from refimpl.coevo.measure import best_cell, final_samples, to_unit_range
from refimpl.data import load_mnist


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="smallest setting")
    parser.add_argument("--executor", choices=("serial", "dask"), default="serial")
    parser.add_argument("--out", type=Path, default=Path("figures/examples"))
    args = parser.parse_args()

    print("2×2 torus, neighbourhoods (centre, W, N, E, S, de-duplicated):", neighbourhoods(2))
    images = to_unit_range(load_mnist(n_train=2000).train_images).astype(np.float32)  # (2000, 784) in [-1, 1]
    score = FeatureScore(LinearFeatures(np.random.default_rng(0).standard_normal((784, 10)) / 28), images[:1000])
    iterations, batches = (2, 5) if args.smoke else (8, 60)
    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    for loss, label in (("bce", "Lip-BCE"), ("mustangs", "Mustangs")):
        settings = CellSettings(grid_side=2, hidden=64, n_batches=batches, generator_loss=loss,
                                fitness_samples=300, score_samples=300, enable_selection=False)
        run = train_grid(settings, images, iterations=iterations, seed=0, scorer=score, executor=args.executor)
        curve = run.history["mixture_score"].min(axis=1)  # best cell's mixture per iteration
        print(f"{label}: mixture score per iteration {np.round(curve, 2)}; cell 0 weights "
              f"{np.round(run.history['mixture_weights'][-1, 0], 3)}; G lr {run.history['generator_lr'][-1]}")
        axes[0].plot(np.arange(1, iterations + 1), curve, "o-", label=label)
        if loss == "mustangs":
            cell = best_cell(run.states)
            tiles = final_samples(run.states, cell, 16, settings, 0).reshape(4, 4, 28, 28)
            axes[2].imshow((tiles.transpose(0, 2, 1, 3).reshape(112, 112) + 1) / 2, cmap="gray")
            axes[2].set(title=f"Mustangs, mixture of cell {cell}", xticks=[], yticks=[])
            axes[1].plot(run.history["mixture_weights"][:, 0], "o-")
    axes[0].set(xlabel="iteration", ylabel="FID on a random linear map", title="best cell's mixture")
    axes[0].legend()
    axes[1].set(xlabel="iteration", ylabel="weight", title="Mustangs, cell 0: mixture weights (own, W/E, N/S)")
    args.out.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out / "coevo.png", dpi=150, bbox_inches="tight")
    print(f"wrote {args.out / 'coevo.png'}")


if __name__ == "__main__":  # Dask starts worker processes that import this file
    main()
