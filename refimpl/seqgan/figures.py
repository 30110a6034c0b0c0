"""Figures of the ``seqgan`` experiment, from measured curves and arrays (no measurement here)."""

import numpy as np


def nll_curves(curves, entropy_rate, settings):
    """NLL_oracle and NLL_test over MLE epochs, then adversarial iterations, per generator (mean over seeds),
    with the oracle's entropy rate as a line.

    ``curves`` is a list of rows {seed, generator, phase, step, nll_oracle, nll_test}.
    """
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for axis, metric in zip(axes, ("nll_oracle", "nll_test")):
        mle_steps, mle_means = _mean_curve(curves, "mle", metric)
        for name in dict.fromkeys(row["generator"] for row in curves):
            steps, means = _mean_curve(curves, name, metric)
            if name != "mle":  # every adversarial variant starts from the pretrained generator
                steps, means = [mle_steps[-1]] + [settings.mle_epochs + s for s in steps], [mle_means[-1]] + means
            axis.plot(steps, means, marker="o", ms=3, label=name)
        axis.axhline(entropy_rate, color="black", ls="--", lw=1, label="oracle entropy rate")
        axis.axvline(settings.mle_epochs, color="grey", ls=":", lw=1)
        axis.set(xlabel="MLE epoch, then MLE epochs + adversarial iteration", ylabel=f"{metric} (nats/token)",
                 title=metric.replace("_", " "))
        axis.legend(fontsize=8)
    figure.suptitle(f"SeqGAN on an LSTM oracle (V = {settings.vocab_size}, T = {settings.length}), "
                    f"mean over {settings.seeds} seed(s)", fontsize=10)
    return figure


def _mean_curve(curves, name, metric):
    """Steps and the mean of ``metric`` over seeds at each step, for generator ``name``."""
    rows = [row for row in curves if row["generator"] == name]
    steps = sorted({row["step"] for row in rows})
    return steps, [float(np.mean([row[metric] for row in rows if row["step"] == step])) for step in steps]


def plastic_heatmaps(trace, alpha, name):
    """The Hebbian trace at the end of a scoring episode and the learned α of a plastic softmax (F, 2), as heat maps."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 1, figsize=(10, 3.2), constrained_layout=True)
    for axis, values, label in zip(axes, (trace, alpha), ("Hebbian trace H (end of episode)", "α")):
        limit = float(np.abs(values).max()) or 1.0
        image = axis.imshow(values.T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        axis.set(yticks=[0, 1], yticklabels=["fake", "real"], xlabel="input feature (highway unit)", title=label)
        figure.colorbar(image, ax=axis)
    figure.suptitle(f"plastic softmax of the {name} discriminator", fontsize=10)
    return figure
