r"""Measurements of the PRD experiments (:mod:`refimpl.prd.experiment`): training runs and the numbers
recorded from them. Nothing here plots (:mod:`refimpl.prd.figures` does, from what these functions return
and record).

Each function receives the experiment's ``run`` (its generator ``run.rng``, ``run.progress`` and
``run.record``) and records its results under the dotted keys the claims of the experiment name.
"""

import itertools

import numpy as np

from refimpl.core.fitting import linear_fit, loglog_slope
from refimpl.data import bump_images
from refimpl.prd import flow, model, stability, theory


# ============================================================================================ prd-theory
def gram(run, settings, X):
    """H∞ in closed form (Definition 1) against its Monte Carlo estimate; λ₀ and λ_max. Returns (H, estimate)."""
    H = theory.gram_infinity(X)
    eigenvalues = np.linalg.eigvalsh(H)
    lambda_0, lambda_max = float(eigenvalues[0]), float(eigenvalues[-1])
    estimate = theory.gram_monte_carlo(run.rng, X, settings.monte_carlo_samples)
    run.record("gram.lambda0", lambda_0)
    run.record("gram.lambda_max", lambda_max)
    run.record("gram.condition_number", lambda_max / lambda_0)
    run.record("gram.mc_max_abs_error", float(np.abs(estimate - H).max()))
    run.record("gram.mc_samples", settings.monte_carlo_samples)
    return H, estimate


def theory_problem(rng, settings, n=None):
    """n (default ``settings.n``) random unit inputs in d_in dimensions and targets y_p ~ N(0, 1)."""
    n = settings.n if n is None else n
    return model.normalise_inputs(rng.standard_normal((n, settings.d_in))), rng.standard_normal((n, 1))


def theorem1(run, settings, X, Y, dt, steps, lambda_0):
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
    final = np.array([[t.drift_max[-1] for t in width_runs[m]] for m in settings.widths])  # (widths, seeds)
    bound = np.array([[theory.theorem1_bound(t.times[-1], n, m, lambda_0, t.residual[0]) for t in width_runs[m]]
                      for m in settings.widths])
    bound_ratios = final / bound
    run.record("thm1.widths", settings.widths)
    run.record("thm1.drift_max", drift_max)
    run.record("thm1.width_slope", loglog_slope(widths, drift_max))
    run.record("thm1.width_slope_mean", loglog_slope(widths, drift_mean))
    run.record("thm1.frobenius_slope", loglog_slope(widths, drift_frobenius))
    tightest = np.unravel_index(np.argmax(bound_ratios), final.shape)  # the run closest to its bound
    run.record("thm1.drift_max_at_tightest_eq13", final[tightest])
    run.record("thm1.bound_eq13_at_tightest", bound[tightest])
    run.record("thm1.max_ratio_to_bound_eq13", float(np.max(bound_ratios)))
    run.record("thm1.final_residual_max", float(max(t.residual[-1] for r in width_runs.values() for t in r)))
    return width_runs


def distribution(run, key, values, above=1):
    """Record the per-seed ``values`` under ``key`` with their mean, median, quartiles and the fraction of
    them above ``above`` (an int: 1 for a ratio, 0 for a difference)."""
    values = np.asarray(values, dtype=float)
    q25, median, q75 = np.percentile(values, [25, 50, 75])
    for name, value in (("per_seed", values), ("mean", values.mean()), ("median", median), ("q25", q25),
                        ("q75", q75), (f"fraction_above_{above}", float(np.mean(values > above))),
                        ("seeds", values.size)):
        run.record(f"{key}.{name}", value)


def tightest(run, key, measured, bound, name):
    """Record where ``measured`` (any shape) comes closest to ``bound`` (same shape, > 0): both values there
    and the largest ratio, as ``key.{name}_at_tightest``, ``key.bound_{name}_at_tightest``, ``key.max_ratio_{name}``."""
    ratios = measured / bound
    at = np.unravel_index(np.argmax(ratios), ratios.shape)
    run.record(f"{key}.{name}_at_tightest", float(measured[at]))
    run.record(f"{key}.bound_{name}_at_tightest", float(bound[at]))
    run.record(f"{key}.max_ratio_{name}", float(ratios[at]))


def theorem2_critics(settings, lambda_0, lambda_max, n, m, residual_0):
    """The critics of the Theorem 2 runs, and for each projected one its bound L and whether it lies in the
    theorem's regime κμ < ε < ‖z(0) − y‖, with ε = ``epsilon_fraction`` · min over seeds of ‖z(0) − y‖.

    The in-regime bounds are ``bound_fractions`` of the L at which κμ = ε; ``settings.bound`` is the
    reference L of the first pass, kept to show (and refuse to score) a configuration outside the regime.
    Returns ({name: CriticSettings or None}, {name: (L, κμ, in_regime)}, κ, ε)."""
    kappa = theory.theorem2_kappa(lambda_0, lambda_max)
    epsilon = settings.epsilon_fraction * float(np.min(residual_0))
    limit = theory.theorem2_critic_bound(epsilon, n, m, settings.delta, kappa)
    bounds = {f"projection_{k}": fraction * limit for k, fraction in enumerate(settings.bound_fractions)}
    bounds["projection_out"] = settings.bound
    critics, regimes = {}, {}
    for name, L in bounds.items():
        critics[name] = flow.CriticSettings(rate=settings.critic_rate, regulariser="projection", bound=L)
        mu = theory.theorem2_mu(L, n, m, settings.delta)
        regimes[name] = (L, kappa * mu, theory.theorem2_in_regime(kappa, mu, epsilon, residual_0))
    critics["penalty"] = flow.CriticSettings(rate=settings.critic_rate, regulariser="penalty", penalty=settings.penalty)
    critics["frozen"] = None
    return critics, regimes, kappa, epsilon


def theorem2(run, settings, X, Y, dt, steps, lambda_0, lambda_max):
    """The same initialisations trained without and with diffusion, for every critic of
    :func:`theorem2_critics` and several seeds; eqs. 43 and 35 scored for the projected critics in regime.

    Returns the list of runs per seed ({"sup", critic names} → Trajectory) and the first seed's initial
    (U, V, W, a)."""
    n, m = X.shape[0], settings.width_theorem2
    common = dict(dt=dt, steps=int(settings.horizon_theorem2 * steps), train_V=False, checkpoints=settings.checkpoints)
    starts = [(*model.init_generator(run.rng, X.shape[1], 1, m), *model.init_critic(run.rng, 1, m))
              for _ in range(settings.seeds_theorem2)]
    residual_0 = np.array([np.linalg.norm(model.generator_forward(X, U, V) - Y) for U, V, _, _ in starts])
    critics, regimes, kappa, epsilon = theorem2_critics(settings, lambda_0, lambda_max, n, m, residual_0)
    seeds = []
    for U, V, W, a in run.progress(starts, desc="theorem 2 seeds"):
        runs = {"sup": flow.train(X, Y, U, V, adversarial=False, **common)}
        for name, critic in critics.items():
            runs[name] = flow.train(X, Y, U, V, adversarial=True, W=W, a=a, critic=critic, rng=run.rng, **common)
        seeds.append(runs)
    for key, value in (("kappa", kappa), ("delta", settings.delta), ("epsilon", epsilon), ("width", m),
                       ("residual_0_min", float(residual_0.min())), ("seeds", settings.seeds_theorem2)):
        run.record(f"thm2.{key}", value)
    distribution(run, "thm2.sup.final_residual", [runs["sup"].residual[-1] for runs in seeds])
    for name in critics:
        distribution(run, f"thm2.{name}.drift_ratio", [runs[name].drift_max[-1] / runs["sup"].drift_max[-1]
                                                       for runs in seeds])
        distribution(run, f"thm2.{name}.final_residual", [runs[name].residual[-1] for runs in seeds])
    for name, (L, kappa_mu, in_regime) in regimes.items():
        score_theorem2_bounds(run, f"thm2.{name}", [runs[name] for runs in seeds], (L, kappa_mu, in_regime),
                              (settings.delta, kappa, epsilon, lambda_0), n, m)
    return seeds, starts[0]


def score_theorem2_bounds(run, key, trajectories, regime, constants, n, m):
    """Eq. 43 (drift) and eq. 35 (residual) against every trajectory of one projected critic, at every
    checkpoint t > 0, recorded where they come closest; refused (only the reason recorded) outside the regime.

    ``regime`` is (L, κμ, in_regime) of :func:`theorem2_critics`, ``constants`` (δ, κ, ε, λ₀)."""
    (L, kappa_mu, in_regime), (delta, kappa, epsilon, lambda_0) = regime, constants
    run.record(f"{key}.L", L)
    run.record(f"{key}.kappa_mu", kappa_mu)
    run.record(f"{key}.in_regime", in_regime)
    if not in_regime:
        run.record(f"{key}.refused", f"outside the regime κμ < ε < ‖z(0) − y‖: κμ = {kappa_mu:.3g}, "
                                     f"ε = {epsilon:.3g}; eqs. 35 and 43 are vacuous here and are not scored")
        return
    times = trajectories[0].times
    positive, mu = times > 0, kappa_mu / kappa
    drift = np.array([t.drift_max[positive] for t in trajectories])
    bound = np.array([theory.theorem2_bound(times[positive], n, m, lambda_0, t.residual[0], L, delta, kappa)
                      for t in trajectories])
    tightest(run, key, drift, bound, "drift_eq43")
    residual = np.array([t.residual[positive] for t in trajectories])
    bound = np.array([theory.residual_bound(times[positive], t.residual[0], lambda_0, kappa, mu) for t in trajectories])
    tightest(run, key, residual, bound, "residual_eq35")


# ------------------------------------------------------------------ the theorems' other dependences
def supervised_runs(run, settings, X, Y, m, seeds):
    """``seeds`` initialisations of width m trained under L_sup (v frozen) to T = horizon/λ₀ of (X, Y), at
    dt = step_factor/λ_max(H∞). Returns (λ₀, trajectories)."""
    eigenvalues = np.linalg.eigvalsh(theory.gram_infinity(X))
    lambda_0, dt = float(eigenvalues[0]), settings.step_factor / float(eigenvalues[-1])
    steps = int(np.ceil(settings.horizon / lambda_0 / dt))
    trajectories = [flow.train(X, Y, *model.init_generator(run.rng, X.shape[1], 1, m), dt=dt, steps=steps,
                               adversarial=False, train_V=False, checkpoints=settings.checkpoints)
                    for _ in range(seeds)]
    return lambda_0, trajectories


def decay_rate(trajectory):
    """The late-time decay rate of ‖z(t) − y‖: minus the slope of its log over the second half of the run."""
    late = trajectory.times >= trajectory.times[-1] / 2
    return -linear_fit(trajectory.times[late], np.log(trajectory.residual[late]))[0]


def theorem1_in_n(run, settings):
    """Theorem 1's n^{3/2}: random problems of ``sizes`` n at width ``dependence_width``; the drift times λ₀
    (the theorem's bound is n^{3/2}/(√m λ₀ δ)) against n, and every run against eq. 13."""
    m, drift_lambda, ratios, lambdas = settings.dependence_width, [], [], []
    for n in run.progress(settings.sizes, desc="theorem 1, n"):
        X, Y = theory_problem(run.rng, settings, n=n)
        lambda_0, trajectories = supervised_runs(run, settings, X, Y, m, settings.dependence_seeds)
        lambdas.append(lambda_0)
        drift_lambda.append(np.median([t.drift_max[-1] * lambda_0 for t in trajectories]))
        ratios += [t.drift_max[-1] / theory.theorem1_bound(t.times[-1], n, m, lambda_0, t.residual[0])
                   for t in trajectories]
    run.record("thm1.n_sweep.sizes", settings.sizes)
    run.record("thm1.n_sweep.lambda0", lambdas)
    run.record("thm1.n_sweep.drift_times_lambda0_median", drift_lambda)
    run.record("thm1.n_sweep.exponent", loglog_slope(np.array(settings.sizes, dtype=float), np.array(drift_lambda)))
    run.record("thm1.n_sweep.max_ratio_to_bound_eq13", float(np.max(ratios)))


def aligned_inputs(rng, n, d_in, alignments):
    """One draw of n Gaussian inputs, shifted by c·e₁ for each c of ``alignments`` and normalised: the larger
    c, the more nearly parallel the inputs and the smaller λ₀. Returns a list of (n, d_in) arrays."""
    G, shift = rng.standard_normal((n, d_in)), np.eye(d_in)[0]
    return [model.normalise_inputs(G + c * shift) for c in alignments]


def theorem1_in_lambda0(run, settings):
    """Theorem 1's 1/λ₀ and the residual's rate: inputs of one draw made more nearly parallel (λ₀ falls),
    the same targets; the drift normalised by its eq. 13 prefactor 2√n‖z(0) − y‖/√m (so that the bound is
    (1 − e^{−λ₀T/2})/λ₀) against λ₀, and the late-time decay rate of ‖z − y‖ against λ₀/2 (Remark 3)."""
    n, m = settings.n, settings.dependence_width
    Y = run.rng.standard_normal((n, 1))
    lambdas, drift, rates, ratios = [], [], [], []
    for X in run.progress(aligned_inputs(run.rng, n, settings.d_in, settings.alignments), desc="theorem 1, λ₀"):
        lambda_0, trajectories = supervised_runs(run, settings, X, Y, m, settings.dependence_seeds)
        lambdas.append(lambda_0)
        drift.append(np.median([t.drift_max[-1] * np.sqrt(m) / (2 * np.sqrt(n) * t.residual[0])
                                for t in trajectories]))
        rates.append(np.median([decay_rate(t) for t in trajectories]))
        ratios += [t.drift_max[-1] / theory.theorem1_bound(t.times[-1], n, m, lambda_0, t.residual[0])
                   for t in trajectories]
    lambdas = np.array(lambdas)
    run.record("thm1.lambda_sweep.alignments", settings.alignments)
    run.record("thm1.lambda_sweep.lambda0", lambdas)
    run.record("thm1.lambda_sweep.lambda0_half", lambdas / 2)
    run.record("thm1.lambda_sweep.normalised_drift_median", drift)
    run.record("thm1.lambda_sweep.exponent", loglog_slope(lambdas, np.array(drift)))
    run.record("thm1.lambda_sweep.decay_rate_median", rates)
    run.record("thm1.lambda_sweep.decay_rate_over_lambda0", np.array(rates) / lambdas)
    run.record("thm1.lambda_sweep.decay_rate_exponent", loglog_slope(lambdas, np.array(rates)))
    run.record("thm1.lambda_sweep.max_ratio_to_bound_eq13", float(np.max(ratios)))


def theorem2_widths(run, settings, X, Y, dt, steps, lambda_0, lambda_max):
    """The width sweep under L_aug (v frozen, horizon T) for a projected critic of one fixed bound L (the
    first in-regime fraction at the smallest width: μ ∝ L/√m only falls with m), the gradient-penalty and
    the frozen critic: the exponent in m of the median max_j drift for each, and eq. 43 for the projected one
    at every width that is in the regime. Returns {critic: (widths, seeds) array of drifts at T}."""
    n, widths = X.shape[0], settings.widths_aug
    kappa, epsilon = theory.theorem2_kappa(lambda_0, lambda_max), run.lookup("thm2.epsilon")
    L = settings.bound_fractions[0] * theory.theorem2_critic_bound(epsilon, n, widths[0], settings.delta, kappa)
    critics = {"projection": flow.CriticSettings(rate=settings.critic_rate, regulariser="projection", bound=L),
               "penalty": flow.CriticSettings(rate=settings.critic_rate, regulariser="penalty", penalty=settings.penalty),
               "frozen": None}
    drift = {name: np.zeros((len(widths), settings.dependence_seeds)) for name in critics}
    ratios, regimes = [], []
    for i, m in enumerate(run.progress(widths, desc="theorem 2 widths")):
        mu, trajectories = theory.theorem2_mu(L, n, m, settings.delta), []
        for seed in range(settings.dependence_seeds):
            U, V = model.init_generator(run.rng, X.shape[1], 1, m)
            W, a = model.init_critic(run.rng, 1, m)
            for name, critic in critics.items():
                trajectory = flow.train(X, Y, U, V, dt=dt, steps=steps, adversarial=True, W=W, a=a, critic=critic,
                                        train_V=False, rng=run.rng, checkpoints=settings.checkpoints)
                drift[name][i, seed] = trajectory.drift_max[-1]
                trajectories += [trajectory] if name == "projection" else []
        regimes.append(theory.theorem2_in_regime(kappa, mu, epsilon, [t.residual[0] for t in trajectories]))
        if regimes[-1]:
            ratios += [t.drift_max[-1] / theory.theorem2_bound(t.times[-1], n, m, lambda_0, t.residual[0], L,
                                                               settings.delta, kappa) for t in trajectories]
    run.record("thm2.widths.widths", widths)
    run.record("thm2.widths.projection_L", L)
    run.record("thm2.widths.projection_in_regime", regimes)
    for name, values in drift.items():
        median = np.median(values, axis=1)
        run.record(f"thm2.widths.{name}.drift_median", median)
        run.record(f"thm2.widths.{name}.exponent", loglog_slope(np.array(widths, dtype=float), median))
    if ratios:
        run.record("thm2.widths.projection.max_ratio_to_bound_eq43", float(np.max(ratios)))
    return drift


THEOREM3_TERMS = ("reaction_u", "diffusion_u", "reaction_v", "diffusion_v")


def split_sizes(problems, m, rng):
    """Mean over neurons and ``problems`` (a list of (X, Y)) of ‖R^u_j‖, ‖D^u_j‖, ‖R^v_j‖, ‖D^v_j‖ at an
    initialisation of width m drawn from ``rng`` (d_out = 1, critic width m); a (4,) array in the order of
    THEOREM3_TERMS."""
    sizes = []
    for X, Y in problems:
        split = model.prd_split(X, Y, *model.init_generator(rng, X.shape[1], 1, m), *model.init_critic(rng, 1, m))
        sizes.append([np.linalg.norm(split.reaction_u, axis=1).mean(), np.linalg.norm(split.diffusion_u, axis=1).mean(),
                      np.linalg.norm(split.reaction_v, axis=0).mean(), np.linalg.norm(split.diffusion_v, axis=0).mean()])
    return np.mean(sizes, axis=0)


def theorem3(run, settings):
    """Theorem 3 (eq. 56): the sizes of the four terms at initialisation against m (the same
    ``theorem3_seeds`` problems at every m) and against n (m = ``width_theorem2``), and their exponents
    (the theorem: R ∝ n m^{−1/2}, D ∝ n m², up to constants, as upper bounds)."""
    problems = [theory_problem(run.rng, settings) for _ in range(settings.theorem3_seeds)]
    in_m = np.array([split_sizes(problems, m, run.rng) for m in run.progress(settings.widths, desc="theorem 3, m")])
    in_n = np.array([split_sizes([theory_problem(run.rng, settings, n=n) for _ in range(settings.theorem3_seeds)],
                                 settings.width_theorem2, run.rng)
                     for n in run.progress(settings.sizes, desc="theorem 3, n")])
    widths, sizes = np.array(settings.widths, dtype=float), np.array(settings.sizes, dtype=float)
    for k, term in enumerate(THEOREM3_TERMS):
        run.record(f"thm3.{term}.size_in_m", in_m[:, k])
        run.record(f"thm3.{term}.exponent_m", loglog_slope(widths, in_m[:, k]))
        run.record(f"thm3.{term}.size_in_n", in_n[:, k])
        run.record(f"thm3.{term}.exponent_n", loglog_slope(sizes, in_n[:, k]))


def bernoulli_fit(run, trajectory, lambda_0):
    """Eq. 58 fitted to the residual of one GP run (the paper's practice, where a plateau K > 0 appears)."""
    fit = theory.fit_bernoulli(trajectory.times, trajectory.residual)
    run.record("bernoulli.K", fit.K)
    run.record("bernoulli.r", fit.r)
    run.record("bernoulli.rate", fit.rate)
    run.record("bernoulli.r_squared", fit.r_squared)
    run.record("bernoulli.lambda0_over_2", lambda_0 / 2)
    run.record("bernoulli.rate_over_lambda0_half", fit.rate / (lambda_0 / 2))
    return fit


def prd_split_terms(run, X, Y, trajectory, problem):
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


# ------------------------------------------------------------------------------- stability analysis
def stability_problem(rng, settings):
    """One small game of the stability scan: unit inputs, targets y_p ~ N(0, 1), critic output weights
    a = +1 (with mixed signs some w_r are driven to the kink w_r = 0 and no smooth equilibrium exists), a
    start W on the sphere ‖W‖_F = ``stability_bound`` and a start u. Returns (X, Y, a, W, u)."""
    X = model.normalise_inputs(rng.standard_normal((settings.stability_n, settings.stability_d_in)))
    Y = rng.standard_normal((settings.stability_n, 1))
    W = rng.standard_normal((settings.stability_critic_width, 1))
    return (X, Y, np.ones(settings.stability_critic_width), W * (settings.stability_bound / np.linalg.norm(W)),
            rng.standard_normal(settings.stability_d_in))


def homogeneous_equilibria(settings, X, Y, a, W, u):
    """A homogeneous equilibrium for every adversarial weight β of the scan (its location does not depend on
    the rate τ, so it is found at τ = 1), each from the same start. Returns {β: Equilibrium}."""
    return {weight: stability.homogeneous_equilibrium(X, Y, a, u, np.ones(1), W, settings.stability_m,
                                                      weight=weight, rate=1.0, flow_steps=settings.stability_flow_steps,
                                                      dt=settings.stability_dt)
            for weight in settings.stability_weights}


def transient_growth(settings, X, Y, a, W, u, weight):
    """∫ s σ_max(B(t)) dt along the homogeneous flow from the game's start, over a quarter of the
    equilibrium search's flow: the log of the most a symmetry-breaking perturbation can grow on the way
    to the homogeneous equilibrium (:func:`refimpl.prd.stability.breaking_rate`)."""
    steps = settings.stability_flow_steps // 4
    rates = stability.homogeneous_breaking_rates(X, Y, a, u, np.ones(1), W, settings.stability_m, weight=weight,
                                                 dt=settings.stability_dt, steps=steps)
    return float(np.sum(rates[:-1]) * settings.stability_dt)


def smooth(equilibria, settings):
    """Whether every equilibrium converged and lies farther than ``stability_kink_margin`` from a ReLU kink."""
    return all(e.converged and e.kink_margin > settings.stability_kink_margin for e in equilibria.values())


def stability_games(run, settings):
    """The first ``stability_problems`` of at most ``stability_draws`` drawn games whose homogeneous equilibria
    are smooth at every β (at a kink the flow has no Jacobian: some draws settle on one). Returns a list of
    (X, Y, a, W, {β: Equilibrium}) and records how many draws it took."""
    games, draws = [], 0
    growth = []
    for draws in run.progress(range(1, settings.stability_draws + 1), desc="stability games"):
        X, Y, a, W, u = stability_problem(run.rng, settings)
        equilibria = homogeneous_equilibria(settings, X, Y, a, W, u)
        if smooth(equilibria, settings):
            games.append((X, Y, a, W, equilibria))
            growth.append([transient_growth(settings, X, Y, a, W, u, weight) for weight in settings.stability_weights])
        if len(games) == settings.stability_problems:
            break
    run.record("stability.draws", draws)
    run.record("stability.games", len(games))
    growth = np.array(growth)  # (games, weights)
    run.record("stability.transient_breaking_log_growth", growth)
    weights = np.array(settings.stability_weights)  # must hold β = 0, sole supervision
    run.record("stability.transient_breaking_log_growth_adv_over_sup", growth[:, weights > 0] / growth[:, weights == 0])
    run.record("stability.transient_time", settings.stability_flow_steps * settings.stability_dt / 4)
    if not games:
        raise RuntimeError(f"no drawn game of {draws} had smooth homogeneous equilibria at every β; "
                           "raise stability_draws or stability_flow_steps")
    return games


def stability_scan(run, settings):
    """Linearisation at the homogeneous equilibria of several games, split into symmetric and
    symmetry-breaking blocks, over the adversarial weight β and the critic rate τ; the JVP Jacobian checked
    against central differences; finite-time Lyapunov exponents from random starts with and without the
    adversary. Returns what the figure draws."""
    games = stability_games(run, settings)
    weights, rates = settings.stability_weights, settings.stability_rates
    shape = (len(games), len(weights), len(rates))
    grids = {name: np.full(shape, np.nan) for name in ("symmetric", "breaking", "breaking_abs", "leakage")}
    spectra, differences = {}, []
    for g, (X, Y, a, _, equilibria) in enumerate(games):
        for (i, weight), (j, rate) in itertools.product(enumerate(weights), enumerate(rates)):
            e = equilibria[weight]
            J = stability.game_jacobian(X, Y, a, e.U, e.V, e.W, weight=weight, rate=rate)
            J_fd = stability.game_jacobian(X, Y, a, e.U, e.V, e.W, weight=weight, rate=rate, method="differences")
            differences.append(np.abs(J - J_fd).max() / np.abs(J).max())
            split = stability.symmetry_split(J, settings.stability_m, X.shape[1], 1, a.size)
            spectra[g, weight, rate] = split
            grids["symmetric"][g, i, j], grids["breaking"][g, i, j] = split.max_real_symmetric, split.max_real_breaking
            grids["breaking_abs"][g, i, j], grids["leakage"][g, i, j] = np.abs(split.breaking).max(), split.leakage
    record_stability(run, settings, games, grids, differences)
    X, Y, a, W, _ = games[0]
    lyapunov = lyapunov_exponents(run, settings, X, Y, a, W)
    return {"grids": grids, "spectra": spectra, "lyapunov": lyapunov}


def record_stability(run, settings, games, grids, differences):
    weights = np.array(settings.stability_weights)
    equilibria = [e for *_, found in games for e in found.values()]
    run.record("stability.weights", weights)
    run.record("stability.rates", settings.stability_rates)
    run.record("stability.equilibrium_max_field_norm", max(e.field_norm for e in equilibria))
    run.record("stability.equilibrium_min_kink_margin", min(e.kink_margin for e in equilibria))
    run.record("stability.equilibrium_max_newton_steps", max(e.iterations for e in equilibria))
    run.record("stability.jacobian_jvp_vs_differences_max_rel", float(np.max(differences)))
    run.record("stability.max_leakage", float(np.max(grids["leakage"])))
    for name in ("symmetric", "breaking"):
        run.record(f"stability.max_real_{name}", grids[name].max(axis=0))  # (weights, rates), max over games
    sup, adv = weights == 0, weights > 0
    threshold = settings.stability_tolerance
    run.record("stability.threshold", threshold)
    run.record("stability.sup_max_real_symmetric", float(grids["symmetric"][:, sup].max()))
    run.record("stability.sup_max_real_breaking", float(grids["breaking"][:, sup].max()))
    run.record("stability.adv_max_real_breaking", float(grids["breaking"][:, adv].max()))
    run.record("stability.adv_max_abs_breaking", float(grids["breaking_abs"][:, adv].max()))
    run.record("stability.adv_max_real_symmetric", float(grids["symmetric"][:, adv].max()))
    sup_stable = (grids["symmetric"][:, sup].max(axis=(1, 2)) <= threshold) & (
        grids["breaking"][:, sup].max(axis=(1, 2)) <= threshold)  # per game
    turing = (grids["breaking"][:, adv] > threshold) & sup_stable[:, None, None]
    run.record("stability.sup_stable_games", int(np.sum(sup_stable)))
    run.record("stability.turing_points", int(np.sum(turing)))
    run.record("stability.scan_points", int(grids["breaking"][:, adv].size))
    run.record("stability.adv_unstable_symmetric_points", int(np.sum(grids["symmetric"][:, adv] > threshold)))


def lyapunov_exponents(run, settings, X, Y, a, W):
    """Largest finite-time Lyapunov exponents of the game from ``ftle_seeds`` random (non-homogeneous)
    starts, at β = 0 and at β = ``ftle_weight`` (τ = 1), the same start for both; recorded as distributions."""
    exponents = {"sup": [], "adv": []}
    for _ in run.progress(range(settings.ftle_seeds), desc="Lyapunov"):
        U, V = model.init_generator(run.rng, X.shape[1], 1, settings.stability_m)
        start = run.rng.integers(2**32)
        for name, weight in (("sup", 0.0), ("adv", settings.ftle_weight)):
            exponent, _ = stability.finite_time_lyapunov(X, Y, a, U, V, W, weight=weight, rate=1.0,
                                                         dt=settings.stability_dt, steps=settings.ftle_steps,
                                                         rng=np.random.default_rng(start))
            exponents[name].append(exponent)
    for name, values in exponents.items():
        distribution(run, f"stability.ftle_{name}", values, above=0)
    distribution(run, "stability.ftle_adv_minus_sup", np.subtract(exponents["adv"], exponents["sup"]), above=0)
    run.record("stability.ftle_time", settings.ftle_steps * settings.stability_dt)
    run.record("stability.ftle_weight", settings.ftle_weight)
    return exponents


# ============================================================================================= prd-mnist
def mnist_step(settings, X):
    """The Euler step dt = step_factor / λ_max(H∞) of the MNIST and synthetic runs."""
    return settings.step_factor / float(np.linalg.eigvalsh(theory.gram_infinity(X))[-1])


def mnist_pairs(run, settings, X, Y, dt):
    """``settings.initialisations`` initialisations, each trained without and with diffusion.

    Returns the (sup, aug) trajectories per initialisation and the initial (U, V, W, a) of each."""
    pairs, initial = [], []
    for index in range(settings.initialisations):
        U, V = model.init_generator(run.rng, X.shape[1], Y.shape[1], settings.m)
        W, a = model.init_critic(run.rng, Y.shape[1], settings.m)
        pairs.append(train_pair(run, settings, X, Y, (U, V, W, a), dt, desc=f"MNIST init {index + 1}"))
        initial.append((U, V, W, a))
    return pairs, initial


def mnist_problem(run, settings, n=None):
    """n (default ``settings.n``) digits, n/10 of each class, unit-normalised, with one-hot targets."""
    images, labels, _, _ = run.load_mnist().flat()
    per_class = (settings.n if n is None else n) // 10
    chosen = np.concatenate([run.rng.choice(np.flatnonzero(labels == digit), per_class, replace=False)
                             for digit in range(10)])
    return model.normalise_inputs(images[chosen]), np.eye(10)[labels[chosen]]


def gp_critic(settings, dt, weight=1.0):
    """The MNIST runs' WGAN-GP critic: absolute ascent step ``critic_step``, adversarial weight β."""
    return flow.CriticSettings(rate=settings.critic_step / dt, regulariser="penalty", penalty=settings.penalty,
                               weight=weight)


def train_pair(run, settings, X, Y, start, dt, desc, steps=None):
    """Train one initialisation ``start`` = (U, V, W, a) without and with diffusion (GP critic,
    simultaneous descent-ascent) for ``steps`` (default ``settings.steps``)."""
    U, V, W, a = start
    common = dict(dt=dt, steps=settings.steps if steps is None else steps, checkpoints=settings.checkpoints,
                  backend=settings.backend, progress=lambda r: run.progress(r, desc=desc))
    sup = flow.train(X, Y, U, V, adversarial=False, **common)
    aug = flow.train(X, Y, U, V, adversarial=True, W=W, a=a, critic=gp_critic(settings, dt), rng=run.rng, **common)
    return sup, aug


def confidence(run, key, values):
    """Record per-initialisation ``values`` under ``key`` with their mean and 95 % t-interval over them
    (NaN for a single initialisation)."""
    from scipy.stats import t as student

    values = np.asarray(values, dtype=float)
    half = (student.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size) if values.size > 1
            else float("nan"))
    for name, value in (("per_init", values), ("mean", values.mean()), ("ci_low", values.mean() - half),
                        ("ci_high", values.mean() + half)):
        run.record(f"{key}.{name}", value)


def at_residual(trajectory, level, name):
    """The value of the curve ``name`` (an attribute of :class:`refimpl.prd.flow.Trajectory`) where the run's
    residual first falls to ``level``, interpolated linearly between checkpoints, and the time there;
    (NaN, NaN) if it never does."""
    below = np.flatnonzero(trajectory.residual <= level)
    if below.size == 0:
        return float("nan"), float("nan")
    k = int(below[0])
    if k == 0:
        return float(getattr(trajectory, name)[0]), 0.0
    r0, r1 = trajectory.residual[k - 1], trajectory.residual[k]
    share = (r0 - level) / (r0 - r1)
    curve, times = getattr(trajectory, name), trajectory.times
    return float(curve[k - 1] + share * (curve[k] - curve[k - 1])), float(times[k - 1] + share * (times[k] - times[k - 1]))


def matched_ratio(sup, aug, name):
    """The drift ``name`` aug/sup where each run's residual first reaches the higher of the two final
    residuals (both fit the data equally well there); NaN where one run ends no better than it began."""
    level = max(sup.residual[-1], aug.residual[-1])
    if level >= min(sup.residual[0], aug.residual[0]):  # one run ends no better than it began: nothing to match
        return float("nan")
    return at_residual(aug, level, name)[0] / at_residual(sup, level, name)[0]


def record_fair(run, prefix, pairs):
    """Residuals beside drifts, with 95 % intervals over initialisations: at T, and at matched residual."""
    for k, kind in enumerate(("sup", "aug")):
        confidence(run, f"{prefix}.fair.residual_{kind}", [p[k].residual[-1] for p in pairs])
        confidence(run, f"{prefix}.fair.drift_U_{kind}", [p[k].drift_U[-1] for p in pairs])
    confidence(run, f"{prefix}.fair.residual_matched", [max(p[0].residual[-1], p[1].residual[-1]) for p in pairs])
    for name in ("drift_U", "drift_V"):
        confidence(run, f"{prefix}.fair.{name}_ratio_at_T", [getattr(p[1], name)[-1] / getattr(p[0], name)[-1]
                                                           for p in pairs])
        confidence(run, f"{prefix}.fair.{name}_ratio_matched", [matched_ratio(*p, name) for p in pairs])


def weight_sweep(run, settings, X, Y, dt, pairs, initial):
    """The adversarial weight β of L_sup − β L_adv swept over ``settings.weights`` (β = 1 is the pairs'
    own aug run), the first ``weight_initialisations``; drift ratio at T and at matched residual, and the
    aug residual, each a mean over those initialisations."""
    weights = sorted({1.0, *settings.weights})
    pairs, initial = pairs[:settings.weight_initialisations], initial[:settings.weight_initialisations]
    rows = {name: [] for name in ("ratio_at_T", "ratio_matched", "residual_aug")}
    for weight in run.progress(weights, desc="MNIST weights"):
        runs = [aug if weight == 1.0 else flow.train(X, Y, U, V, adversarial=True, W=W, a=a, rng=run.rng,
                                                     critic=gp_critic(settings, dt, weight), dt=dt,
                                                     steps=settings.steps, checkpoints=settings.checkpoints,
                                                     backend=settings.backend)
                for (_, aug), (U, V, W, a) in zip(pairs, initial, strict=True)]
        rows["ratio_at_T"].append(np.mean([r.drift_U[-1] / p[0].drift_U[-1] for r, p in zip(runs, pairs, strict=True)]))
        matched = [matched_ratio(p[0], r, "drift_U") for r, p in zip(runs, pairs, strict=True)]
        rows["ratio_matched"].append(np.mean(matched))  # NaN where a run ends no better than it began
        rows["residual_aug"].append(np.mean([r.residual[-1] for r in runs]))
    run.record("mnist.weights.values", weights)
    for name, values in rows.items():
        run.record(f"mnist.weights.drift_U_{name}" if name != "residual_aug" else "mnist.weights.residual_aug", values)


def convergence_pairs(run, settings):
    """Pairs trained to λ₀T = ``convergence_lambda_T`` on ``convergence_n`` digits (λ₀ = λ_min(H∞)), so that
    the supervised run has converged: drift ratios at T and at matched residual, with the residuals."""
    X, Y = mnist_problem(run, settings, n=settings.convergence_n)
    dt = mnist_step(settings, X)
    lambda_0 = float(np.linalg.eigvalsh(theory.gram_infinity(X))[0])
    steps = int(np.ceil(settings.convergence_lambda_T / (lambda_0 * dt)))
    pairs = []
    for index in range(settings.convergence_initialisations):
        start = (*model.init_generator(run.rng, X.shape[1], Y.shape[1], settings.m),
                 *model.init_critic(run.rng, Y.shape[1], settings.m))
        pairs.append(train_pair(run, settings, X, Y, start, dt, desc=f"MNIST to convergence {index + 1}", steps=steps))
    run.record("mnist.converged.n", settings.convergence_n)
    run.record("mnist.converged.lambda0", lambda_0)
    run.record("mnist.converged.lambda0_T", lambda_0 * dt * steps)
    run.record("mnist.converged.steps", steps)
    record_fair(run, "mnist.converged", pairs)
    return pairs


def full_mnist_comparison(run, settings):
    r"""Pairs without and with diffusion (the critic of the other MNIST runs) on the full training set,
    read through ``run.load_mnist()``; skipped, and said so under ``mnist.full.skipped``, when the run has
    only the bundled subset (no ``--mnist-dir``).

    ``full_n`` digits (None: all) of a random permutation, width ``full_m``, ``full_steps`` Euler steps of
    dt = step_factor/λ̂_max with λ̂_max = (n/k) λ_max(H∞_S) on a random subset S of k = ``full_gram_subset``
    digits (an estimate: λ_max(H∞)/n tends to the top eigenvalue of the kernel operator). The n × n H∞ is
    out of reach, so λ₀ is bounded above by Cauchy interlacing,

    .. math:: \lambda_0 = \lambda_{\min}(H^\infty) \le \lambda_{\min}(H^\infty_S),

    and λ₀T by λ_min(H∞_S)·T. Drift ratios at T and at matched residual with residuals beside them
    (:func:`record_fair`, under ``mnist.full``). Returns the pairs, or None when skipped."""
    split = run.load_mnist()
    if split.source.startswith("bundled"):
        run.record("mnist.full.skipped", f"only the {split.source} subset was given (no --mnist-dir): the "
                                         "full-training-set comparison was not run")
        return None
    images, labels, _, _ = split.flat()
    n = len(labels) if settings.full_n is None else min(settings.full_n, len(labels))
    chosen = np.sort(run.rng.permutation(len(labels))[:n])
    X, Y = model.normalise_inputs(images[chosen]), np.eye(10)[labels[chosen]]
    subset = run.rng.choice(n, min(settings.full_gram_subset, n), replace=False)
    eigenvalues = np.linalg.eigvalsh(theory.gram_infinity(X[subset]))
    lambda_max = float(eigenvalues[-1]) * n / subset.size
    dt = settings.step_factor / lambda_max
    pairs = []
    for index in range(settings.full_initialisations):
        start = (*model.init_generator(run.rng, X.shape[1], Y.shape[1], settings.full_m),
                 *model.init_critic(run.rng, Y.shape[1], settings.full_m))
        pairs.append(train_pair(run, settings, X, Y, start, dt, desc=f"full MNIST init {index + 1}",
                                steps=settings.full_steps))
    t_end = dt * settings.full_steps
    for key, value in (("source", split.source), ("n", n), ("m", settings.full_m), ("steps", settings.full_steps),
                       ("initialisations", settings.full_initialisations), ("dt", dt), ("t_end", t_end),
                       ("gram_subset", int(subset.size)), ("lambda_max_estimate", lambda_max),
                       ("lambda0_upper_bound", float(eigenvalues[0])),
                       ("lambda0_T_upper_bound", float(eigenvalues[0]) * t_end), ("norm_Y", float(np.sqrt(n)))):
        run.record(f"mnist.full.{key}", value)
    confidence(run, "mnist.full.fair.residual_initial", [p[0].residual[0] for p in pairs])
    record_fair(run, "mnist.full", pairs)
    return pairs


def synthetic_pair(run, settings):
    X = model.normalise_inputs(bump_images(run.rng, settings.synthetic_n, bumps=settings.bumps,
                                           width=settings.bump_width))
    teacher_U, teacher_V = model.init_generator(run.rng, X.shape[1], settings.synthetic_d_out, 16)
    Y = model.generator_forward(X, teacher_U, teacher_V)
    Y = (Y - Y.mean(axis=0)) / Y.std(axis=0)
    dt = mnist_step(settings, X)
    U, V = model.init_generator(run.rng, X.shape[1], Y.shape[1], settings.m)
    W, a = model.init_critic(run.rng, Y.shape[1], settings.m)
    sup, aug = train_pair(run, settings, X, Y, (U, V, W, a), dt, desc="synthetic")
    record_pairs(run, "synthetic", [(sup, aug)], [(U, V)])
    return sup, aug, U, V


def drift_spread(trajectory):
    """Coefficient of variation of the per-neuron drift ‖u_j(T) − u_j(0)‖: 0 for a homogeneous layer."""
    drift = trajectory.neuron_drift[-1]
    return float(drift.std() / drift.mean())


def record_pairs(run, prefix, pairs, initial):
    from scipy.stats import skew

    run.record(f"{prefix}.residual_initial", float(np.mean([p[0].residual[0] for p in pairs])))
    for k, kind in enumerate(("sup", "aug")):
        run.record(f"{prefix}.drift_U_{kind}", float(np.mean([p[k].drift_U[-1] for p in pairs])))
        run.record(f"{prefix}.drift_V_{kind}", float(np.mean([p[k].drift_V[-1] for p in pairs])))
        run.record(f"{prefix}.drift_max_{kind}", float(np.mean([p[k].drift_max[-1] for p in pairs])))
        run.record(f"{prefix}.residual_{kind}", float(np.mean([p[k].residual[-1] for p in pairs])))
        run.record(f"{prefix}.neuron_drift_cv_{kind}", float(np.mean([drift_spread(p[k]) for p in pairs])))
        skewness = [skew(np.ravel(p[k].V - V0)) for p, (_, V0, *_) in zip(pairs, initial, strict=True)]
        run.record(f"{prefix}.delta_V_skewness_{kind}", float(np.mean(skewness)))
    for name, key in (("drift_U", "drift_ratio_U"), ("drift_V", "drift_ratio_V"),
                      ("neuron_drift_cv", "neuron_drift_cv_ratio")):
        run.record(f"{prefix}.{key}", run.lookup(f"{prefix}.{name}_aug") / run.lookup(f"{prefix}.{name}_sup"))
    run.record(f"{prefix}.initialisations", len(pairs))
