r"""Experiments of seed 000 (Rout, AAAI-21): the theorems measured, and the paper's figures regenerated.

``prd-theory`` — the theorems' setting: d_out = 1, top layer v frozen at ±1, n = 16 random unit inputs
in d_in = 10, targets y_p ~ N(0, 1).

- **H∞** (Definition 1) in closed form against Monte Carlo; λ₀ = λ_min(H∞).
- **Theorem 1**: max_j ‖u_j(T) − u_j(0)‖ under L_sup for widths m = 64 … 4096 (several seeds each); the
  log-log slope against m (the theorem: −½), the curve over t against the bound eq. 13.
- **Theorem 2**: the same flow under L_aug with a critic trained by ascent, for three critics: the projected
  critic ‖W‖_F ≤ L (the theorem's assumption; its numbers carry the unsuffixed ``thm2.*`` keys), the WGAN-GP
  critic (the paper's practice, ``*_penalty``; it never fits the data: its final residual stays O(1)) and a
  frozen critic (``*_frozen``); the drift ratio aug/sup at T, whether the extra drift grows linearly in t
  (slope and R² of a line through its second half) and the drift against the explicit bound eq. 43.
- **Bernoulli model** eq. 58 fitted to the residual ‖z(t) − y‖ of one GP run; its rate against λ₀/2.
- **PRD split** eqs. 52-55 at the end of that run: max |R + D + ∇L_aug| and the sizes of R and D.
- **Beyond the paper: the spectrum** of the linearised flow (central differences of the hand-derived
  field) of a smaller problem with a trainable top layer, at the SAME times along a supervised and a
  descent-ascent trajectory from one initialisation: without diffusion (−∇²L_sup), with diffusion (the
  game of generator and GP critic) and, at the game's state, with the critic frozen (−∇²L_aug). Beside
  each we record the generator's speed ‖(U̇, V̇)‖ (how far the state is from a stationary point) and, as
  the one equilibrium with diffusion we can reach, L_aug with a frozen critic run on until ‖(U̇, V̇)‖ ≈ 0.
  What this measures, plainly: early on both flows have growing modes (the Hessians are indefinite away
  from a minimum); at the end L_sup has converged (no growing mode, by construction); the game has not
  (its speed stays > 0) and the largest real part of its generator modes equals the frozen-critic one, so
  the critic's dynamics create no instability. Whether the frozen-critic run reached a stationary point
  is recorded beside its spectrum (its speed, and the nearest ReLU kink). The paper's
  Turing-instability claim is not supported in this setting.

``prd-mnist`` — the paper's figures on data: n unit-normalised digits of the bundled MNIST subset with
one-hot targets (d_out = 10), and a synthetic set with d_in = 784 (Figs. 7-8). Fig. 1 (distance from
several initialisations, hidden and top layer, with and without diffusion), Fig. 3 (hidden filters as
28×28 tiles), Fig. 4 (features of one input image, Fig. 2), Fig. 5 (breakdown of symmetry and
homogeneity: distributions of the per-neuron drift and of the weight changes), Fig. 6 (the per-neuron
drift over time, neurons laid out in index order on a √m × √m grid: the arrangement is arbitrary, neurons
have no spatial neighbours, so no "pattern" can be read from it), Figs. 7-8 (synthetic data without and
with diffusion: filters and a 2-D PCA of the rows u_j and columns v_j, as on the paper's teaser slide).
Homogeneity is measured as the spread (coefficient of variation) of the per-neuron drift, with/without
diffusion: on MNIST and on the synthetic data (where it does not grow).

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
- **Synthetic d_in = 784 data** (Figs. 7-8): each input is a sum of three Gaussian bumps (σ = 2.5 px) at
  random places on the 28×28 grid, targets the standardised outputs of a random teacher network of the
  same form (16 neurons, d_out = 10): smooth inputs make the filters readable as images, which white-noise
  inputs would not, and a teacher makes the targets a function the generator can represent.

Backends: ``prd-theory`` trains with the numba twins, ``prd-mnist`` with the NumPy twins (``MnistSettings.backend``);
both twins keep the matrix products in NumPy's BLAS, so they differ only in the element-wise passes.
``refimpl bench prd`` measures which is faster where. On a busy machine, set ``OPENBLAS_NUM_THREADS=1``:
a multithreaded BLAS competing for oversubscribed cores slows the MNIST steps down many times.
"""

from dataclasses import dataclass

import numpy as np

from refimpl.experiments import Claim, register_experiment
from refimpl.prd import flow, model, theory


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
    Claim("thm1.width_slope", "Theorem 1: ‖u_j(t) − u_j(0)‖ = O(n^{3/2}/(√m λ₀ δ)), slope −½ in m",
          expected=(-0.65, -0.35)),
    Claim("thm2.drift_ratio_aug_over_sup",
          "Theorem 2: larger distance from initialisation with diffusion; ours: mean over seeds of max_j drift "
          "aug/sup with the projected critic ‖W‖_F ≤ L (the theorem's assumption); the GP critic's ratio is "
          "thm2.drift_ratio_aug_over_sup_penalty", expected=(1.0, np.inf)),
    Claim("thm2.drift_ratio_aug_over_sup_penalty",
          "Theorem 2 with the paper's practice (WGAN-GP critic): larger drift with diffusion; this run never fits "
          "the data (thm2.final_residual_penalty vs thm2.final_residual_sup), so its drift is not the theorem's",
          expected=(1.0, np.inf)),
    Claim("thm2.extra_drift_linear_r2",
          "Theorem 2: extra drift term (μ(1 + κ√n)/√m)·t, linear in t; ours: R² of a line through the second "
          "half of the mean extra drift, projected critic", expected=(0.9, 1.0)),
    Claim("thm2.max_ratio_to_bound_eq43", "eq. 43 bounds the drift with diffusion (projected critic, δ = 0.1)",
          expected=(0.0, 1.0)),
    Claim("bernoulli.rate_over_lambda0_half",
          "eq. 58: the residual of the adversarial run decays at rate r/(2K) = λ₀/2; ours: fitted rate of the GP "
          "run divided by λ₀/2 (≈ 1 would agree; it does not)", expected=(0.5, 2.0)),
    Claim("split.max_abs_error", "eqs. 52-55: du_j/dt = R_j + D_j exactly", expected=(0.0, 1e-10)),
    Claim("spectrum.max_real_sup",
          "no diffusion: no growing mode; ours: max Re λ of −∇²L_sup at the last matched time, where L_sup has "
          "converged (spectrum.field_norm_sup ≈ 0): ≤ 0 by construction at a minimum; earlier along the path the "
          "supervised flow has growing modes too (spectrum.max_real_sup_over_time)", expected=(-np.inf, 1e-6)),
    Claim("spectrum.max_real_aug",
          "with diffusion: a growing mode (the paper: Turing instability); ours: max Re λ of the descent-ascent "
          "game at the same time; the state is NOT an equilibrium (spectrum.field_norm_aug), so this is not an "
          "instability of a steady state, and the leading mode may live in the critic (spectrum.leading_mode_share_*"
          "_aug ≈ 0: the GP critic's own ascent)", expected=(1e-6, np.inf)),
    Claim("spectrum.critic_contribution",
          "the adversarial coupling creates the instability; ours: max over the matched times of max Re λ of "
          "the game's modes living mostly in the generator minus max Re λ at the same state with the critic "
          "frozen (−∇²L_aug); ≈ 0 means NOT supported: the growing mode is the indefinite Hessian of L_aug away from equilibrium, the critic's dynamics add nothing (modes that "
          "live mostly in the critic are left out: spectrum.max_real_critic_modes_aug)",
          expected=(1e-3, np.inf)),
    Claim("spectrum.stationary_max_real_aug_frozen",
          "with diffusion at an (approximate) equilibrium: a growing mode; ours: L_aug with the critic frozen, "
          "run on for 4T towards a stationary point; recorded only if it got there (speed < 1e-6 × initial, "
          "spectrum.stationary_reached); else see spectrum.stationary_candidate_max_real_aug_frozen and the "
          "nearest ReLU kink (spectrum.stationary_min_abs_*)",
          expected=(1e-6, np.inf)),
]


def _theory_problem(rng, settings):
    X = model.normalise_inputs(rng.standard_normal((settings.n, settings.d_in)))
    Y = rng.standard_normal((settings.n, 1))
    return X, Y


@register_experiment("prd-theory", quick=TheorySettings(widths=(64, 128, 256, 512, 1024, 2048), seeds_per_width=3,
                                                         seeds_theorem2=30, monte_carlo_samples=200_000, spectrum_points=4,
                                                         checkpoints=40),
                     full=TheorySettings(), claims=THEORY_CLAIMS)
def prd_theory(run, settings):
    """PRD theory measured: H∞ and λ₀, Theorem 1 width scaling, Theorem 2 extra drift, Bernoulli fit, PRD split, Jacobian spectrum."""
    X, Y = _theory_problem(run.rng, settings)
    H = theory.gram_infinity(X)
    eigenvalues = np.linalg.eigvalsh(H)
    lambda_0, lambda_max = float(eigenvalues[0]), float(eigenvalues[-1])
    estimate = theory.gram_monte_carlo(run.rng, X, settings.monte_carlo_samples)
    run.record("gram.lambda0", lambda_0)
    run.record("gram.lambda_max", lambda_max)
    run.record("gram.condition_number", lambda_max / lambda_0)
    run.record("gram.mc_max_abs_error", float(np.abs(estimate - H).max()))
    run.record("gram.mc_samples", settings.monte_carlo_samples)
    dt = settings.step_factor / lambda_max
    t_end = settings.horizon / lambda_0
    steps = int(np.ceil(t_end / dt))
    run.record("setup.dt", dt)
    run.record("setup.t_end", steps * dt)
    width_runs = _theorem1(run, settings, X, Y, dt, steps, lambda_0)
    seeds, problem = _theorem2(run, settings, X, Y, dt, steps, lambda_0, lambda_max)
    fit = _bernoulli(run, seeds[0]["penalty"], lambda_0)
    _split(run, X, Y, seeds[0]["penalty"], problem)
    spectra = _spectrum(run, settings, X, Y, dt, steps)
    _gram_and_width_panels(run, settings, H, estimate, width_runs, seeds, fit, lambda_0)
    _spectrum_figure(run, spectra)
    run.write_metrics({"t": seeds[0]["sup"].times,
                       **{f"drift_max_{name}": np.mean([runs[name].drift_max for runs in seeds], axis=0)
                          for name in ("sup", *THEOREM2_CRITICS)},
                       "residual_sup": seeds[0]["sup"].residual, "residual_aug_penalty": seeds[0]["penalty"].residual})


def _theorem1(run, settings, X, Y, dt, steps, lambda_0):
    """Drift under L_sup with v frozen, over widths and seeds."""
    n = X.shape[0]
    width_runs = {}
    for m in run.progress(settings.widths, desc="theorem 1 widths"):
        width_runs[m] = []
        for _ in range(settings.seeds_per_width):
            U, V = model.init_generator(run.rng, X.shape[1], 1, m)
            width_runs[m].append(flow.train(X, Y, U, V, dt=dt, steps=steps, adversarial=False, train_V=False,
                                            checkpoints=settings.checkpoints))
    widths = np.array(settings.widths, dtype=float)
    drift_max = np.array([np.mean([t.drift_max[-1] for t in width_runs[m]]) for m in settings.widths])
    drift_mean = np.array([np.mean([t.drift_mean[-1] for t in width_runs[m]]) for m in settings.widths])
    drift_frobenius = np.array([np.mean([t.drift_U[-1] for t in width_runs[m]]) for m in settings.widths])
    bound_ratios = [t.drift_max[-1] / theory.theorem1_bound(t.times[-1], n, m, lambda_0, t.residual[0])
                    for m in settings.widths for t in width_runs[m]]
    run.record("thm1.widths", settings.widths)
    run.record("thm1.drift_max", drift_max)
    run.record("thm1.width_slope", theory.loglog_slope(widths, drift_max))
    run.record("thm1.width_slope_mean", theory.loglog_slope(widths, drift_mean))
    run.record("thm1.frobenius_slope", theory.loglog_slope(widths, drift_frobenius))
    run.record("thm1.max_ratio_to_bound_eq13", float(np.max(bound_ratios)))
    run.record("thm1.final_residual_max", float(max(t.residual[-1] for r in width_runs.values() for t in r)))
    return width_runs


# the theorem's critic first: its numbers carry the unsuffixed keys
THEOREM2_CRITICS = ("projection", "penalty", "frozen")


def _theorem2(run, settings, X, Y, dt, steps, lambda_0, lambda_max):
    """The same initialisations trained without and with diffusion, for three critics and several seeds.

    Returns the list of runs per seed ({"sup", "projection", "penalty", "frozen"} → Trajectory) and the
    first seed's initial (U, V, W, a)."""
    m = settings.width_theorem2
    steps2 = int(settings.horizon_theorem2 * steps)
    common = dict(dt=dt, steps=steps2, train_V=False, checkpoints=settings.checkpoints)
    critics = {
        "projection": flow.CriticSettings(rate=settings.critic_rate, regulariser="projection", bound=settings.bound),
        "penalty": flow.CriticSettings(rate=settings.critic_rate, regulariser="penalty", penalty=settings.penalty),
        "frozen": None,
    }
    seeds, problem = [], None
    for _ in run.progress(range(settings.seeds_theorem2), desc="theorem 2 seeds"):
        U, V = model.init_generator(run.rng, X.shape[1], 1, m)
        W, a = model.init_critic(run.rng, 1, m)
        problem = problem or (U, V, W, a)
        runs = {"sup": flow.train(X, Y, U, V, adversarial=False, **common)}
        for name, critic in critics.items():
            runs[name] = flow.train(X, Y, U, V, adversarial=True, W=W, a=a, critic=critic, rng=run.rng, **common)
        seeds.append(runs)
    times = seeds[0]["sup"].times
    late = times >= times[-1] / 2
    for name in THEOREM2_CRITICS:
        suffix = "" if name == "projection" else f"_{name}"
        ratios = np.array([runs[name].drift_max[-1] / runs["sup"].drift_max[-1] for runs in seeds])
        extra = np.mean([runs[name].drift_max - runs["sup"].drift_max for runs in seeds], axis=0)
        slope, _, r_squared = theory.linear_fit(times[late], extra[late])
        run.record(f"thm2.drift_ratio_aug_over_sup{suffix}", float(ratios.mean()))
        run.record(f"thm2.drift_ratio_per_seed{suffix}", ratios)
        run.record(f"thm2.drift_ratio_standard_error{suffix}",
                   float(ratios.std(ddof=1) / np.sqrt(ratios.size)) if ratios.size > 1 else float("nan"))
        run.record(f"thm2.fraction_of_seeds_above_1{suffix}", float(np.mean(ratios > 1)))
        run.record(f"thm2.final_residual{suffix}", float(np.mean([runs[name].residual[-1] for runs in seeds])))
        run.record(f"thm2.extra_drift_final{suffix}", extra[-1])
        run.record(f"thm2.extra_drift_late_slope{suffix}", slope)
        run.record(f"thm2.extra_drift_linear_r2{suffix}", r_squared)
    # eq. 43 with κ = λ₁/λ₀, λ₁ = 2λ_max(H∞) + λ₀ (Lemma 4), δ = 0.1 (our choice), L = the projection bound
    kappa, positive = (2.0 * lambda_max + lambda_0) / lambda_0, times > 0
    bound_ratios = [runs["projection"].drift_max[positive]
                    / theory.theorem2_bound(times[positive], X.shape[0], m, lambda_0, runs["projection"].residual[0],
                                            settings.bound, 0.1, kappa) for runs in seeds]
    run.record("thm2.max_ratio_to_bound_eq43", float(np.max(bound_ratios)))
    run.record("thm2.width", m)
    run.record("thm2.seeds", settings.seeds_theorem2)
    run.record("thm2.final_residual_sup", float(np.mean([runs["sup"].residual[-1] for runs in seeds])))
    return seeds, problem


def _bernoulli(run, trajectory, lambda_0):
    """Eq. 58 fitted to the residual of one GP run (the paper's practice, where a plateau K > 0 appears)."""
    fit = theory.fit_bernoulli(trajectory.times, trajectory.residual)
    run.record("bernoulli.K", fit.K)
    run.record("bernoulli.r", fit.r)
    run.record("bernoulli.rate", fit.rate)
    run.record("bernoulli.r_squared", fit.r_squared)
    run.record("bernoulli.lambda0_over_2", lambda_0 / 2)
    run.record("bernoulli.rate_over_lambda0_half", fit.rate / (lambda_0 / 2))
    return fit


def _split(run, X, Y, trajectory, problem):
    """The PRD split (eqs. 52-55) at the final state of one GP run, and the sizes of R and D."""
    U, V, W, a = trajectory.U, trajectory.V, trajectory.W, trajectory.a
    split = model.prd_split(X, Y, U, V, W, a)
    _, dU, dV, _, _ = model.augmented_gradient(X, Y, U, V, W, a, backend="numba")
    errors = np.concatenate([np.ravel(split.reaction_u + split.diffusion_u + dU),
                             np.ravel(split.reaction_v + split.diffusion_v + dV)])
    scale = max(np.abs(dU).max(), np.abs(dV).max())
    run.record("split.max_abs_error", float(np.abs(errors).max()))
    run.record("split.max_rel_error", float(np.abs(errors).max() / scale))
    # sizes at initialisation, where both terms are far from equilibrium (Theorem 3 compares them)
    split0 = model.prd_split(X, Y, *problem)
    run.record("split.init_mean_norm_reaction_u", float(np.linalg.norm(split0.reaction_u, axis=1).mean()))
    run.record("split.init_mean_norm_diffusion_u", float(np.linalg.norm(split0.diffusion_u, axis=1).mean()))
    run.record("split.final_mean_norm_reaction_u", float(np.linalg.norm(split.reaction_u, axis=1).mean()))
    run.record("split.final_mean_norm_diffusion_u", float(np.linalg.norm(split.diffusion_u, axis=1).mean()))


def _generator_speed(X, Y, state, **field_settings):
    """|θ̇| of the generator, ‖(U̇, V̇)‖, at ``state`` (U, V[, W, a]): ≈ 0 at a stationary point."""
    field = flow.joint_field(flow.pack(*state), X, Y, [v.shape for v in state], **field_settings)
    return float(np.linalg.norm(field[:state[0].size + state[1].size]))


def _spectrum(run, settings, X, Y, dt, steps):
    """Eigenvalues of the linearised flow at matched times along a sup and a GDA trajectory from one
    initialisation (small m, V trainable), the game's state also with its critic frozen, and L_aug with a
    frozen critic run on to an approximate stationary point."""
    m = settings.spectrum_width
    U, V = model.init_generator(run.rng, X.shape[1], 1, m)
    W, a = model.init_critic(run.rng, 1, m)
    epsilon = run.rng.uniform(size=(X.shape[0], 1))
    dt = dt / 2  # the trainable top layer adds its own kernel to the flow's stiffness
    points = np.unique(np.geomspace(1, 2 * steps, settings.spectrum_points).astype(int))
    critic = flow.CriticSettings(rate=settings.critic_rate, regulariser="penalty", penalty=settings.penalty)
    game = {"adversarial": True, "critic_rate": settings.critic_rate, "penalty": settings.penalty, "epsilon": epsilon}
    results = {name: [] for name in ("sup", "aug", "aug_frozen")}
    speeds = {name: [] for name in ("sup", "aug")}
    state_sup, state_aug, done = (U, V), (U, V, W, a), 0
    for point in run.progress(points, desc="spectrum"):
        sup = flow.train(X, Y, *state_sup, dt=dt, steps=point - done, adversarial=False, checkpoints=1)
        aug = flow.train(X, Y, *state_aug[:2], dt=dt, steps=point - done, adversarial=True, W=state_aug[2],
                         a=state_aug[3], critic=critic, rng=run.rng, checkpoints=1)
        state_sup, state_aug, done = (sup.U, sup.V), (aug.U, aug.V, aug.W, aug.a), point
        results["sup"].append(theory.jacobian_spectrum(X, Y, *state_sup, adversarial=False))
        results["aug"].append(theory.jacobian_spectrum(X, Y, *state_aug[:2], W=state_aug[2], a=state_aug[3], **game))
        results["aug_frozen"].append(theory.jacobian_spectrum(X, Y, *state_aug[:2], adversarial=True,
                                                              W=state_aug[2], a=state_aug[3]))
        speeds["sup"].append(_generator_speed(X, Y, state_sup, adversarial=False))
        speeds["aug"].append(_generator_speed(X, Y, state_aug, **game))
    run.record("spectrum.width", m)
    run.record("spectrum.times", points * dt)
    for name, spectra in results.items():
        run.record(f"spectrum.max_real_{name}", spectra[-1].max_real)
        run.record(f"spectrum.max_real_{name}_over_time", [s.max_real for s in spectra])
        run.record(f"spectrum.unstable_modes_{name}", spectra[-1].unstable)
        run.record(f"spectrum.leading_mode_share_U_{name}", spectra[-1].share_U)
        run.record(f"spectrum.leading_mode_share_V_{name}", spectra[-1].share_V)
    for name, values in speeds.items():
        run.record(f"spectrum.field_norm_{name}", values[-1])
        run.record(f"spectrum.field_norm_{name}_over_time", values)
    # the game's own growing modes can live in the critic (its GP ascent); the claim is about the generator
    for name in ("aug", "aug_frozen"):
        run.record(f"spectrum.max_real_generator_modes_{name}_over_time",
                   [s.max_real_generator for s in results[name]])
    run.record("spectrum.max_real_critic_modes_aug",
               float(np.max(results["aug"][-1].eigenvalues.real[results["aug"][-1].generator_share <= 0.5],
                      initial=-np.inf)))
    contribution = [game.max_real_generator - frozen.max_real
                    for game, frozen in zip(results["aug"], results["aug_frozen"], strict=True)]
    run.record("spectrum.critic_contribution", float(np.max(contribution)))
    run.record("spectrum.critic_contribution_over_time", contribution)
    run.record("spectrum.max_real_aug_minus_sup_over_time",
               [g.max_real - s.max_real for g, s in zip(results["aug"], results["sup"], strict=True)])
    # L_aug with the critic frozen at its initial state, run on (4× the horizon) towards a stationary point
    stationary = flow.train(X, Y, U, V, dt=dt, steps=8 * steps, adversarial=True, W=W, a=a, checkpoints=1)
    spectrum = theory.jacobian_spectrum(X, Y, stationary.U, stationary.V, adversarial=True, W=W, a=a)
    speed = _generator_speed(X, Y, (stationary.U, stationary.V), adversarial=True, frozen=(W, a))
    initial_speed = _generator_speed(X, Y, (U, V), adversarial=True, frozen=(W, a))
    reached = speed < 1e-6 * initial_speed
    run.record("spectrum.stationary_time", 8 * steps * dt)
    run.record("spectrum.stationary_field_norm_aug_frozen", speed)
    run.record("spectrum.stationary_field_norm_initial", initial_speed)
    run.record("spectrum.stationary_reached", bool(reached))
    run.record("spectrum.stationary_candidate_max_real_aug_frozen", spectrum.max_real)
    if reached:  # only then is the linearisation at an equilibrium; otherwise the claim reads "not measured"
        run.record("spectrum.stationary_max_real_aug_frozen", spectrum.max_real)
    # a ReLU kink under the state (a hidden pre-activation u_jᵀx_p or a critic input z_p at 0) can stop Euler
    # from settling (the flow is not smooth there): the nearest one says whether that is why
    run.record("spectrum.stationary_min_abs_preactivation", float(np.abs(X @ stationary.U.T).min()))
    run.record("spectrum.stationary_min_abs_output",
               float(np.abs(model.generator_forward(X, stationary.U, stationary.V)).min()))
    results["times"], results["speeds"], results["stationary"] = points * dt, speeds, spectrum
    return results


def _gram_and_width_panels(run, settings, H, estimate, width_runs, seeds, fit, lambda_0):
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
    for name, style in (("sup", "k-"), ("projection", "b-"), ("penalty", "r--"), ("frozen", "g:")):
        if name == "sup":
            label = "L_sup (no diffusion)"
        else:
            suffix = "" if name == "projection" else f"_{name}"
            label = f"L_aug, critic {name}: ratio {run.lookup(f'thm2.drift_ratio_aug_over_sup{suffix}'):.3f}"
        axis.plot(times, np.mean([runs[name].drift_max for runs in seeds], axis=0), style, label=label)
    axis.set(xlabel="flow time t", ylabel="max_j ‖u_j(t) − u_j(0)‖, mean over seeds",
             title=f"Theorem 2: drift over time (m = {settings.width_theorem2}, {len(seeds)} seeds)")
    axis.legend(fontsize=8)


def _bernoulli_panel(axis, run, runs, fit):
    trajectory = runs["penalty"]
    axis.plot(trajectory.times, trajectory.residual, "r-", label="L_aug (GP critic), seed 0")
    axis.plot(runs["sup"].times, runs["sup"].residual, "k-", label="L_sup, seed 0")
    axis.plot(trajectory.times, fit.K + (trajectory.residual[0] - fit.K) * np.exp(-fit.rate * trajectory.times),
              "c--", label=f"eq. 58 fit: K = {fit.K:.2f}, rate {fit.rate:.3f}")
    axis.set(xlabel="flow time t", ylabel="‖z(t) − y‖", yscale="log",
             title=f"Residual and eq. 58: fitted rate = {run.lookup('bernoulli.rate_over_lambda0_half'):.1f} × λ₀/2")
    axis.legend(fontsize=8)


def _spectrum_figure(run, spectra):
    import matplotlib.pyplot as plt

    styles = (("sup", "k", "o", "no diffusion (−∇²L_sup)"), ("aug", "r", "s", "with diffusion (GDA game, GP critic)"),
              ("aug_frozen", "b", "^", "same state, critic frozen (−∇²L_aug)"))
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    for name, colour, marker, label in styles:
        eigenvalues = spectra[name][-1].eigenvalues
        axes[0].plot(eigenvalues.real, eigenvalues.imag, marker, color=colour, label=label, alpha=0.5, ms=4,
                     fillstyle="none")
        axes[1].plot(spectra["times"], [s.max_real for s in spectra[name]], marker + "-", color=colour, label=label,
                     fillstyle="none")
    for name, colour in (("sup", "k"), ("aug", "r")):
        axes[2].plot(spectra["times"], spectra["speeds"][name], "o-", color=colour, fillstyle="none",
                     label="no diffusion" if name == "sup" else "with diffusion (GDA)")
    axes[0].axvline(0, color="grey", lw=0.8)
    axes[0].set_xscale("symlog", linthresh=1e-5)
    axes[0].set(xlabel="Re λ (symlog, linear below 1e-5)", ylabel="Im λ",
                title=f"Jacobian spectrum at t = {spectra['times'][-1]:.1f} (all three)")
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].set_yscale("symlog", linthresh=1e-5)
    axes[1].set(xlabel="flow time t", ylabel="max Re λ (symlog)", xscale="log",
                title=f"max Re λ at matched times; max(game − frozen) = {run.lookup('spectrum.critic_contribution'):.1e}")
    axes[1].legend(fontsize=8)
    axes[2].set(xlabel="flow time t", ylabel="generator speed ‖(U̇, V̇)‖", xscale="log", yscale="log",
                title="distance from a stationary point")
    axes[2].legend(fontsize=8)
    figure.tight_layout()
    run.save_figure(figure, "spectrum")


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
    Claim("mnist.drift_ratio_U", "Fig. 1a: the hidden layer moves farther from initialisation with diffusion",
          expected=(1.0, np.inf)),
    Claim("mnist.drift_ratio_V", "Fig. 1b: the top layer moves farther from initialisation with diffusion",
          expected=(1.0, np.inf)),
    Claim("mnist.neuron_drift_cv_ratio", "Fig. 5: diffusion breaks homogeneity; ours: coefficient of variation "
          "of the per-neuron drift ‖u_j(T) − u_j(0)‖, aug/sup, mean over initialisations", expected=(1.0, np.inf)),
    Claim("synthetic.neuron_drift_cv_ratio", "Figs. 7-8: diffusion breaks homogeneity on synthetic data; ours: the "
          "same spread ratio on the synthetic d_in = 784 set (one initialisation)", expected=(1.0, np.inf)),
]


def bump_images(rng, n, *, bumps=3, width=2.5, side=28):
    """Synthetic d_in = side² inputs: each a sum of ``bumps`` Gaussian bumps (std ``width`` pixels) placed
    uniformly at random on the side × side grid, flattened to (n, side²)."""
    grid = np.arange(side)
    centres = rng.uniform(0, side - 1, size=(n, bumps, 2))
    rows = np.exp(-((grid[None, None, :] - centres[..., :1]) ** 2) / (2 * width**2))  # (n, bumps, side)
    columns = np.exp(-((grid[None, None, :] - centres[..., 1:]) ** 2) / (2 * width**2))
    return np.einsum("nbi,nbj->nij", rows, columns).reshape(n, side * side)


def _mnist_problem(run, settings):
    images, labels, _, _ = run.load_mnist().flat()
    per_class = settings.n // 10
    chosen = np.concatenate([run.rng.choice(np.flatnonzero(labels == digit), per_class, replace=False)
                             for digit in range(10)])
    return model.normalise_inputs(images[chosen]), np.eye(10)[labels[chosen]]


def _pair(run, settings, X, Y, U, V, W, a, dt, desc):
    """Train one initialisation without and with diffusion (GP critic, simultaneous descent-ascent)."""
    steps = settings.steps
    critic = flow.CriticSettings(rate=settings.critic_step / dt, regulariser="penalty", penalty=settings.penalty)
    common = dict(dt=dt, steps=steps, checkpoints=settings.checkpoints, backend=settings.backend,
                  progress=lambda r: run.progress(r, desc=desc))
    sup = flow.train(X, Y, U, V, adversarial=False, **common)
    aug = flow.train(X, Y, U, V, adversarial=True, W=W, a=a, critic=critic, rng=run.rng, **common)
    return sup, aug


@register_experiment("prd-mnist", quick=MnistSettings(n=100, m=144, initialisations=3, steps=600, synthetic_n=100,
                                                       checkpoints=30),
                     full=MnistSettings(), claims=MNIST_CLAIMS)
def prd_mnist(run, settings):
    """PRD on MNIST and synthetic d_in = 784 data: Figs. 1, 3, 4, 5, 6, 7-8 without and with diffusion."""
    side = int(round(np.sqrt(settings.m)))
    if side * side != settings.m:
        raise ValueError(f"m must be a square (neurons are shown on a √m × √m grid); got m = {settings.m}")
    X, Y = _mnist_problem(run, settings)
    dt = settings.step_factor / float(np.linalg.eigvalsh(theory.gram_infinity(X))[-1])
    run.record("setup.dt", dt)
    run.record("setup.t_end", dt * settings.steps)
    pairs, initial = [], []
    for index in range(settings.initialisations):
        U, V = model.init_generator(run.rng, X.shape[1], Y.shape[1], settings.m)
        W, a = model.init_critic(run.rng, Y.shape[1], settings.m)
        pairs.append(_pair(run, settings, X, Y, U, V, W, a, dt, desc=f"MNIST init {index + 1}"))
        initial.append((U, V))
    synthetic = _synthetic(run, settings)
    _record_pairs(run, "mnist", pairs, initial)
    run.write_metrics({"t": pairs[0][0].times,
                       **{f"drift_U_{kind}_{i}": p[k].drift_U for i, p in enumerate(pairs) for k, kind in enumerate(("sup", "aug"))},
                       **{f"drift_V_{kind}_{i}": p[k].drift_V for i, p in enumerate(pairs) for k, kind in enumerate(("sup", "aug"))}})
    _mnist_figures(run, settings, X, pairs, initial, side)
    _synthetic_figures(run, synthetic, side)


def _synthetic(run, settings):
    X = model.normalise_inputs(bump_images(run.rng, settings.synthetic_n, bumps=settings.bumps,
                                           width=settings.bump_width))
    teacher_U, teacher_V = model.init_generator(run.rng, X.shape[1], settings.synthetic_d_out, 16)
    Y = model.generator_forward(X, teacher_U, teacher_V)
    Y = (Y - Y.mean(axis=0)) / Y.std(axis=0)
    dt = settings.step_factor / float(np.linalg.eigvalsh(theory.gram_infinity(X))[-1])
    U, V = model.init_generator(run.rng, X.shape[1], Y.shape[1], settings.m)
    W, a = model.init_critic(run.rng, Y.shape[1], settings.m)
    sup, aug = _pair(run, settings, X, Y, U, V, W, a, dt, desc="synthetic")
    _record_pairs(run, "synthetic", [(sup, aug)], [(U, V)])
    return sup, aug, U, V


def _spread(trajectory):
    """Coefficient of variation of the per-neuron drift ‖u_j(T) − u_j(0)‖: 0 for a homogeneous layer."""
    drift = trajectory.neuron_drift[-1]
    return float(drift.std() / drift.mean())


def _record_pairs(run, prefix, pairs, initial):
    from scipy.stats import skew

    for k, kind in enumerate(("sup", "aug")):
        run.record(f"{prefix}.drift_U_{kind}", float(np.mean([p[k].drift_U[-1] for p in pairs])))
        run.record(f"{prefix}.drift_V_{kind}", float(np.mean([p[k].drift_V[-1] for p in pairs])))
        run.record(f"{prefix}.drift_max_{kind}", float(np.mean([p[k].drift_max[-1] for p in pairs])))
        run.record(f"{prefix}.residual_{kind}", float(np.mean([p[k].residual[-1] for p in pairs])))
        run.record(f"{prefix}.neuron_drift_cv_{kind}", float(np.mean([_spread(p[k]) for p in pairs])))
        skewness = [skew(np.ravel(p[k].V - V0)) for p, (_, V0) in zip(pairs, initial, strict=True)]
        run.record(f"{prefix}.delta_V_skewness_{kind}", float(np.mean(skewness)))
    for name, key in (("drift_U", "drift_ratio_U"), ("drift_V", "drift_ratio_V"),
                      ("neuron_drift_cv", "neuron_drift_cv_ratio")):
        run.record(f"{prefix}.{key}", run.lookup(f"{prefix}.{name}_aug") / run.lookup(f"{prefix}.{name}_sup"))
    run.record(f"{prefix}.initialisations", len(pairs))


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


def _mnist_figures(run, settings, X, pairs, initial, side):
    _fig1_distance(run, settings, X, pairs)
    (sup, aug), (U0, V0) = pairs[0], initial[0]
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

    figure, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    _image_pair(figure, axes, [_tiles(sup.U - U0), _tiles(aug.U - U0)],
                ["(a) without diffusion", "(b) with diffusion"], label="u_j(T) − u_j(0)")
    figure.suptitle("Fig. 3: change of 16 hidden filters (28×28), same neurons, same colour scale")
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


def _synthetic_figures(run, synthetic, side):
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
