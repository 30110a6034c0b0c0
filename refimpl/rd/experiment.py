"""Experiments ``rd-gallery`` (Gray-Scott presets) and ``rd-turing`` (a Turing pattern beside its theory):
settings, claims and the registered functions. Measurements on simulations live in :mod:`refimpl.rd.measure`,
closed forms in :mod:`refimpl.rd.theory`."""

import time
from dataclasses import dataclass

import numpy as np

from refimpl.core import backend as backends
from refimpl.experiments import Claim, register_experiment
from refimpl.rd import theory
from refimpl.rd.kernels import simulate
from refimpl.rd.measure import perturbation_growth_rate
from refimpl.rd.model import (GRAY_SCOTT_PRESETS, brusselator, gray_scott_preset, noisy_steady_state,
                              pearson_seed, schnakenberg)


@dataclass(frozen=True)
class GallerySettings:
    presets: tuple = tuple(GRAY_SCOTT_PRESETS)
    size: int = 256
    steps: int = 10000
    dt: float = 1.0
    boundary: str = "periodic"
    seed_square: float = 0.1  # side of the seeded square, fraction of the grid
    seed_values: tuple = (0.0, 0.9)  # (u, v) in the square: a strong seed (Pearson used (0.5, 0.25))
    # stability of (1, 0), measured: noise of decay_amplitude on a decay_size² grid, the rate of decay over
    # decay_steps after a transient of decay_steps. On 8², every mode but the mean of u decays faster by
    # D_u μ_min ≥ 0.12 per step, gone after 100 steps; over 200 steps the field stays far above rounding.
    decay_size: int = 8
    decay_amplitude: float = 1e-3
    decay_steps: int = 100


@register_experiment("rd-gallery", quick=GallerySettings(size=128, steps=4000), full=GallerySettings(),
                     claims=[Claim("gallery.max_trivial_state_measured_rate",
                                   "the patterns \"arise in response to finite-amplitude perturbations\": the "
                                   "trivial state (u, v) = (1, 0) is stable, so a small perturbation of it decays "
                                   "(largest measured rate over the presets, 1/time)",
                                   source="Pearson 1993, \"Complex patterns in a simple system\", Science 261, "
                                          "abstract", expected=(-np.inf, 0.0)),
                             Claim("gallery.max_trivial_state_theory_rate",
                                   "the state without reaction, (1, 0), is linearly stable: its eigenvalues are "
                                   "-F and -(F + k); with diffusion, max Re λ of J - μD over the lattice modes "
                                   "is -F, at μ = 0 (closed form, largest over the presets)",
                                   source="Gray & Scott 1984, \"Autocatalytic reactions in the isothermal, "
                                          "continuous stirred tank reactor\", Chem. Eng. Sci. 39, linear stability "
                                          "of the no-reaction state", expected=(-np.inf, 0.0))])
def rd_gallery(run, settings):
    """Gray-Scott presets (pmneila/jsexp, Karl Sims) grown from one seeded square, as a labelled grid of v.

    A preset counts as patterned when the area where v > 0.1 ends at least twice the seeded area.
    """
    import matplotlib.pyplot as plt

    columns = min(5, len(settings.presets))
    rows = -(-len(settings.presets) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.6 * rows), squeeze=False)
    measured, predicted = [], []
    for axis, name in zip(axes.flat, run.progress(settings.presets, desc="rd-gallery")):
        model = gray_scott_preset(name)
        u, v = pearson_seed(run.rng, (settings.size, settings.size), square=settings.seed_square, noise=0.02,
                            values=settings.seed_values)
        seeded = float(np.mean(v > 0.1))
        start = time.perf_counter()
        u, v = simulate(model, u, v, dt=settings.dt, steps=settings.steps, boundary=settings.boundary)
        run.record_timing(f"gallery.{name}", time.perf_counter() - start)
        measured.append(_trivial_state_rate(run, model, settings))
        mu = theory.lattice_wavenumbers_squared((settings.decay_size,) * 2)
        predicted.append(theory.dispersion_relation(theory.jacobian(model), model.D_u, model.D_v, mu).max())
        run.record(f"gallery.{name}.v_std", float(v.std()))
        run.record(f"gallery.{name}.seeded_fraction", seeded)
        run.record(f"gallery.{name}.covered_fraction", float(np.mean(v > 0.1)))
        run.record(f"gallery.{name}.trivial_state_measured_rate", measured[-1])
        run.record(f"gallery.{name}.trivial_state_theory_rate", predicted[-1])
        run.record(f"gallery.{name}.trivial_state_theory_euler_rate",
                   float(theory.euler_growth_rate(predicted[-1], settings.dt)))
        F, k = GRAY_SCOTT_PRESETS[name]
        axis.imshow(v, cmap="magma", vmin=0, vmax=0.5, interpolation="nearest")
        axis.set_title(f"{name}\nF={F:g}, k={k:g}", fontsize=8)
    for index, axis in enumerate(axes.flat):
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_visible(index < len(settings.presets))
    figure.suptitle(f"Gray-Scott, v after {settings.steps} steps (dt = {settings.dt:g}, "
                    f"{settings.size}² cells, D_u = {model.D_u:g}, D_v = {model.D_v:g})", fontsize=9)
    run.save_figure(figure, "gallery")
    run.record("gallery.max_trivial_state_measured_rate", max(measured))
    run.record("gallery.max_trivial_state_theory_rate", max(predicted))
    run.record("gallery.patterned", [n for n in settings.presets if run.lookup(f"gallery.{n}.covered_fraction")
                                     >= 2 * run.lookup(f"gallery.{n}.seeded_fraction")])


def _trivial_state_rate(run, model, settings):
    """Noise of ``decay_amplitude`` on the steady state (1, 0), measured after a transient."""
    u, v = noisy_steady_state(run.rng, model, (settings.decay_size,) * 2, settings.decay_amplitude)
    u, v = simulate(model, u, v, dt=settings.dt, steps=settings.decay_steps, boundary="periodic")
    return perturbation_growth_rate(model, u, v, dt=settings.dt, steps=settings.decay_steps)


@dataclass(frozen=True)
class TuringSettings:
    model: str = "brusselator"  # or "schnakenberg"
    a: float = 3.0
    b: float = 9.0
    D_u: float = 1.0
    D_v: float = 10.0
    size: int = 256
    h: float = 0.5
    dt: float = 0.005
    steps: int = 4000
    noise: float = 1e-3
    growth_size: int = 64  # mode-growth check: grid, spacing 1, dt, steps and the (p, q) modes
    growth_dt: float = 0.01
    growth_steps: int = 400
    growth_modes: tuple = ((0, 1), (1, 1), (2, 0), (0, 4), (6, 0), (8, 8), (12, 0), (20, 0), (24, 28), (32, 20))
    backend_size: int = 32  # the twins compared: same noisy start, this grid, this many steps
    backend_steps: int = 200
    animation: bool = False  # write pattern.gif (matplotlib + Pillow)
    frames: int = 40


@register_experiment("rd-turing", quick=TuringSettings(size=128, steps=2000), full=TuringSettings(),
                     claims=[Claim("turing.mode_growth_max_rel_error",
                                   "near the homogeneous state each Fourier mode grows or decays exponentially at "
                                   "its eigenvalue λ(k²) of J - k²D; on the 5-point lattice with explicit Euler the "
                                   "rate is ln|1 + Δt λ(μ)|/Δt (largest relative error of the measured rates)",
                                   source="Turing 1952, \"The chemical basis of morphogenesis\", Phil. Trans. R. "
                                          "Soc. B 237, linear analysis of the waves; lattice symbol μ and Euler "
                                          "factor exact for the scheme", expected=(0.0, 1e-3)),
                             Claim("turing.measured_in_band",
                                   "a stationary pattern grows out of small random disturbances of the "
                                   "homogeneous state at a wavelength inside the band of unstable wavenumbers "
                                   "(1 if the measured wavenumber lies in the band)",
                                   source="Turing 1952, \"The chemical basis of morphogenesis\", Phil. Trans. R. "
                                          "Soc. B 237", expected=(1, 1)),
                             Claim("turing.measured_over_predicted_wavelength",
                                   "the wavelength that appears is that of the fastest-growing mode (measured "
                                   "FFT peak / predicted; the peak is resolved to one shell, 2π/(N h))",
                                   source="Turing 1952, \"The chemical basis of morphogenesis\", Phil. Trans. R. "
                                          "Soc. B 237", expected=(0.8, 1.25)),
                             Claim("backends.max_abs_diff",
                                   "the NumPy reference, the numba and the CUDA twins compute the same Euler "
                                   "steps (largest difference after the compared steps)",
                                   source="this implementation: refimpl.rd.model.euler_step is the definition",
                                   expected=(0.0, 1e-10))])
def rd_turing(run, settings):
    """A Turing pattern from noise beside its dispersion relation; mode growth and the twins measured."""
    model = _turing_model(settings)
    J = theory.jacobian(model)
    band = theory.unstable_band(J, model.D_u, model.D_v)
    if band is None:
        raise ValueError(f"{model.label} is not Turing-unstable: {theory.turing_conditions(J, model.D_u, model.D_v)}")
    k_fastest = theory.fastest_growing_wavenumber(J, model.D_u, model.D_v)
    run.record("turing.conditions", theory.turing_conditions(J, model.D_u, model.D_v)._asdict())
    run.record("turing.band_wavelengths", [2 * np.pi / np.sqrt(band[1]), 2 * np.pi / np.sqrt(band[0])])
    run.record("turing.critical_wavelength", 2 * np.pi / theory.critical_wavenumber(J, model.D_u, model.D_v))
    run.record("turing.critical_diffusion_ratio", theory.critical_diffusion_ratio(J))
    run.record("turing.predicted_wavelength", 2 * np.pi / k_fastest)

    modes = _mode_growth(run, model, settings)
    start = time.perf_counter()
    u, v, frames = _pattern(run, model, settings)
    run.record_timing("turing.pattern", time.perf_counter() - start)
    k_measured = theory.dominant_wavenumber(u, settings.h)
    run.record("turing.measured_wavelength", 2 * np.pi / k_measured)
    run.record("turing.measured_in_band", int(band[0] < k_measured**2 < band[1]))
    run.record("turing.measured_over_predicted_wavelength", k_fastest / k_measured)
    _compare_backends(run, model, settings)
    _plot(run, model, settings, u, band, k_fastest, k_measured, modes)
    if settings.animation:
        _animate(run, frames, settings)


def _turing_model(settings):
    if settings.model == "brusselator":
        return brusselator(settings.a, settings.b, settings.D_u, settings.D_v)
    if settings.model == "schnakenberg":
        return schnakenberg(settings.a, settings.b, settings.D_u, settings.D_v)
    raise ValueError(f"model must be 'brusselator' or 'schnakenberg'; got {settings.model!r}")


def _mode_growth(run, model, settings):
    """Seed each mode at amplitude 1e-8 along its leading eigenvector; measured vs predicted Euler rate."""
    shape, dt, steps = (settings.growth_size,) * 2, settings.growth_dt, settings.growth_steps
    table = {"p": [], "q": [], "mu": [], "predicted_rate": [], "measured_rate": []}
    for mode in settings.growth_modes:
        u, v, rate = theory.seeded_mode(model, shape, mode, amplitude=1e-8)
        start = theory.mode_coefficient(model, u, v, mode)
        u, v = simulate(model, u, v, dt=dt, steps=steps)
        measured = np.log(abs(theory.mode_coefficient(model, u, v, mode) / start)) / (steps * dt)
        for key, value in zip(table, (*mode, theory.lattice_wavenumbers_squared(shape)[mode],
                                      theory.euler_growth_rate(rate, dt), measured)):
            table[key].append(float(value))
    predicted, measured = np.array(table["predicted_rate"]), np.array(table["measured_rate"])
    run.write_metrics(table, "mode_growth.csv")
    run.record("turing.mode_growth_max_rel_error", np.max(np.abs(measured - predicted) / np.abs(predicted)))
    run.record("turing.modes_growing", int(np.sum(predicted > 0)))
    run.record("turing.modes_decaying", int(np.sum(predicted < 0)))
    return table


def _pattern(run, model, settings):
    """From the steady state plus noise; returns the final u, v and frames of u for the animation."""
    u, v = noisy_steady_state(run.rng, model, (settings.size,) * 2, settings.noise)
    chunks = max(1, settings.frames if settings.animation else 20)
    frames, done = [u], 0
    for chunk in run.progress(range(chunks), desc="rd-turing"):
        steps = (chunk + 1) * settings.steps // chunks - done
        u, v = simulate(model, u, v, dt=settings.dt, steps=steps, h=settings.h)  # raises on a blow-up
        done += steps
        frames.append(u)
    run.record("turing.pattern_amplitude", float(u.std()))
    return u, v, frames


def _compare_backends(run, model, settings):
    """The same start advanced by every available twin; the largest difference to the NumPy reference."""
    u, v = noisy_steady_state(run.rng, model, (settings.backend_size,) * 2, 0.1)
    results = {}
    for name in ("numpy", "numba", "cuda"):
        if name == "cuda" and not backends.cuda_available():
            continue
        results[name] = simulate(model, u, v, dt=settings.dt, steps=settings.backend_steps, h=settings.h,
                                 backend=name)
    difference = {name: max(float(np.abs(a - b).max()) for a, b in zip(fields, results["numpy"]))
                  for name, fields in results.items() if name != "numpy"}
    run.record("backends.compared", sorted(results))
    run.record("backends.max_abs_diff", max(difference.values()))
    run.record("backends.max_abs_diff_by_backend", difference)


def _plot(run, model, settings, u, band, k_fastest, k_measured, modes):
    import matplotlib.pyplot as plt

    J = theory.jacobian(model)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    extent = settings.size * settings.h
    image = left.imshow(u, cmap="viridis", extent=(0, extent, 0, extent), origin="lower")
    figure.colorbar(image, ax=left, label="u")
    left.set(title=f"{model.label}\nu after t = {settings.steps * settings.dt:g}", xlabel="x", ylabel="y")
    k = np.linspace(0, 1.3 * np.sqrt(band[1]), 600)
    right.plot(k, theory.dispersion_relation(J, model.D_u, model.D_v, k**2), label=r"max Re $\lambda(k)$")
    right.axvspan(np.sqrt(band[0]), np.sqrt(band[1]), color="tab:orange", alpha=0.15, label="unstable band")
    right.axhline(0, color="black", lw=0.8)
    right.plot(np.sqrt(modes["mu"]), modes["measured_rate"], "o", mfc="none",
               label=r"measured single modes ($k = \sqrt{\mu_{pq}}$, Euler)")
    right.axvline(k_fastest, ls="--", color="tab:green",
                  label=f"fastest growing, wavelength {2 * np.pi / k_fastest:.3g}")
    right.axvline(k_measured, ls=":", color="tab:red",
                  label=f"pattern FFT peak, wavelength {2 * np.pi / k_measured:.3g}")
    right.set(xlabel="wavenumber k", ylabel="growth rate (1/time)", title="dispersion relation")
    right.legend(fontsize=8)
    run.save_figure(figure, "turing")


def _animate(run, frames, settings):
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    figure, axis = plt.subplots(figsize=(4, 4))
    image = axis.imshow(frames[-1], cmap="viridis", animated=True)
    axis.set_axis_off()

    def show(index):
        image.set_data(frames[index])
        image.set_clim(frames[index].min(), frames[index].max())
        return (image,)

    FuncAnimation(figure, show, frames=len(frames), blit=True).save(run.folder / "pattern.gif",
                                                                    writer=PillowWriter(fps=10))
    plt.close(figure)
