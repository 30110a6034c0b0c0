"""Figures of the ``coevo`` experiment, from the measured results only (no training here)."""

import numpy as np

from refimpl.coevo.measure import METHODS


def save_all(run, measured, settings):
    """FID curves, final FID/TVD box plots, samples, class histograms, mixture weights and lr drift."""
    run.save_figure(fid_curves(measured), "fid_curves")
    run.save_figure(final_scores(measured), "final_fid_tvd")
    run.save_figure(sample_grids(measured), "samples")
    run.save_figure(class_histograms(measured), "class_histograms")
    grid_methods = [m for m in measured if METHODS[m]["grid"]]
    if grid_methods:
        run.save_figure(mixture_and_lr(measured, grid_methods), "mixture_weights_lr")


def _figure(*shape, size):
    import matplotlib.pyplot as plt  # lazily: listing experiments must not load matplotlib

    return plt.subplots(*shape, figsize=size, squeeze=False)


def fid_curves(measured):
    figure, axes = _figure(1, 1, size=(7, 4.5))
    ax = axes[0, 0]
    for name, results in measured.items():
        curves = np.array([r["fid_curve"] for r in results])
        iterations = np.arange(1, curves.shape[1] + 1)
        ax.plot(iterations, np.median(curves, axis=0), "o-", label=name)
        ax.fill_between(iterations, curves.min(axis=0), curves.max(axis=0), alpha=0.15)
    ax.set(yscale="log", xlabel="iteration", ylabel="FID of the best cell's mixture (median, range over seeds)",
           title="FID during training")
    ax.legend()
    return figure


def final_scores(measured):
    figure, axes = _figure(1, 2, size=(11, 4.2))
    names = list(measured)
    for ax, key, label in ((axes[0, 0], "fid", "final FID (lower is better)"),
                           (axes[0, 1], "tvd", "final TVD of class frequencies")):
        ax.boxplot([[r[key] for r in measured[n]] for n in names], tick_labels=names)
        ax.set(ylabel=label)
        ax.tick_params(axis="x", rotation=30)
    axes[0, 0].set_yscale("log")
    return figure


def sample_grids(measured):
    figure, axes = _figure(1, len(measured), size=(2.2 * len(measured), 2.6))
    for ax, (name, results) in zip(axes[0], measured.items()):
        samples = results[0]["samples"].reshape(4, 4, 28, 28).transpose(0, 2, 1, 3).reshape(112, 112)
        ax.imshow((samples + 1) / 2, cmap="gray", vmin=0, vmax=1)
        ax.set(title=name, xticks=[], yticks=[])
    return figure


def class_histograms(measured):
    figure, axes = _figure(1, 1, size=(9, 4))
    ax, width = axes[0, 0], 0.8 / len(measured)
    for i, (name, results) in enumerate(measured.items()):
        ax.bar(np.arange(10) + i * width, np.mean([r["class_frequencies"] for r in results], axis=0), width, label=name)
    ax.axhline(0.1, color="k", lw=0.8, ls="--")
    ax.set(xticks=np.arange(10) + 0.4, xticklabels=range(10), xlabel="predicted digit",
           ylabel="fraction of samples", title="class coverage of the best cell's mixture")
    ax.legend(ncol=3, fontsize=8)
    return figure


def mixture_and_lr(measured, grid_methods):
    figure, axes = _figure(1, 2, size=(11, 4))
    weights = measured[grid_methods[0]][0]["mixture_weights"]
    for j in range(weights.shape[1]):
        axes[0, 0].plot(np.arange(1, len(weights) + 1), weights[:, j], label=f"neighbour {j}" if j else "own")
    axes[0, 0].set(xlabel="iteration", ylabel="mixture weight", title=f"{grid_methods[0]}, cell 0, first seed")
    axes[0, 0].legend()
    for name in grid_methods:
        lr = measured[name][0]["generator_lr"]
        axes[0, 1].plot(np.arange(1, len(lr) + 1), lr * 1e4, label=name)
    axes[0, 1].set(xlabel="iteration", ylabel="generator learning rate (×1e-4)", title="lr drift (cell 0, first seed)")
    axes[0, 1].legend()
    return figure
