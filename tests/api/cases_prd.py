"""Bad-input cases of :mod:`refimpl.prd`, its flow and its theory (see :mod:`tests.api.probe`)."""

import numpy as np

from refimpl import prd
from refimpl.prd import flow, model, theory
from tests.api.probe import Case, qualified_name

N, D_IN, D_OUT, M, M_C = 5, 4, 2, 6, 3


def _problem(rng):
    """A valid problem: unit rows X, targets Y, a generator (U, V) and a critic (W, a)."""
    X = model.normalise_inputs(rng.standard_normal((N, D_IN)))
    U, V = model.init_generator(rng, D_IN, D_OUT, M)
    W, a = model.init_critic(rng, D_OUT, M_C)
    return {"X": X, "Y": rng.standard_normal((N, D_OUT)), "U": U, "V": V, "W": W, "a": a}


def _pick(*names):
    return lambda rng: {k: v for k, v in _problem(rng).items() if k in names}


def _critic(rng, name="Y"):
    return {name: rng.standard_normal((N, D_OUT)), "W": rng.standard_normal((M_C, D_OUT)),
            "a": rng.choice([-1.0, 1.0], M_C)}


def _critic_backward_example(rng):
    _, cache = model.critic_forward(**_critic(rng))
    return {"dout": rng.standard_normal(N), "cache": cache}


def _critic_objective_example(rng):
    real_and_critic = _critic(rng, "Y_real")
    return {**real_and_critic, "Z_fake": rng.standard_normal((N, D_OUT)), "penalty": 10.0,
            "Y_hat": rng.standard_normal((N, D_OUT))}


def _train_example(rng):
    return {**_problem(rng), "dt": 0.1, "steps": 3, "adversarial": True,
            "critic": flow.CriticSettings(rate=1.0, regulariser="penalty"), "rng": rng, "checkpoints": 2,
            "backend": "numpy"}


def _flat_field_example(rng):
    return {**_problem(rng), "adversarial": True, "critic_rate": 0.5, "penalty": 1.0,
            "epsilon": rng.uniform(size=(N, 1)), "backend": "numpy"}


def _joint_field_example(rng):
    problem = _problem(rng)
    state = [problem[k] for k in "UVWa"]
    return {"vector": flow.pack(*state), "X": problem["X"], "Y": problem["Y"], "shapes": [s.shape for s in state],
            "adversarial": True, "critic_rate": 0.5, "penalty": 1.0, "epsilon": rng.uniform(size=(N, 1)),
            "backend": "numpy"}


def _residual_curve(rng):
    t = np.linspace(0.0, 4.0, 9)
    return {"t": t, "residual": 0.3 + 0.7 * np.exp(-t) + 1e-3 * rng.standard_normal(t.size)}


def _game(rng):
    """A valid stability game: d_out = 1, X (n, d_in), Y, a, a generator (U, V) and a critic W."""
    X = model.normalise_inputs(rng.standard_normal((N, D_IN)))
    U, V = model.init_generator(rng, D_IN, 1, M)
    W, a = model.init_critic(rng, 1, M_C)
    return {"X": X, "Y": rng.standard_normal((N, 1)), "a": a, "U": U, "V": V, "W": W, "weight": 0.5, "rate": 2.0}


def _equilibrium_example(rng):
    game = _game(rng)
    return {**{k: game[k] for k in ("X", "Y", "a", "W", "weight", "rate")}, "u": rng.standard_normal(D_IN),
            "v": np.ones(1), "m": M, "tolerance": 1e-10, "flow_steps": 2, "dt": 0.01, "newton_steps": 2}


def _homogeneous_state(rng):
    game = _game(rng)
    return {**{k: game[k] for k in ("X", "Y", "a", "W", "weight")}, "U": np.tile(rng.standard_normal(D_IN), (M, 1)),
            "V": np.full((1, M), 0.7)}


def _lyapunov_example(rng):
    game = _game(rng)
    size = game["U"].size + game["V"].size + game["W"].size
    return {**game, "dt": 0.01, "steps": 3, "rng": rng, "subspace": np.eye(size)[:, :3]}


def _split_example(rng):
    game = _game(rng)
    J = prd.game_jacobian(**game)
    return {"J": J, "m": M, "d_in": D_IN, "d_out": 1, "m_c": M_C}


def _bound_constants():
    return {"t": np.array([0.5, 1.0]), "n": N, "m": M, "lambda_0": 0.1, "residual_0": 1.0}


CASES = [
    Case(prd.init_generator, lambda rng: {"rng": rng, "d_in": D_IN, "d_out": D_OUT, "m": M}),
    Case(prd.init_critic, lambda rng: {"rng": rng, "d_out": D_OUT, "m_c": M_C}),
    Case(prd.normalise_inputs, lambda rng: {"X": rng.standard_normal((N, D_IN))},
         accepts={"X": ("wrong size",)}),  # any number of input features
    Case(prd.generator_scale, lambda rng: {"d_out": D_OUT, "m": M}),
    Case(prd.generator_forward, _pick("X", "U", "V")),
    Case(prd.critic_forward, _critic),
    Case(prd.critic_backward, _critic_backward_example, skip=("cache",)),  # the cache is the forward's output
    Case(prd.adversarial_term, _pick("X", "U", "V", "W", "a")),
    Case(prd.supervised_gradient, lambda rng: {**_pick("X", "Y", "U", "V")(rng), "backend": "numpy"}),
    Case(prd.adversarial_gradient, lambda rng: {**_pick("X", "U", "V", "W", "a")(rng), "backend": "numpy"}),
    Case(prd.augmented_parts, lambda rng: {**_problem(rng), "backend": "numpy"}),
    Case(prd.augmented_gradient, lambda rng: {**_problem(rng), "backend": "numpy"}),
    Case(prd.prd_split, _problem),
    Case(prd.gradient_penalty, lambda rng: _critic(rng, "Y_hat")),
    Case(prd.critic_objective, _critic_objective_example),
    Case(prd.interpolates, lambda rng: {"rng": rng, "Y_real": rng.standard_normal((N, D_OUT)),
                                        "Z_fake": rng.standard_normal((N, D_OUT))}),
    Case(prd.project_critic, lambda rng: {"W": rng.standard_normal((M_C, D_OUT)), "bound": 1.0},
         accepts={"W": ("wrong size",)}),  # a critic of any output size
    Case(prd.CriticSettings, lambda rng: {"rate": 1.0, "regulariser": "projection", "bound": 1.0, "penalty": 10.0,
                                          "steps": 1, "weight": 1.0}),
    Case(prd.train, _train_example),
    Case(prd.flat_field, _flat_field_example),
    Case(prd.joint_field, _joint_field_example, skip=("shapes",)),  # shapes: a list of tuples, checked by vector's
    Case(prd.integrate_flow, lambda rng: {**_problem(rng), "t_end": 0.05, "adversarial": True, "critic_rate": 0.5,
                                          "t_eval": np.array([0.0, 0.05]), "rtol": 1e-6, "atol": 1e-8},
         accepts={"t_eval": ("none",)}),  # None: the solver's own steps
    Case(prd.gram_infinity, lambda rng: {"X": model.normalise_inputs(rng.standard_normal((N, D_IN)))}),
    Case(prd.gram_finite, _pick("X", "U")),
    Case(prd.gram_monte_carlo, lambda rng: {"rng": rng, "X": model.normalise_inputs(rng.standard_normal((N, D_IN))),
                                            "samples": 50, "batch": 16}),
    Case(prd.lambda0, lambda rng: {"H": theory.gram_infinity(model.normalise_inputs(rng.standard_normal((N, D_IN))))}),
    Case(prd.theorem1_bound, lambda rng: _bound_constants(),
         accepts={"t": ("empty", "extra axis", "wrong size")}),  # element-wise in t
    Case(prd.theorem2_bound, lambda rng: {**_bound_constants(), "L": 1.0, "delta": 0.1, "kappa": 3.0},
         accepts={"t": ("empty", "extra axis", "wrong size")}),
    Case(prd.fit_bernoulli, _residual_curve),
    Case(prd.theorem2_kappa, lambda rng: {"lambda_0": 0.1, "lambda_max": 1.2}),
    Case(prd.theorem2_mu, lambda rng: {"L": 0.5, "n": N, "m": M, "delta": 0.1}),
    Case(prd.theorem2_critic_bound, lambda rng: {"epsilon": 0.5, "n": N, "m": M, "delta": 0.1, "kappa": 3.0}),
    Case(prd.theorem2_in_regime, lambda rng: {"kappa": 3.0, "mu": 0.1, "epsilon": 0.5, "residual_0": np.array([1.0, 2.0])},
         accepts={"residual_0": ("empty", "extra axis", "wrong size")}),  # one initial residual per seed, any count
    Case(prd.residual_bound, lambda rng: {"t": np.array([0.0, 1.0]), "residual_0": 2.0, "lambda_0": 0.1, "kappa": 3.0,
                                          "mu": 0.1}, accepts={"t": ("empty", "extra axis", "wrong size")}),
    Case(prd.make_game, lambda rng: {k: v for k, v in _game(rng).items() if k in ("X", "Y", "a", "weight", "rate")},
         accepts={"X": ("wrong size",), "Y": ("wrong size",), "a": ("wrong size",)}),  # any d_in, d_out, m_c
    Case(prd.game_field, _game),
    Case(prd.game_jacobian, lambda rng: {**_game(rng), "method": "differences", "h": 1e-6}),
    Case(prd.homogeneous_equilibrium, _equilibrium_example),
    Case(prd.homogeneous_breaking_rates, lambda rng: {k: v for k, v in _equilibrium_example(rng).items()
                                                      if k in ("X", "Y", "a", "u", "v", "W", "m", "weight", "dt")}
         | {"steps": 3}),
    Case(prd.breaking_rate, _homogeneous_state),
    Case(prd.finite_time_lyapunov, _lyapunov_example,
         accepts={"subspace": ("none", "wrong size")}),  # None: the whole state; any number of spanning columns
    Case(prd.symmetric_basis, lambda rng: {"m": M, "d_in": D_IN, "d_out": 1, "m_c": M_C}),
    Case(prd.symmetry_split, _split_example),
    Case(prd.kink_margin, lambda rng: {k: v for k, v in _game(rng).items() if k in ("X", "U", "V", "W")}),
    Case(prd.jacobian_spectrum, lambda rng: {**_problem(rng), "adversarial": True, "critic_rate": 0.5, "penalty": 1.0,
                                             "epsilon": rng.uniform(size=(N, 1)), "tolerance": 1e-6, "h": 1e-6}),
]

FLOW_CASES = [
    Case(flow.generator_field, lambda rng: {**_problem(rng), "backend": "numpy"}),
    Case(flow.critic_step, lambda rng: {"rng": rng, **_critic(rng), "Z": rng.standard_normal((N, D_OUT)),
                                        "critic": flow.CriticSettings(), "step_size": 0.1}),
    Case(flow.pack, lambda rng: {"arrays": rng.standard_normal(3)}, call=lambda arrays: flow.pack(arrays),
         accepts={"arrays": ("empty", "extra axis", "wrong size")}),  # any shapes: they are flattened
    Case(flow.unpack, lambda rng: {"vector": rng.standard_normal(6), "shapes": [(2,), (2, 2)]},
         skip=("shapes",)),  # a list of tuples
]

THEORY_CASES = [
    Case(theory.jacobian, lambda rng: {"field": np.sin, "vector": rng.standard_normal(3), "h": 1e-6},
         skip=("field",), accepts={"vector": ("wrong size",)}),  # field: a callable; sin acts on any size
    Case(theory.spectrum_of, lambda rng: {"J": rng.standard_normal((4, 4)), "size_U": 2, "size_V": 1,
                                          "tolerance": 1e-6}),
]

PACKAGES = {"refimpl.prd": CASES, "refimpl.prd.flow": FLOW_CASES, "refimpl.prd.theory": THEORY_CASES}

EXEMPT = {
    qualified_name(prd.AugmentedParts): "a result record (named tuple), built by augmented_parts",
    qualified_name(prd.PrdSplit): "a result record, built by prd_split",
    qualified_name(prd.Trajectory): "a result record, built by train",
    qualified_name(theory.BernoulliFit): "a result record, built by fit_bernoulli",
    qualified_name(theory.Spectrum): "a result record, built by spectrum_of",
    qualified_name(prd.Game): "a validated record, built by make_game",
    qualified_name(prd.Equilibrium): "a result record, built by homogeneous_equilibrium",
    qualified_name(prd.SymmetrySplit): "a result record, built by symmetry_split",
}
