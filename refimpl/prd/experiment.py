r"""Experiments of seed 000 (Rout, AAAI-21): the theorems measured, and the paper's figures regenerated.

``prd-theory`` — the theorems' setting: d_out = 1, top layer v frozen at ±1, n = 16 random unit inputs
in d_in = 10, targets y_p ~ N(0, 1).

- **H∞** (Definition 1) in closed form against Monte Carlo; λ₀ = λ_min(H∞).
- **Theorem 1**: max_j ‖u_j(T) − u_j(0)‖ under L_sup for widths m = 64 … 4096 (several seeds each): the
  log-log slope against m (the theorem: −½) and every run against the bound eq. 13. Its other dependences:
  n (random problems of n = 8 … 64; the drift times λ₀ against n, the theorem's n^{3/2} an upper bound) and
  λ₀ (one draw of inputs made more nearly parallel, so λ₀ falls; the drift over its eq. 13 prefactor
  against λ₀, the theorem's 1/λ₀ an upper bound), and the late-time decay rate of the supervised residual
  against λ₀/2 (Remark 3: rate ≥ λ₀/2).
- **Theorem 2 inside its regime**: κ = λ₁/λ₀ (eq. 34, Lemma 4) and μ = Ln√(2 log(2/δ))/√m (eq. 32) are
  computed from the run's λ₀, λ_max, n, m at δ = 0.1; the hitting-time condition κμ < ε < ‖z(0) − y‖
  (below eq. 45), with ε = ½ min over seeds of ‖z(0) − y‖, gives the largest admissible bound L_ε
  (κμ = ε), and the projected critics use L = 0.8 L_ε and 0.2 L_ε (``projection_0``, ``projection_1``).
  Each is scored one-sidedly: eq. 43 (drift) and eq. 35 (residual) at every seed and checkpoint t > 0,
  recorded where they come closest (measured, bound, ratio). The first pass's L = 1 (``projection_out``)
  is run and flagged out of regime, its bounds refused (not scored). Beside them the WGAN-GP critic (the
  paper's practice) and a frozen critic; for every critic the per-seed drift ratio aug/sup at T as a
  distribution (median, quartiles, fraction of seeds above 1, mean). A width sweep under L_aug for the
  in-regime projected critic (one L), the GP and the frozen critic gives the drift exponent in m of each.
- **Theorem 3** (eq. 56): the sizes of R^u, D^u, R^v, D^v at initialisation against m and n, and their
  exponents (the theorem's are upper bounds).
- **Bernoulli model** eq. 58 fitted to the residual ‖z(t) − y‖ of one GP run; its rate against λ₀/2.
- **PRD split** eqs. 52-55 at the end of that run: max |R + D + ∇L_aug| and the sizes of R and D.
- **Beyond the paper: linear stability** (:mod:`refimpl.prd.stability`) of the descent-ascent game with a
  critic on the sphere ‖W‖_F = L, at true (Newton, ‖F‖ < 1e-10) homogeneous equilibria (all neurons
  equal: the analogue of the uniform state of a Turing analysis), the Jacobian by hand-derived directional
  derivatives (checked against central differences in the run), split exactly into the
  neuron-permutation-symmetric block and the symmetry-breaking block, scanned over the adversarial weight
  β and the critic/generator rate ratio τ (the analogue of D_v/D_u); on the way to each equilibrium the
  growth rate of the symmetry-breaking modes in closed form (:func:`refimpl.prd.stability.breaking_rate`),
  integrated over time (the log of the most a symmetry-breaking perturbation can grow), with and without
  the adversary; and finite-time Lyapunov exponents from random starts with and without the adversary,
  which need no stationary point.

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
diffusion, on MNIST and on the synthetic data. Fair comparisons: residuals beside drifts with 95 %
t-intervals over initialisations, the drift ratio also where both runs first reach the same residual (the
higher of the two final ones: the adversary's run fits worse at equal T), the adversarial weight β swept,
and pairs trained to λ₀T = 10 on 100 digits (converged by the theorems' rate; λ₀T ≈ 1.4 in the main runs).
With ``--mnist-dir`` (full MNIST from the IDX files, read through ``run.load_mnist()``) the same comparison,
the same critic, on all 60 000 training digits (:func:`refimpl.prd.measure.full_mnist_comparison`, under
``mnist.full``): three initialisations of width 64 for 70 steps (a pair-step costs ≈ 3 s at m = 64 and ≈ 4×
that at m = 256 on the shared 2-core machine; the part is sized to ≈ 10 min). H∞ of 60 000 digits
(28.8 GB) is out of reach, so λ₀ is bounded above by interlacing (λ_min of H∞ on 2 000 of the digits), and
λ₀T with it: far below 1, so this part compares early drift, not drift at convergence. Without
``--mnist-dir`` the part is skipped and ``mnist.full.skipped`` says so.

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
  L chosen inside the theorem's regime (above), and L = 1 of the first pass shown out of it.
- **Stability**: n = 8 inputs in d_in = 4, m = 6 neurons, m_c = 5 critic neurons with a_r = +1, L = 1,
  d_out = 1 with v trainable (a homogeneous state needs every v_j equal); β from 0 to 4, τ from 0.01 to
  100; Lyapunov exponents over T = 40 (2000 Euler steps of 0.02, W retracted onto its sphere).
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
    delta: float = 0.1  # Theorem 2's failure probability δ (in μ)
    epsilon_fraction: float = 0.5  # ε = epsilon_fraction · min over seeds of ‖z(0) − y‖
    bound_fractions: tuple = (0.8, 0.2)  # in-regime critic bounds L as fractions of L_ε (κμ = ε)
    bound: float = 1.0  # the first pass's L, outside the regime here: run, flagged, not scored
    widths_aug: tuple = (64, 256, 1024, 4096)  # the width sweep under L_aug
    sizes: tuple = (8, 16, 32, 64)  # n for the n-dependence
    alignments: tuple = (0.0, 1.0, 2.0, 3.0)  # input shifts c·e₁ for the λ₀-dependence
    dependence_width: int = 1024
    dependence_seeds: int = 3
    theorem3_seeds: int = 20
    monte_carlo_samples: int = 1_000_000
    stability_n: int = 8
    stability_d_in: int = 4
    stability_m: int = 6
    stability_critic_width: int = 5
    stability_bound: float = 1.0
    stability_weights: tuple = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)  # adversarial weights β
    stability_rates: tuple = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # critic/generator rates τ
    stability_dt: float = 0.02
    stability_flow_steps: int = 20000
    stability_kink_margin: float = 1e-6  # an equilibrium nearer a ReLU kink has no Jacobian to speak of
    stability_problems: int = 3  # games scanned
    stability_draws: int = 30  # at most this many drawn to find them
    stability_tolerance: float = 1e-8  # a growth rate above this is a growing mode (rounding is ~1e-15)
    ftle_seeds: int = 10
    ftle_steps: int = 2000
    ftle_weight: float = 1.0
    checkpoints: int = 60


def _eq43_claims(name, L):
    return [
        Claim(f"thm2.{name}.drift_eq43_at_tightest",
              "‖u_j(t) − u_j(0)‖ ≤ 2√n(‖z(0) − y‖ − κμ)(1 − e^{−λ₀t/2})/(√m λ₀) + μ(1 + κ√n) t/√m "
              f"(measured: projected critic, L = {L} of the largest L in the regime κμ < ε, δ = 0.1, at the seed and "
              f"checkpoint t > 0 closest to the bound; L itself: thm2.{name}.L)",
              source=f"{PAPER}, proof of Theorem 2, eq. 43", at_most=f"thm2.{name}.bound_drift_eq43_at_tightest"),
        Claim(f"thm2.{name}.residual_eq35_at_tightest",
              "‖z(t) − y‖ ≤ (‖z(0) − y‖ − κμ) e^{−λ₀t/2} + κμ "
              f"(measured: the same runs, L = {L} of the largest L in the regime, closest seed and checkpoint)",
              source=f"{PAPER}, proof of Theorem 2, eq. 35", at_most=f"thm2.{name}.bound_residual_eq35_at_tightest"),
    ]


def _ratio_claim(name, described):
    return Claim(f"thm2.{name}.drift_ratio.median",
                 f"with diffusion the generator moves farther from its initialisation than without (measured: median "
                 f"over seeds of max_j drift aug/sup at T, {described}; quartiles and the fraction of seeds above 1 "
                 f"beside it: thm2.{name}.drift_ratio.*)", source=f"{PAPER}, Theorem 2 and Sec. 4",
                 expected=(1.0, np.inf))


THEORY_CLAIMS = [
    Claim("thm1.width_slope", "‖u_j(t) − u_j(0)‖ ≤ O(n^{3/2}/(√m λ₀ δ)): the drift falls as m^{−1/2} "
          "(measured: log-log slope of max_j drift at T against m)", source=f"{PAPER}, Theorem 1 (eq. 15)",
          expected=(-0.65, -0.35)),
    Claim("thm1.drift_max_at_tightest_eq13", "‖u_j(t) − u_j(0)‖ ≤ 2√n ‖z(0) − y‖ (1 − e^{−λ₀t/2}) / (√m λ₀) "
          "(measured: max_j drift at T of the run, over all widths and seeds, that comes closest to its bound)",
          source=f"{PAPER}, proof of Theorem 1, eq. 13", at_most="thm1.bound_eq13_at_tightest"),
    Claim("thm1.n_sweep.exponent", "‖u_j(t) − u_j(0)‖ ≤ O(n^{3/2}/(√m λ₀ δ)): at most n^{3/2} "
          "(measured: log-log slope in n of the median drift times λ₀, n = 8 … 64 at m = 1024)",
          source=f"{PAPER}, Theorem 1 (eq. 15)", at_most=1.5),
    Claim("thm1.n_sweep.max_ratio_to_bound_eq13", "eq. 13 holds at every n (measured: the largest drift/bound "
          "over the n sweep)", source=f"{PAPER}, proof of Theorem 1, eq. 13", at_most=1.0),
    Claim("thm1.lambda_sweep.exponent", "‖u_j(t) − u_j(0)‖ ≤ O(n^{3/2}/(√m λ₀ δ)): at most 1/λ₀ as λ₀ falls "
          "(measured: log-log slope in λ₀ of the median drift over 2√n‖z(0) − y‖/√m, inputs made more nearly "
          "parallel)", source=f"{PAPER}, Theorem 1 (eq. 15)", at_least=-1.0),
    Claim("thm1.lambda_sweep.decay_rate_median", "‖z(t) − y‖ ≤ e^{−λ₀t/2} ‖z(0) − y‖: the residual decays at rate "
          "at least λ₀/2 (measured: late-time decay rate of the supervised residual, median over seeds, at each λ₀; "
          "its ratio to λ₀: thm1.lambda_sweep.decay_rate_over_lambda0)", source=f"{PAPER}, Remark 3 of Theorem 1",
          at_least="thm1.lambda_sweep.lambda0_half"),
    *_eq43_claims("projection_0", 0.8),
    *_eq43_claims("projection_1", 0.2),
    _ratio_claim("projection_0", "projected critic in the regime, L = 0.8 of the largest"),
    _ratio_claim("penalty", "the WGAN-GP critic the paper relies on in practice"),
    _ratio_claim("frozen", "a frozen critic"),
    Claim("thm2.widths.projection.exponent", "‖u_j(t) − u_j(0)‖ ≤ O(n^{3/2}/(√m λ₀ δ) + μ(1 + κ√n) t/√m), "
          "μ ∝ L/√m: at fixed L the bound falls as m^{−1/2} (measured: log-log slope in m of the median drift "
          "under L_aug, projected critic in the regime)", source=f"{PAPER}, Theorem 2 (eq. 44)",
          expected=(-0.65, -0.35)),
    Claim("thm2.widths.frozen.exponent", "the same bound with the critic frozen at initialisation, ‖W‖_F ≈ √m, so "
          "μ(1 + κ√n)/√m ∝ m^{−1/2} (measured: slope in m of the median drift, frozen critic)",
          source=f"{PAPER}, Theorem 2 (eq. 44)", expected=(-0.65, -0.35)),
    Claim("thm2.widths.penalty.exponent", "no bound is stated for the gradient-penalty critic (measured: slope in m "
          "of the median drift, WGAN-GP critic)", source=f"{PAPER}, Sec. 3.2 and Theorem 2"),
    Claim("thm2.widths.projection.max_ratio_to_bound_eq43", "eq. 43 holds at every width of the sweep that is in "
          "the regime (measured: the largest drift/bound at T)", source=f"{PAPER}, proof of Theorem 2, eq. 43",
          at_most=1.0),
    Claim("thm3.diffusion_u.exponent_m", "D^u_j = O(n m² d_in d_out^{3/2}) (measured: log-log slope in m of the "
          "mean ‖D^u_j‖ at initialisation)", source=f"{PAPER}, Theorem 3 (eq. 56)", at_most=2.0),
    Claim("thm3.diffusion_v.exponent_m", "D^v_j = O(n m² d_in d_out^{1/2}) (measured: the same for ‖D^v_j‖)",
          source=f"{PAPER}, Theorem 3 (eq. 56)", at_most=2.0),
    Claim("thm3.reaction_u.exponent_m", "R^u_j = O(n d_in √(d_out/m)) (measured: slope in m of the mean ‖R^u_j‖ "
          "at initialisation; the bound's exponent is −½, so no margin is stated)",
          source=f"{PAPER}, Theorem 3 (eq. 56)"),
    Claim("thm3.reaction_u.exponent_n", "R^u_j = O(n d_in √(d_out/m)): at most linear in n (measured: slope in n)",
          source=f"{PAPER}, Theorem 3 (eq. 56)", at_most=1.0),
    Claim("thm3.diffusion_u.exponent_n", "D^u_j = O(n m² d_in d_out^{3/2}) (measured: slope in n of the mean "
          "‖D^u_j‖; the bound's exponent in n is 1 and the masked sum Σ_p 1_{jp} x_p grows nearly as fast, so a "
          "finite-n slope of a few seeds is no margin either way)", source=f"{PAPER}, Theorem 3 (eq. 56)"),
    Claim("bernoulli.rate_over_lambda0_half",
          "‖z(t) − y‖ ≤ (‖z(0) − y‖ − κμ) e^{−λ₀t/2} + κμ: the residual decays at rate at least λ₀/2 "
          "(measured: rate of the eq. 58 solution fitted to one gradient-penalty run, divided by λ₀/2)",
          source=f"{PAPER}, eqs. 33-35 and eq. 58", at_least=1.0),
    Claim("split.max_abs_error", "du_j/dt = R_j + D_j and dv_j/dt = R_j + D_j exactly "
          "(measured: max |R + D + ∇L_aug| at the end of one run)", source=f"{PAPER}, eqs. 52-55",
          expected=(0.0, 1e-10)),
    Claim("stability.sup_max_real_breaking",
          "under sole supervision the system of neurons is in a stable homogeneous condition "
          "(measured: largest Re λ of the symmetry-breaking block at the homogeneous equilibrium, β = 0, all τ)",
          source=f"{PAPER}, Abstract and Sec. 4", expected=(-np.inf, 1e-8)),
    Claim("stability.adv_max_real_breaking",
          "adversarial interaction induces a Turing instability: symmetry-breaking modes grow at the "
          "homogeneous equilibrium (measured: largest Re λ of the symmetry-breaking block over the scan β > 0, "
          "τ = 0.01 … 100; points where it exceeds 1e-8 while β = 0 is stable: stability.turing_points)",
          source=f"{PAPER}, Abstract and Sec. 1", expected=(1e-8, np.inf)),
    Claim("stability.ftle_adv_minus_sup.median",
          "the adversary destabilises the system of neurons (measured: median over random starts of the largest "
          "finite-time Lyapunov exponent with the adversary minus without, β = 1, τ = 1)",
          source=f"{PAPER}, Abstract and Sec. 1", expected=(0.0, np.inf)),
]


@register_experiment("prd-theory", quick=TheorySettings(widths=(64, 128, 256, 512, 1024, 2048), seeds_per_width=3,
                                                         seeds_theorem2=30, monte_carlo_samples=200_000,
                                                         widths_aug=(64, 256, 1024), sizes=(8, 16, 32),
                                                         dependence_width=512, ftle_seeds=4, checkpoints=40),
                     full=TheorySettings(), claims=THEORY_CLAIMS)
def prd_theory(run, settings):
    """PRD theory measured: H∞ and λ₀, Theorems 1-3 and their dependences, eqs. 35 and 43 inside their regime, Bernoulli fit, PRD split, stability of the game."""
    X, Y = measure.theory_problem(run.rng, settings)
    H, estimate = measure.gram(run, settings, X)
    lambda_0, lambda_max = run.lookup("gram.lambda0"), run.lookup("gram.lambda_max")
    dt = settings.step_factor / lambda_max
    steps = int(np.ceil(settings.horizon / lambda_0 / dt))
    run.record("setup.dt", dt)
    run.record("setup.t_end", steps * dt)
    start = time.perf_counter()
    width_runs = measure.theorem1(run, settings, X, Y, dt, steps, lambda_0)
    measure.theorem1_in_n(run, settings)
    measure.theorem1_in_lambda0(run, settings)
    run.record_timing("theorem1", time.perf_counter() - start)
    start = time.perf_counter()
    seeds, problem = measure.theorem2(run, settings, X, Y, dt, steps, lambda_0, lambda_max)
    widths_aug = measure.theorem2_widths(run, settings, X, Y, dt, steps, lambda_0, lambda_max)
    run.record_timing("theorem2", time.perf_counter() - start)
    start = time.perf_counter()
    measure.theorem3(run, settings)
    run.record_timing("theorem3", time.perf_counter() - start)
    fit = measure.bernoulli_fit(run, seeds[0]["penalty"], lambda_0)
    measure.prd_split_terms(run, X, Y, seeds[0]["penalty"], problem)
    start = time.perf_counter()
    stability_results = measure.stability_scan(run, settings)
    run.record_timing("stability", time.perf_counter() - start)
    figures.theory_figure(run, settings, H, estimate, width_runs, seeds, fit, lambda_0)
    figures.dependence_figure(run, settings, widths_aug)
    figures.stability_figure(run, settings, stability_results)
    names = ("sup", *seeds[0].keys() - {"sup"})
    run.write_metrics({"t": seeds[0]["sup"].times,
                       **{f"drift_max_median_{name}": np.median([runs[name].drift_max for runs in seeds], axis=0)
                          for name in sorted(names)},
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
    weights: tuple = (0.25, 4.0)  # adversarial weights β swept beside β = 1 (L_sup − β L_adv)
    weight_initialisations: int = 1  # the first initialisations, trained again at each β
    convergence_n: int = 100  # digits of the pairs trained to convergence
    convergence_lambda_T: float = 10.0  # their horizon, λ₀T (e^{−λ₀T/2} < 1 %)
    convergence_initialisations: int = 3
    full_n: int = 60_000  # digits of the full training set (all of it), read only with --mnist-dir
    full_m: int = 64  # its width: a pair-step at n = 60 000 costs ≈ 1.5 s at m = 64, ≈ 6.4 s at m = 256
    full_steps: int = 70  # ≈ 10 min for the three pairs on the shared 2-core machine
    full_initialisations: int = 3
    full_gram_subset: int = 2000  # digits of the principal submatrix of H∞ that bounds λ₀ and estimates λ_max
    checkpoints: int = 60
    backend: str = "numpy"  # the gradient kernels' twin; see the module docstring for why NumPy here


MNIST_CLAIMS = [
    Claim("mnist.drift_ratio_U", "the hidden layer moves farther from its initialisations with diffusion "
          "(measured: ‖U(T) − U(0)‖_F aug/sup at the same T, mean over initialisations; the aug run fits worse, "
          "residuals beside it: mnist.fair.residual_*)", source=f"{POSTER}, Fig. 1(a)", expected=(1.0, np.inf)),
    Claim("mnist.drift_ratio_V", "the top layer moves farther from its initialisations with diffusion "
          "(measured: ‖V(T) − V(0)‖_F aug/sup at the same T)", source=f"{POSTER}, Fig. 1(b)", expected=(1.0, np.inf)),
    Claim("mnist.fair.drift_U_ratio_matched.ci_low", "the hidden layer moves farther with diffusion at the same fit "
          "(measured: lower end of the 95 % interval over initialisations of ‖U − U(0)‖_F aug/sup where both runs' "
          "residuals first reach the higher final residual)", source=f"{POSTER}, Fig. 1(a)", expected=(1.0, np.inf)),
    Claim("mnist.converged.fair.drift_U_ratio_at_T.ci_low", "the hidden layer moves farther with diffusion, at "
          "convergence (measured: lower end of the 95 % interval of ‖U(T) − U(0)‖_F aug/sup, λ₀T = 10)",
          source=f"{POSTER}, Fig. 1(a)", expected=(1.0, np.inf)),
    Claim("mnist.full.fair.drift_U_ratio_at_T.ci_low", "the hidden layer moves farther from its initialisations "
          "with diffusion, on the full training set (measured: lower end of the 95 % interval over initialisations "
          "of ‖U(T) − U(0)‖_F aug/sup at the same T, n = mnist.full.n digits read from the IDX files; residuals "
          "beside it: mnist.full.fair.residual_*, λ₀T ≤ mnist.full.lambda0_T_upper_bound)",
          source=f"{POSTER}, Fig. 1(a)", expected=(1.0, np.inf)),
    Claim("mnist.full.fair.drift_U_ratio_matched.ci_low", "the hidden layer moves farther with diffusion at the same "
          "fit, on the full training set (measured: lower end of the 95 % interval of ‖U − U(0)‖_F aug/sup where "
          "both runs' residuals first reach the higher final residual, mnist.full.fair.residual_matched)",
          source=f"{POSTER}, Fig. 1(a)", expected=(1.0, np.inf)),
    Claim("mnist.neuron_drift_cv_ratio", "diffusion breaks the homogeneity of the hidden layer (measured: "
          "coefficient of variation of the per-neuron drift ‖u_j(T) − u_j(0)‖, aug/sup, mean over initialisations)",
          source=f"{POSTER}, Figs. 5-6; {PAPER}, Theorem 2", expected=(1.0, np.inf)),
    Claim("synthetic.neuron_drift_cv_ratio", "diffusion breaks homogeneity on synthetic d_in = 784 data "
          "(measured: the same spread ratio, one initialisation)", source=f"{POSTER}, Figs. 7-8",
          expected=(1.0, np.inf)),
]


@register_experiment("prd-mnist", quick=MnistSettings(n=100, m=144, initialisations=3, steps=600, synthetic_n=100,
                                                       weight_initialisations=3, full_n=2000, full_m=16,
                                                       full_steps=40, full_gram_subset=500, checkpoints=30),
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
    measure.record_fair(run, "mnist", pairs)
    start = time.perf_counter()
    measure.weight_sweep(run, settings, X, Y, dt, pairs, initial)
    run.record_timing("weights", time.perf_counter() - start)
    start = time.perf_counter()
    measure.convergence_pairs(run, settings)
    run.record_timing("convergence", time.perf_counter() - start)
    start = time.perf_counter()
    if measure.full_mnist_comparison(run, settings) is not None:
        run.record_timing("full_mnist", time.perf_counter() - start)
    kinds = ("sup", "aug")
    run.write_metrics({"t": pairs[0][0].times,
                       **{f"drift_U_{kind}_{i}": p[k].drift_U for i, p in enumerate(pairs) for k, kind in enumerate(kinds)},
                       **{f"drift_V_{kind}_{i}": p[k].drift_V for i, p in enumerate(pairs) for k, kind in enumerate(kinds)}})
    figures.mnist_figures(run, settings, X, pairs, initial, side)
    figures.synthetic_figures(run, synthetic, side)
