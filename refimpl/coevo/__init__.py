"""Seed 003: spatial coevolutionary GAN training (Lipizzaner, Mustangs) and E-GAN, serial or on Dask.

- :mod:`~refimpl.coevo.networks` the cell's generator and discriminator, hand-derived gradients;
- :mod:`~refimpl.coevo.losses` BCE (non-saturating), MSE, heuristic, minimax; Mustangs' random choice;
- :mod:`~refimpl.coevo.kernels` the fused Adam update (NumPy reference + numba twin);
- :mod:`~refimpl.coevo.grid` the torus and its von Neumann neighbourhoods;
- :mod:`~refimpl.coevo.algorithm` one iteration of a cell as a pure function; E-GAN;
- :mod:`~refimpl.coevo.executors` serial and Dask executors; :mod:`~refimpl.coevo.training` the driver,
  checkpoints and resume (:mod:`~refimpl.coevo.checkpoint`);
- :mod:`~refimpl.coevo.scores` FID and TVD on classifier features.
"""

from refimpl.coevo.algorithm import CellSettings, cell_step, init_cell
from refimpl.coevo.grid import neighbourhood, neighbourhoods
from refimpl.coevo.scores import FeatureScore, LinearFeatures, fid, total_variation
from refimpl.coevo.training import GridRun, train_grid

__all__ = ["CellSettings", "cell_step", "init_cell", "neighbourhood", "neighbourhoods", "FeatureScore",
           "LinearFeatures", "fid", "total_variation", "GridRun", "train_grid"]
