"""Figures of the PRD experiments (:mod:`refimpl.prd.experiment`), drawn from what
:mod:`refimpl.prd.measure` returned and recorded; nothing here computes a result.

``prd-theory``: ``theory.png`` (H∞ closed form against Monte Carlo, Theorem 1's width scaling, Theorem 2's
drift over time, the residual with the eq. 58 fit), ``dependences.png`` and ``stability.png``. ``prd-mnist``: the paper's
Figs. 1, 3-8 (``fig1_distance.png`` ... ``fig8_synthetic_with_diffusion.png``).
"""

import numpy as np

from refimpl.prd.measure import THEOREM3_TERMS


# ============================================================================================ prd-theory
def theory_figure(run, settings, H, estimate, width_runs, seeds, fit, lambda_0):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    _gram_panel(axes[0, 0], settings, H, estimate, lambda_0)
    _width_panel(axes[0, 1], run, settings, width_runs)
    _theorem2_panel(axes[1, 0], run, settings, seeds)
    _bernoulli_panel(axes[1, 1], run, seeds[0], fit)
    figure.tight_layout()
    run.save_figure(figure, "theory")


def _gram_panel(axis, settings, H, estimate, lambda_0):
    axis.plot(H.ravel(), estimate.ravel(), ".", ms=4)
    axis.plot([H.min(), H.max()], [H.min(), H.max()], "k--", lw=0.8)
    axis.set(xlabel="H∞ closed form", ylabel=f"H∞ Monte Carlo ({settings.monte_carlo_samples:,} samples)",
             title=f"Gram matrix (λ₀ = {lambda_0:.3f})")


def _width_panel(axis, run, settings, width_runs):
    widths = np.array(settings.widths, dtype=float)
    drift = np.array([[t.drift_max[-1] for t in width_runs[m]] for m in settings.widths])
    axis.loglog(np.repeat(widths, drift.shape[1]), drift.ravel(), "o", alpha=0.4, label="seeds")
    axis.loglog(widths, drift.mean(axis=1), "o-", label=f"mean, slope {run.lookup('thm1.width_slope'):.3f}")
    axis.loglog(widths, drift.mean(axis=1)[0] * (widths / widths[0]) ** -0.5, "k--", lw=0.8, label="m^(-1/2)")
    axis.set(xlabel="width m", ylabel="max_j ‖u_j(T) − u_j(0)‖", title="Theorem 1: drift against width")
    axis.legend()


def _theorem2_panel(axis, run, settings, seeds):
    times = seeds[0]["sup"].times
    styles = {"sup": "k-", "projection_0": "b-", "projection_1": "c-", "projection_out": "m-.", "penalty": "r--",
              "frozen": "g:"}
    for name, style in styles.items():
        if name == "sup":
            label = "L_sup (no diffusion)"
        else:
            L = run.lookup(f"thm2.{name}.L") if name.startswith("projection") else None
            regime = "" if L is None else (f", L = {L:.3g}" + ("" if run.lookup(f"thm2.{name}.in_regime")
                                                               else ", outside the regime"))
            label = (f"L_aug, {name}{regime}: median ratio {run.lookup(f'thm2.{name}.drift_ratio.median'):.4f}, "
                     f"{run.lookup(f'thm2.{name}.drift_ratio.fraction_above_1'):.0%} of seeds > 1")
        axis.plot(times, np.median([runs[name].drift_max for runs in seeds], axis=0), style, label=label)
    axis.set(xlabel="flow time t", ylabel="max_j ‖u_j(t) − u_j(0)‖, median over seeds",
             title=f"Theorem 2: drift over time (m = {settings.width_theorem2}, {len(seeds)} seeds)")
    axis.legend(fontsize=7, loc="lower right")


def _bernoulli_panel(axis, run, runs, fit):
    trajectory = runs["penalty"]
    axis.plot(trajectory.times, trajectory.residual, "r-", label="L_aug (GP critic), seed 0")
    axis.plot(runs["sup"].times, runs["sup"].residual, "k-", label="L_sup, seed 0")
    axis.plot(trajectory.times, fit.K + (trajectory.residual[0] - fit.K) * np.exp(-fit.rate * trajectory.times),
              "c--", label=f"eq. 58 fit: K = {fit.K:.2f}, rate {fit.rate:.3f}")
    axis.set(xlabel="flow time t", ylabel="‖z(t) − y‖", yscale="log",
             title=f"Residual and eq. 58: fitted rate = {run.lookup('bernoulli.rate_over_lambda0_half'):.1f} × λ₀/2")
    axis.legend(fontsize=8)


def dependence_figure(run, settings, widths_aug):
    """``dependences.png``: Theorem 1 against n and λ₀, the residual's decay rate against λ₀/2, the width
    sweep under L_aug and Theorem 3's term sizes against m and n."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    axes[0, 0].loglog(settings.sizes, run.lookup("thm1.n_sweep.drift_times_lambda0_median"), "o-",
                      label=f"slope {run.lookup('thm1.n_sweep.exponent'):.2f} (bound: at most 1.5)")
    axes[0, 0].set(xlabel="n", ylabel="median max_j drift at T × λ₀", title="Theorem 1 against n")
    lambdas = np.array(run.lookup("thm1.lambda_sweep.lambda0"))
    axes[0, 1].loglog(lambdas, run.lookup("thm1.lambda_sweep.normalised_drift_median"), "s-",
                      label=f"slope {run.lookup('thm1.lambda_sweep.exponent'):.2f} (bound: at least −1)")
    axes[0, 1].set(xlabel="λ₀ (inputs more nearly parallel to the left)",
                   ylabel="median drift / (2√n‖z(0) − y‖/√m)", title="Theorem 1 against λ₀")
    axes[0, 2].loglog(lambdas, run.lookup("thm1.lambda_sweep.decay_rate_median"), "o-", label="measured late-time rate")
    axes[0, 2].loglog(lambdas, lambdas / 2, "k--", label="λ₀/2 (Remark 3: a lower bound)")
    axes[0, 2].loglog(lambdas, lambdas, "k:", label="λ₀")
    axes[0, 2].set(xlabel="λ₀", ylabel="decay rate of ‖z − y‖", title="Supervised residual: rate against λ₀")
    widths = np.array(settings.widths_aug, dtype=float)
    for name, style in (("projection", "bo-"), ("penalty", "rs--"), ("frozen", "g^:")):
        axes[1, 0].loglog(widths, np.median(widths_aug[name], axis=1), style,
                          label=f"{name}: slope {run.lookup(f'thm2.widths.{name}.exponent'):.3f}")
    axes[1, 0].set(xlabel="width m", ylabel="median max_j ‖u_j(T) − u_j(0)‖", title="Width sweep under L_aug")
    for axis, variable, values in ((axes[1, 1], "m", settings.widths), (axes[1, 2], "n", settings.sizes)):
        for term, style in zip(THEOREM3_TERMS, ("o-", "s--", "^-", "v--"), strict=True):
            axis.loglog(values, run.lookup(f"thm3.{term}.size_in_{variable}"), style,
                        label=f"{term}: slope {run.lookup(f'thm3.{term}.exponent_{variable}'):.2f}")
        axis.set(xlabel=variable, ylabel="mean over j and problems, at initialisation",
                 title=f"Theorem 3 against {variable} (bounds: R ∝ n m^(−1/2), D ∝ n m²)")
    for axis in axes.ravel():
        axis.legend(fontsize=8)
    figure.tight_layout()
    run.save_figure(figure, "dependences")


def stability_figure(run, settings, results):
    """``stability.png``: growth rates of the symmetric and symmetry-breaking blocks against τ for every β
    (a dispersion relation with two 'wavenumbers'), the spectrum at one point, and the Lyapunov exponents."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 4, figsize=(20, 4.6))
    rates, weights = np.array(settings.stability_rates), settings.stability_weights
    threshold = run.lookup("stability.threshold")
    for i, weight in enumerate(weights):
        shift = 1.0 + 0.06 * (i - len(weights) / 2)  # spread the β side by side at each τ
        for axis, block in ((axes[0], "symmetric"), (axes[1], "breaking")):
            values = [getattr(results["spectra"][0, weight, rate], block).real for rate in rates]
            axis.plot(np.repeat(rates * shift, [v.size for v in values]), np.concatenate(values), "o", ms=3,
                      fillstyle="none", color=f"C{i}", label=f"β = {weight:g}")
    for axis, title in ((axes[0], "symmetric block (k = 0), game 0"),
                        (axes[1], f"symmetry-breaking block (k ≠ 0): {run.lookup('stability.turing_points')} "
                                  f"growing of {run.lookup('stability.scan_points')}")):
        axis.axhspan(-threshold, threshold, color="grey", alpha=0.2, lw=0)
        axis.set_yscale("symlog", linthresh=1e-12)
        axis.set(xscale="log", xlabel="critic/generator rate ratio τ", ylim=(-1e3, 1e-1),
                 ylabel="Re λ of every mode (symlog, linear below 1e-12)", title=title)
    axes[0].legend(fontsize=7, loc="lower left")
    weight, rate = max(settings.stability_weights), settings.stability_rates[len(settings.stability_rates) // 2]
    split = results["spectra"][0, weight, rate]
    axes[2].plot(split.symmetric.real, split.symmetric.imag, "bo", fillstyle="none", label="symmetric")
    axes[2].plot(split.breaking.real, split.breaking.imag, "r.", label="symmetry-breaking")
    axes[2].axvline(0, color="grey", lw=0.8)
    axes[2].set(xlabel="Re λ", ylabel="Im λ", title=f"spectrum at the equilibrium of game 0, β = {weight:g}, τ = {rate:g}")
    axes[2].legend(fontsize=8)
    lyapunov = results["lyapunov"]
    axes[3].boxplot([lyapunov["sup"], lyapunov["adv"]])
    axes[3].set_xticks([1, 2], ["β = 0", f"β = {settings.ftle_weight:g}"])
    axes[3].set(ylabel="largest finite-time Lyapunov exponent",
                title=f"from {settings.ftle_seeds} random starts, T = {run.lookup('stability.ftle_time'):g}")
    figure.tight_layout()
    run.save_figure(figure, "stability")


# ============================================================================================= prd-mnist
def _tiles(rows, count=16, side=28):
    """The first ``count`` rows of (k, side²) as one square mosaic image."""
    per_row = int(np.sqrt(count))
    tiles = rows[:count].reshape(per_row, per_row, side, side)
    return tiles.transpose(0, 2, 1, 3).reshape(per_row * side, per_row * side)


def _image_pair(figure, axes, images, titles, cmap="RdBu_r", label=""):
    """Show images side by side on one symmetric colour scale, with one colour bar."""
    limit = max(float(np.abs(image).max()) for image in images) or 1.0
    for axis, image, title in zip(axes, images, titles, strict=True):
        shown = axis.imshow(image, cmap=cmap, vmin=-limit if cmap == "RdBu_r" else 0, vmax=limit)
        axis.set(title=title, xticks=[], yticks=[])
    figure.colorbar(shown, ax=list(axes), shrink=0.8, label=label)


def mnist_figures(run, settings, X, pairs, initial, side):
    _fig1_distance(run, settings, X, pairs)
    (sup, aug), (U0, V0, *_) = pairs[0], initial[0]
    _fig3_filters(run, sup, aug, U0)
    _fig4_features(run, settings, X, sup, aug, U0, side)
    _fig5_symmetry(run, len(pairs), sup, aug, V0)
    _fig6_neuron_drift(run, sup, aug, side)


def _fig1_distance(run, settings, X, pairs):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for (sup, aug) in pairs:
        for axis, name in zip(axes, ("drift_U", "drift_V"), strict=True):
            axis.plot(sup.times, getattr(sup, name), "k-", alpha=0.7)
            axis.plot(aug.times, getattr(aug, name), "r-", alpha=0.7)
    axes[0].set(xlabel="flow time t", ylabel="‖U(t) − U(0)‖_F", title="(a) hidden layer")
    axes[1].set(xlabel="flow time t", ylabel="‖V(t) − V(0)‖_F", title="(b) top layer")
    axes[0].legend(handles=[plt.Line2D([], [], color="k", label="without diffusion (L_sup)"),
                            plt.Line2D([], [], color="r", label="with diffusion (L_aug, GP critic)")])
    figure.suptitle(f"Fig. 1: distance from {len(pairs)} initialisations, MNIST (n = {X.shape[0]}, m = {settings.m})")
    figure.tight_layout()
    run.save_figure(figure, "fig1_distance")


def _fig3_filters(run, sup, aug, U0):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(10, 9.2))
    _image_pair(figure, axes[0], [_tiles(sup.U), _tiles(aug.U)], ["(a) without diffusion", "(b) with diffusion"],
                label="u_j(T)")
    _image_pair(figure, axes[1], [_tiles(sup.U - U0), _tiles(aug.U - U0)],
                ["change without diffusion", "change with diffusion"], label="u_j(T) − u_j(0)")
    figure.suptitle("Fig. 3: 16 hidden filters (28×28) at T (top) and their change from the same initialisation "
                    "(bottom); one colour scale per row")
    run.save_figure(figure, "fig3_filters")


def _fig4_features(run, settings, X, sup, aug, U0, side):
    import matplotlib.pyplot as plt

    x = X[:1]
    features = [np.maximum(x @ U.T, 0.0).reshape(side, side) for U in (U0, sup.U, aug.U)]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    axes[0].imshow(x.reshape(28, 28), cmap="gray")
    axes[0].set(title="Fig. 2: input image", xticks=[], yticks=[])
    _image_pair(figure, axes[1:], [features[1] - features[0], features[2] - features[0]],
                ["(a) without diffusion", "(b) with diffusion"], label="σ(u_j·x) at T minus at 0")
    figure.suptitle(f"Fig. 4: change of the {settings.m} hidden features of one image, neurons in index order "
                    f"on a {side}×{side} grid (the layout is arbitrary)")
    run.save_figure(figure, "fig4_features")


def _fig5_symmetry(run, initialisations, sup, aug, V0):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for trajectory, colour, label in ((sup, "k", "without diffusion"), (aug, "r", "with diffusion")):
        axes[0].hist(trajectory.neuron_drift[-1], bins=30, color=colour, alpha=0.5, label=label)
        axes[1].hist(np.ravel(trajectory.V - V0), bins=40, color=colour, alpha=0.5, label=label)
    axes[0].set(xlabel="‖u_j(T) − u_j(0)‖ per neuron", ylabel="neurons",
                title=f"spread (CV) ×{run.lookup('mnist.neuron_drift_cv_ratio'):.2f} with diffusion, "
                      f"mean of {initialisations} initialisations")
    axes[1].set(xlabel="v_ij(T) − v_ij(0)", ylabel="weights", title="symmetry of the top-layer change")
    axes[0].legend()
    figure.suptitle("Fig. 5: per-neuron drift and top-layer change (MNIST); histograms of initialisation 0 only")
    figure.tight_layout()
    run.save_figure(figure, "fig5_symmetry")


def _fig6_neuron_drift(run, sup, aug, side):
    import matplotlib.pyplot as plt

    picks = np.unique(np.linspace(1, len(sup.times) - 1, 4).astype(int))
    figure, axes = plt.subplots(2, len(picks), figsize=(3.2 * len(picks), 6.4), squeeze=False)
    limit = max(sup.neuron_drift.max(), aug.neuron_drift.max())
    for row, (trajectory, label) in enumerate(((sup, "without"), (aug, "with"))):
        for column, k in enumerate(picks):
            shown = axes[row, column].imshow(trajectory.neuron_drift[k].reshape(side, side), cmap="magma",
                                             vmin=0, vmax=limit)
            axes[row, column].set(title=f"t = {trajectory.times[k]:.1f}", xticks=[], yticks=[])
        axes[row, 0].set_ylabel(f"{label} diffusion")
    figure.colorbar(shown, ax=axes, shrink=0.8, label="‖u_j(t) − u_j(0)‖")
    figure.suptitle(f"Fig. 6: per-neuron drift over time (MNIST, initialisation 0), neurons in index order on a "
                    f"{side}×{side} grid; the layout is arbitrary, so the image shows no spatial pattern")
    run.save_figure(figure, "fig6_pattern")


def _pca_2d(points):
    """Coordinates of the rows of ``points`` on their first two principal axes."""
    centred = points - points.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return centred @ axes[:2].T


def synthetic_figures(run, synthetic, side):
    import matplotlib.pyplot as plt

    sup, aug, U0, V0 = synthetic
    limit = max(np.abs(sup.U - U0).max(), np.abs(aug.U - U0).max())
    for number, trajectory, label in ((7, sup, "without"), (8, aug, "with")):
        figure, axes = plt.subplots(1, 3, figsize=(14, 4.4))
        shown = axes[0].imshow(_tiles(trajectory.U - U0), cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes[0].set(title="16 filters u_j(T) − u_j(0)", xticks=[], yticks=[])
        figure.colorbar(shown, ax=axes[0], shrink=0.8)
        drift = trajectory.neuron_drift[-1]
        for axis, points, name in ((axes[1], trajectory.U - U0, "rows u_j(T) − u_j(0)"),
                                   (axes[2], (trajectory.V - V0).T, "columns v_j(T) − v_j(0)")):
            coordinates = _pca_2d(points)
            scatter = axis.scatter(coordinates[:, 0], coordinates[:, 1], c=drift, s=10, cmap="viridis")
            axis.set(title=f"PCA of the {name}", xlabel="PC 1", ylabel="PC 2")
        figure.colorbar(scatter, ax=axes[2], shrink=0.8, label="‖u_j(T) − u_j(0)‖")
        figure.suptitle(f"Fig. {number}: synthetic data, d_in = 784, {label} diffusion; spread (CV) of the "
                        f"per-neuron drift aug/sup = {run.lookup('synthetic.neuron_drift_cv_ratio'):.2f}")
        figure.tight_layout()
        run.save_figure(figure, f"fig{number}_synthetic_{label}_diffusion")
