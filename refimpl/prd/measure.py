r"""Measurements of the PRD experiments (:mod:`refimpl.prd.experiment`): training runs and the numbers
recorded from them. Nothing here plots (:mod:`refimpl.prd.figures` does, from what these functions return
and record).

Each function receives the experiment's ``run`` (its generator ``run.rng``, ``run.progress`` and
``run.record``) and records its results under the dotted keys the claims of the experiment name.
"""

import numpy as np

from refimpl.core.fitting import linear_fit, loglog_slope
from refimpl.data import bump_images
from refimpl.prd import flow, model, theory


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


def theory_problem(rng, settings):
    X = model.normalise_inputs(rng.standard_normal((settings.n, settings.d_in)))
    Y = rng.standard_normal((settings.n, 1))
    return X, Y


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


# the theorem's critic first: its numbers carry the unsuffixed keys
THEOREM2_CRITICS = ("projection", "penalty", "frozen")


def theorem2(run, settings, X, Y, dt, steps, lambda_0, lambda_max):
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
        slope, _, r_squared = linear_fit(times[late], extra[late])
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
    drift = np.array([runs["projection"].drift_max[positive] for runs in seeds])  # (seeds, times t > 0)
    bound = np.array([theory.theorem2_bound(times[positive], X.shape[0], m, lambda_0, runs["projection"].residual[0],
                                            settings.bound, 0.1, kappa) for runs in seeds])
    bound_ratios = drift / bound
    tightest = np.unravel_index(np.argmax(bound_ratios), bound_ratios.shape)  # the seed and time closest to it
    run.record("thm2.drift_max_at_tightest_eq43", drift[tightest])
    run.record("thm2.bound_eq43_at_tightest", bound[tightest])
    run.record("thm2.max_ratio_to_bound_eq43", float(np.max(bound_ratios)))
    run.record("thm2.width", m)
    run.record("thm2.seeds", settings.seeds_theorem2)
    run.record("thm2.final_residual_sup", float(np.mean([runs["sup"].residual[-1] for runs in seeds])))
    return seeds, problem


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


def generator_speed(X, Y, state, **field_settings):
    """|θ̇| of the generator, ‖(U̇, V̇)‖, at ``state`` (U, V[, W, a]): ≈ 0 at a stationary point."""
    field = flow.joint_field(flow.pack(*state), X, Y, [v.shape for v in state], **field_settings)
    return float(np.linalg.norm(field[:state[0].size + state[1].size]))


def jacobian_spectra(run, settings, X, Y, dt, steps):
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
        speeds["sup"].append(generator_speed(X, Y, state_sup, adversarial=False))
        speeds["aug"].append(generator_speed(X, Y, state_aug, **game))
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
    speed = generator_speed(X, Y, (stationary.U, stationary.V), adversarial=True, frozen=(W, a))
    initial_speed = generator_speed(X, Y, (U, V), adversarial=True, frozen=(W, a))
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


# ============================================================================================= prd-mnist
def mnist_step(settings, X):
    """The Euler step dt = step_factor / λ_max(H∞) of the MNIST and synthetic runs."""
    return settings.step_factor / float(np.linalg.eigvalsh(theory.gram_infinity(X))[-1])


def mnist_pairs(run, settings, X, Y, dt):
    """``settings.initialisations`` initialisations, each trained without and with diffusion.

    Returns the (sup, aug) trajectories per initialisation and the initial (U, V) of each."""
    pairs, initial = [], []
    for index in range(settings.initialisations):
        U, V = model.init_generator(run.rng, X.shape[1], Y.shape[1], settings.m)
        W, a = model.init_critic(run.rng, Y.shape[1], settings.m)
        pairs.append(train_pair(run, settings, X, Y, U, V, W, a, dt, desc=f"MNIST init {index + 1}"))
        initial.append((U, V))
    return pairs, initial


def mnist_problem(run, settings):
    images, labels, _, _ = run.load_mnist().flat()
    per_class = settings.n // 10
    chosen = np.concatenate([run.rng.choice(np.flatnonzero(labels == digit), per_class, replace=False)
                             for digit in range(10)])
    return model.normalise_inputs(images[chosen]), np.eye(10)[labels[chosen]]


def train_pair(run, settings, X, Y, U, V, W, a, dt, desc):
    """Train one initialisation without and with diffusion (GP critic, simultaneous descent-ascent)."""
    steps = settings.steps
    critic = flow.CriticSettings(rate=settings.critic_step / dt, regulariser="penalty", penalty=settings.penalty)
    common = dict(dt=dt, steps=steps, checkpoints=settings.checkpoints, backend=settings.backend,
                  progress=lambda r: run.progress(r, desc=desc))
    sup = flow.train(X, Y, U, V, adversarial=False, **common)
    aug = flow.train(X, Y, U, V, adversarial=True, W=W, a=a, critic=critic, rng=run.rng, **common)
    return sup, aug


def synthetic_pair(run, settings):
    X = model.normalise_inputs(bump_images(run.rng, settings.synthetic_n, bumps=settings.bumps,
                                           width=settings.bump_width))
    teacher_U, teacher_V = model.init_generator(run.rng, X.shape[1], settings.synthetic_d_out, 16)
    Y = model.generator_forward(X, teacher_U, teacher_V)
    Y = (Y - Y.mean(axis=0)) / Y.std(axis=0)
    dt = mnist_step(settings, X)
    U, V = model.init_generator(run.rng, X.shape[1], Y.shape[1], settings.m)
    W, a = model.init_critic(run.rng, Y.shape[1], settings.m)
    sup, aug = train_pair(run, settings, X, Y, U, V, W, a, dt, desc="synthetic")
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
        skewness = [skew(np.ravel(p[k].V - V0)) for p, (_, V0) in zip(pairs, initial, strict=True)]
        run.record(f"{prefix}.delta_V_skewness_{kind}", float(np.mean(skewness)))
    for name, key in (("drift_U", "drift_ratio_U"), ("drift_V", "drift_ratio_V"),
                      ("neuron_drift_cv", "neuron_drift_cv_ratio")):
        run.record(f"{prefix}.{key}", run.lookup(f"{prefix}.{name}_aug") / run.lookup(f"{prefix}.{name}_sup"))
    run.record(f"{prefix}.initialisations", len(pairs))
