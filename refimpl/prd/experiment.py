r"""Experiments of seed 000 (Rout, AAAI-21): the theorems measured, and the paper's figures regenerated.

``prd-theory`` — the theorems' setting: d_out = 1, top layer v frozen at ±1, n = 16 random unit inputs
in d_in = 10, targets y_p ~ N(0, 1).

- **H∞** (Definition 1) in closed form against Monte Carlo; λ₀ = λ_min(H∞).
- **Theorem 1**: max_j ‖u_j(T) − u_j(0)‖ under L_sup for widths m = 64 … 4096 (several seeds each); the
  log-log slope against m (the theorem: −½) and every run's drift at T against the bound eq. 13 (recorded
  for the run that comes closest to it).
- **Theorem 2**: the same flow under L_aug with a critic trained by ascent, for three critics: the projected
  critic ‖W‖_F ≤ L (the theorem's assumption; its numbers carry the unsuffixed ``thm2.*`` keys), the WGAN-GP
  critic (the paper's practice, ``*_penalty``; it never fits the data: its final residual stays O(1)) and a
  frozen critic (``*_frozen``); the drift ratio aug/sup at T, the slope and R² of a line through the second
  half of the extra drift (the bound's diffusion term is linear in t), and the drift against the explicit
  bound eq. 43 at every checkpoint (recorded where it comes closest).
- **Bernoulli model** eq. 58 fitted to the residual ‖z(t) − y‖ of one GP run; its rate against λ₀/2.
- **PRD split** eqs. 52-55 at the end of that run: max |R + D + ∇L_aug| and the sizes of R and D.
- **Beyond the paper: the spectrum** of the linearised flow (central differences of the hand-derived
  field) of a smaller problem with a trainable top layer, at the SAME times along a supervised and a
  descent-ascent trajectory from one initialisation: without diffusion (−∇²L_sup), with diffusion (the
  game of generator and GP critic) and, at the game's state, with the critic frozen (−∇²L_aug). Beside
  each we record the generator's speed ‖(U̇, V̇)‖ (how far the state is from a stationary point) and, as
  the one equilibrium with diffusion we can reach, L_aug with a frozen critic run on until ‖(U̇, V̇)‖ ≈ 0.
  Away from a minimum both flows have growing modes (the Hessians are indefinite there), so a growing mode
  of the game says something about stability only where the generator's speed is ≈ 0; and the critic's own
  contribution is the game's largest generator-mode real part minus the frozen-critic one at the same
  state. Whether the frozen-critic run reached a stationary point is recorded beside its spectrum (its
  speed, and the nearest ReLU kink).

The claims below state what the paper says; REPORT.md puts each beside the measured number and computes
the verdict from it (an upper bound of the paper is scored one-sidedly: measured ≤ bound, by how much).

``prd-mnist`` — the paper's figures on data: n unit-normalised digits of the bundled MNIST subset with
one-hot targets (d_out = 10), and a synthetic set with d_in = 784 (Figs. 7-8). Fig. 1 (distance from
several initialisations, hidden and top layer, with and without diffusion), Fig. 3 (hidden filters as
28×28 tiles), Fig. 4 (features of one input image, Fig. 2), Fig. 5 (breakdown of symmetry and
homogeneity: distributions of the per-neuron drift and of the weight changes), Fig. 6 (the per-neuron
drift over time, neurons laid out in index order on a √m × √m grid: the arrangement is arbitrary, neurons
have no spatial neighbours, so no "pattern" can be read from it), Figs. 7-8 (synthetic data without and
with diffusion: filters and a 2-D PCA of the rows u_j and columns v_j, as on the paper's teaser slide).
Homogeneity is measured as the spread (coefficient of variation) of the per-neuron drift, with/without
diffusion, on MNIST and on the synthetic data.

Layout: this module holds the settings, the claims and the two registered functions;
:mod:`refimpl.prd.measure` trains and records, :mod:`refimpl.prd.figures` draws.

Settings are ours (the paper publishes none but "iteration = 23000" on a teaser slide), chosen so:

- **Initialisation, unit inputs, ReLU, scalings**: as in Theorems 1-2 (u_j, w_r ~ N(0, I); v_j, a_r ±1).
- **Step**: explicit Euler with dt = c/λ_max(H∞) (c = 0.5 for the theorems, 1 for MNIST with d_out = 10,
  where the top layer adds little to the kernel): below the gradient-descent stability limit 2/λ_max of the
  linearised flow, so the iteration follows the gradient flow the theorems are about.
- **Horizon**: T = 10/λ₀ for Theorem 1 (e^{−λ₀T/2} < 1 %: converged by the theorem's own rate), 3T for
  Theorem 2 (to see linear growth if it is there). MNIST: a fixed number of steps (λ₀ ≈ 0.06 for 100
  digits; the supervised residual is still falling at the end, as in any finite run).
- **Critic**: real samples are the targets y_p (the data pairs suggest it; the paper does not say);
  critic width m_c = m (the paper); one critic step per generator step, simultaneous (both players see the
  same state, so Euler integrates the descent-ascent flow); WGAN-GP weight λ = 10 (Gulrajani et al.'s
  default); the critic's ascent step is 0.25·dt ≈ 0.1 in the theory runs (at 1·dt ≈ 0.4 the penalised
  critic diverged within 10 steps; λ·step ≈ 1 is stable) and 0.05 on MNIST (λ·step = 0.5); projection bound
  L = 1 for the theorem's variant (the theorem asks for a small L).
- **Spectrum**: m = 24 (the Jacobian is dense: (m·d_in + m + 2m)² entries), top layer trainable, dt/2,
  evaluated at the same log-spaced times up to T (2·steps at dt/2) along one trajectory per flow; the
  frozen-critic L_aug run goes on to 4T.
- **Sizes**: full runs use widths up to 4096, 5 and 100 seeds, 10⁶ Monte Carlo samples, 500 digits,
  m = 256 and 2000 steps; the quick settings are smaller (see the registrations below).
- **Synthetic d_in = 784 data** (Figs. 7-8, :func:`refimpl.data.bump_images`): each input is a sum of three
  Gaussian bumps (σ = 2.5 px) at random places on the 28×28 grid, targets the standardised outputs of a random teacher network of the
  same form (16 neurons, d_out = 10): smooth inputs make the filters readable as images, which white-noise
  inputs would not, and a teacher makes the targets a function the generator can represent.

Backends: ``prd-theory`` trains with the numba twins, ``prd-mnist`` with the NumPy twins (``MnistSettings.backend``);
both twins keep the matrix products in NumPy's BLAS, so they differ only in the element-wise passes.
``refimpl bench prd`` measures which is faster where, and the training loop itself. On a busy machine, set ``OPENBLAS_NUM_THREADS=1``:
a multithreaded BLAS competing for oversubscribed cores slows the MNIST steps down many times.
"""

import time
from dataclasses import dataclass

import numpy as np

from refimpl.experiments import Claim, register_experiment
from refimpl.prd import figures, measure

PAPER = "Rout 2020 (NeurIPS ML4PS workshop paper)"
POSTER = "Rout, AAAI-21 poster"


# ============================================================================================ prd-theory
@dataclass(frozen=True)
class TheorySettings:
    n: int = 16
    d_in: int = 10
    widths: tuple = (64, 128, 256, 512, 1024, 2048, 4096)
    seeds_per_width: int = 5
    width_theorem2: int = 256
    seeds_theorem2: int = 100
    step_factor: float = 0.5  # dt = step_factor / λ_max(H∞)
    horizon: float = 10.0  # T = horizon / λ₀
    horizon_theorem2: float = 3.0  # Theorem 2 runs to horizon_theorem2 · T
    critic_rate: float = 0.25  # critic step = critic_rate · dt ≈ 0.1: λ_GP · step ≈ 1 keeps the penalty stable
    penalty: float = 10.0
    bound: float = 1.0
    monte_carlo_samples: int = 1_000_000
    spectrum_width: int = 24
    spectrum_points: int = 6
    checkpoints: int = 60


THEORY_CLAIMS = [
    Claim("thm1.width_slope", "‖u_j(t) − u_j(0)‖ ≤ O(n^{3/2}/(√m λ₀ δ)): the drift falls as m^{−1/2} "
          "(measured: log-log slope of max_j drift at T against m)", source=f"{PAPER}, Theorem 1 (eq. 15)",
          expected=(-0.65, -0.35)),
    Claim("thm1.drift_max_at_tightest_eq13", "‖u_j(t) − u_j(0)‖ ≤ 2√n ‖z(0) − y‖ (1 − e^{−λ₀t/2}) / (√m λ₀) "
          "(measured: max_j drift at T of the run, over all widths and seeds, that comes closest to its bound)",
          source=f"{PAPER}, proof of Theorem 1, eq. 13", at_most="thm1.bound_eq13_at_tightest"),
    Claim("thm2.drift_ratio_aug_over_sup",
          "with diffusion the generator moves farther from its initialisation than without "
          "(measured: mean over seeds of max_j drift aug/sup at T, projected critic ‖W‖_F ≤ L)",
          source=f"{PAPER}, Theorem 2 and Sec. 4", expected=(1.0, np.inf)),
    Claim("thm2.drift_ratio_aug_over_sup_penalty",
          "the same with the gradient-penalty critic the paper relies on in practice "
          "(measured: as above, WGAN-GP critic; its fit: thm2.final_residual_penalty)",
          source=f"{PAPER}, Sec. 3.2 and Theorem 2", expected=(1.0, np.inf)),
    Claim("thm2.drift_max_at_tightest_eq43",
          "‖u_j(t) − u_j(0)‖ ≤ 2√n(‖z(0) − y‖ − κμ)(1 − e^{−λ₀t/2})/(√m λ₀) + μ(1 + κ√n) t/√m "
          "(measured: projected critic, L = 1, δ = 0.1, at the seed and checkpoint t > 0 closest to the bound)",
          source=f"{PAPER}, proof of Theorem 2, eq. 43", at_most="thm2.bound_eq43_at_tightest"),
    Claim("thm2.extra_drift_linear_r2",
          "the bound's diffusion term μ(1 + κ√n) t/√m grows linearly in t "
          "(measured: R² of a line through the second half of the mean extra drift aug − sup, projected critic; "
          "a term of an upper bound, so no range is stated)",
          source=f"{PAPER}, Theorem 2 (eqs. 43-44)"),
    Claim("bernoulli.rate_over_lambda0_half",
          "‖z(t) − y‖ ≤ (‖z(0) − y‖ − κμ) e^{−λ₀t/2} + κμ: the residual decays at rate at least λ₀/2 "
          "(measured: rate of the eq. 58 solution fitted to one gradient-penalty run, divided by λ₀/2)",
          source=f"{PAPER}, eqs. 33-35 and eq. 58", at_least=1.0),
    Claim("split.max_abs_error", "du_j/dt = R_j + D_j and dv_j/dt = R_j + D_j exactly "
          "(measured: max |R + D + ∇L_aug| at the end of one run)", source=f"{PAPER}, eqs. 52-55",
          expected=(0.0, 1e-10)),
    Claim("spectrum.max_real_sup",
          "under sole supervision the system of neurons is in a stable homogeneous condition: no growing mode "
          "(measured: max Re λ of −∇²L_sup at the last matched time; speed there: spectrum.field_norm_sup)",
          source=f"{PAPER}, Abstract and Sec. 4", expected=(-np.inf, 1e-6)),
    Claim("spectrum.max_real_aug",
          "adversarial interaction induces a Turing instability: a growing mode "
          "(measured: max Re λ of the descent-ascent game at the same time; speed there: "
          "spectrum.field_norm_aug; where the leading mode lives: spectrum.leading_mode_share_*_aug)",
          source=f"{PAPER}, Abstract and Sec. 1", expected=(1e-6, np.inf)),
    Claim("spectrum.critic_contribution",
          "the instability is created by the adversary "
          "(measured: max over the matched times of the game's largest generator-mode Re λ minus that of the "
          "same state with the critic frozen, −∇²L_aug; critic-borne modes: spectrum.max_real_critic_modes_aug)",
          source=f"{PAPER}, Abstract and Sec. 1", expected=(1e-3, np.inf)),
    Claim("spectrum.stationary_max_real_aug_frozen",
          "the adversary creates a non-homogeneous equilibrium by a Turing instability: a growing mode at "
          "equilibrium (measured: L_aug with the critic frozen, run for 4T; recorded only when it reached a "
          "stationary point, spectrum.stationary_reached)",
          source=f"{PAPER}, Sec. 1", expected=(1e-6, np.inf)),
]


@register_experiment("prd-theory", quick=TheorySettings(widths=(64, 128, 256, 512, 1024, 2048), seeds_per_width=3,
                                                         seeds_theorem2=30, monte_carlo_samples=200_000,
                                                         spectrum_points=4, checkpoints=40),
                     full=TheorySettings(), claims=THEORY_CLAIMS)
def prd_theory(run, settings):
    """PRD theory measured: H∞ and λ₀, Theorem 1 width scaling, Theorem 2 drift and bound, Bernoulli fit, PRD split, Jacobian spectrum."""
    X, Y = measure.theory_problem(run.rng, settings)
    H, estimate = measure.gram(run, settings, X)
    lambda_0, lambda_max = run.lookup("gram.lambda0"), run.lookup("gram.lambda_max")
    dt = settings.step_factor / lambda_max
    steps = int(np.ceil(settings.horizon / lambda_0 / dt))
    run.record("setup.dt", dt)
    run.record("setup.t_end", steps * dt)
    start = time.perf_counter()
    width_runs = measure.theorem1(run, settings, X, Y, dt, steps, lambda_0)
    run.record_timing("theorem1", time.perf_counter() - start)
    start = time.perf_counter()
    seeds, problem = measure.theorem2(run, settings, X, Y, dt, steps, lambda_0, lambda_max)
    run.record_timing("theorem2", time.perf_counter() - start)
    fit = measure.bernoulli_fit(run, seeds[0]["penalty"], lambda_0)
    measure.prd_split_terms(run, X, Y, seeds[0]["penalty"], problem)
    start = time.perf_counter()
    spectra = measure.jacobian_spectra(run, settings, X, Y, dt, steps)
    run.record_timing("spectrum", time.perf_counter() - start)
    figures.theory_figure(run, settings, H, estimate, width_runs, seeds, fit, lambda_0)
    figures.spectrum_figure(run, spectra)
    run.write_metrics({"t": seeds[0]["sup"].times,
                       **{f"drift_max_{name}": np.mean([runs[name].drift_max for runs in seeds], axis=0)
                          for name in ("sup", *measure.THEOREM2_CRITICS)},
                       "residual_sup": seeds[0]["sup"].residual, "residual_aug_penalty": seeds[0]["penalty"].residual})


# ============================================================================================= prd-mnist
@dataclass(frozen=True)
class MnistSettings:
    n: int = 500  # digits (n/10 of each class)
    m: int = 256  # hidden neurons, shown as a √m × √m grid (must be a square)
    initialisations: int = 5
    steps: int = 2000
    step_factor: float = 1.0  # dt = step_factor / λ_max(H∞)
    critic_step: float = 0.05  # the critic's ascent step (absolute; λ_GP · step = 0.5)
    penalty: float = 10.0
    synthetic_n: int = 300
    synthetic_d_out: int = 10
    bumps: int = 3
    bump_width: float = 2.5
    checkpoints: int = 60
    backend: str = "numpy"  # the gradient kernels' twin; see the module docstring for why NumPy here


MNIST_CLAIMS = [
    Claim("mnist.drift_ratio_U", "the hidden layer moves farther from its initialisations with diffusion "
          "(measured: ‖U(T) − U(0)‖_F aug/sup, mean over initialisations)", source=f"{POSTER}, Fig. 1(a)",
          expected=(1.0, np.inf)),
    Claim("mnist.drift_ratio_V", "the top layer moves farther from its initialisations with diffusion "
          "(measured: ‖V(T) − V(0)‖_F aug/sup)", source=f"{POSTER}, Fig. 1(b)", expected=(1.0, np.inf)),
    Claim("mnist.neuron_drift_cv_ratio", "diffusion breaks the homogeneity of the hidden layer (measured: "
          "coefficient of variation of the per-neuron drift ‖u_j(T) − u_j(0)‖, aug/sup, mean over initialisations)",
          source=f"{POSTER}, Figs. 5-6; {PAPER}, Theorem 2", expected=(1.0, np.inf)),
    Claim("synthetic.neuron_drift_cv_ratio", "diffusion breaks homogeneity on synthetic d_in = 784 data "
          "(measured: the same spread ratio, one initialisation)", source=f"{POSTER}, Figs. 7-8",
          expected=(1.0, np.inf)),
]


@register_experiment("prd-mnist", quick=MnistSettings(n=100, m=144, initialisations=3, steps=600, synthetic_n=100,
                                                       checkpoints=30),
                     full=MnistSettings(), claims=MNIST_CLAIMS)
def prd_mnist(run, settings):
    """PRD on MNIST and synthetic d_in = 784 data: Figs. 1, 3, 4, 5, 6, 7-8 without and with diffusion."""
    side = int(round(np.sqrt(settings.m)))
    if side * side != settings.m:
        raise ValueError(f"m must be a square (neurons are shown on a √m × √m grid); got m = {settings.m}")
    X, Y = measure.mnist_problem(run, settings)
    dt = measure.mnist_step(settings, X)
    run.record("setup.dt", dt)
    run.record("setup.t_end", dt * settings.steps)
    start = time.perf_counter()
    pairs, initial = measure.mnist_pairs(run, settings, X, Y, dt)
    run.record_timing("mnist", time.perf_counter() - start)
    start = time.perf_counter()
    synthetic = measure.synthetic_pair(run, settings)
    run.record_timing("synthetic", time.perf_counter() - start)
    measure.record_pairs(run, "mnist", pairs, initial)
    kinds = ("sup", "aug")
    run.write_metrics({"t": pairs[0][0].times,
                       **{f"drift_U_{kind}_{i}": p[k].drift_U for i, p in enumerate(pairs) for k, kind in enumerate(kinds)},
                       **{f"drift_V_{kind}_{i}": p[k].drift_V for i, p in enumerate(pairs) for k, kind in enumerate(kinds)}})
    figures.mnist_figures(run, settings, X, pairs, initial, side)
    figures.synthetic_figures(run, synthetic, side)
