"""Bad-input cases of :mod:`refimpl.rd` and its theory and measure modules (see :mod:`tests.api.probe`)."""

import numpy as np

from refimpl import rd
from refimpl.rd import measure, model, theory
from tests.api.probe import Case, qualified_name

ANY_SHAPE = ("empty", "extra axis", "wrong size")
GRID = (6, 8)


def _model():
    return rd.brusselator(a=3.0, b=9.0, D_u=1.0, D_v=10.0)


def _fields(rng):
    u_star, v_star = _model().steady_state
    return {"u": u_star + 0.01 * rng.standard_normal(GRID), "v": v_star + 0.01 * rng.standard_normal(GRID)}


def _linearisation(rng):
    return {"J": theory.jacobian(_model()), "D_u": 1.0, "D_v": 10.0}


def _record_example(rng):
    return {"name": "custom", "D_u": 1.0, "D_v": 10.0, "f": np.array([3.0, -10.0, 0.0, 1.0, 0.0]),
            "g": np.array([0.0, 9.0, 0.0, -1.0, 0.0]), "steady_state": np.array([3.0, 3.0]), "parameters": ()}


def _simulate_example(rng):
    return {"model": _model(), **_fields(rng), "dt": 0.01, "steps": 3, "h": 1.0, "boundary": "periodic",
            "backend": "numpy"}


MODEL_CASES = [
    # the name is a free label of the model
    Case(rd.ReactionDiffusion, _record_example, accepts={"name": ("unknown option",)}),
    Case(rd.gray_scott, lambda rng: {"F": 0.037, "k": 0.06, "D_u": 0.2, "D_v": 0.1}),
    Case(rd.gray_scott_preset, lambda rng: {"name": "mazes", "D_u": 0.2, "D_v": 0.1}),
    Case(rd.brusselator, lambda rng: {"a": 3.0, "b": 9.0, "D_u": 1.0, "D_v": 10.0}),
    Case(rd.schnakenberg, lambda rng: {"a": 0.1, "b": 0.9, "D_u": 1.0, "D_v": 40.0, "gamma": 1.0}),
    Case(rd.linear, lambda rng: {"J": np.array([[1.0, -1.0], [2.0, -1.5]]), "D_u": 1.0, "D_v": 10.0}),
    # the stencil has 2·ndim + 1 points in any number of dimensions, on any grid
    Case(rd.laplacian, lambda rng: {"u": rng.standard_normal(GRID), "h": 0.5, "boundary": "neumann"},
         accepts={"u": ("extra axis", "wrong size")}),
    Case(rd.euler_step, lambda rng: {"model": _model(), **_fields(rng), "dt": 0.01, "h": 1.0,
                                     "boundary": "periodic"}),
    Case(rd.max_stable_dt, lambda rng: {"D_max": 10.0, "h": 1.0, "ndim": 2}),
    Case(rd.check_time_step, lambda rng: {"dt": 0.01, "model": _model(), "h": 1.0, "ndim": 2}),
    Case(rd.pearson_seed, lambda rng: {"rng": rng, "shape": GRID, "square": 0.2, "noise": 0.01,
                                       "values": (0.5, 0.25)}),
    Case(rd.noisy_steady_state, lambda rng: {"rng": rng, "model": _model(), "shape": GRID, "amplitude": 1e-3}),
    Case(rd.simulate, _simulate_example),
]

THEORY_CASES = [
    # u, v: None (both) means the model's steady state
    Case(theory.jacobian, lambda rng: {"model": _model(), "u": 3.0, "v": 3.0},
         accepts={"u": ("none",), "v": ("none",)}),
    Case(theory.gray_scott_steady_states, lambda rng: {"F": 0.037, "k": 0.06}),
    *(Case(f, _linearisation) for f in (theory.turing_conditions, theory.is_turing_unstable, theory.unstable_band,
                                        theory.critical_wavenumber, theory.fastest_growing_wavenumber)),
    # element-wise in k2: any shape of wavenumbers is valid
    *(Case(f, lambda rng: {**_linearisation(rng), "k2": np.array([0.0, 0.5, 2.0])}, accepts={"k2": ANY_SHAPE})
      for f in (theory.growth_rates, theory.dispersion_relation)),
    Case(theory.critical_diffusion_ratio, lambda rng: {"J": theory.jacobian(_model())}),
    Case(theory.lattice_wavenumbers_squared, lambda rng: {"shape": GRID, "h": 0.5}),
    # element-wise in the eigenvalues, which are complex in general
    Case(theory.euler_growth_rate, lambda rng: {"rate": np.array([0.1, -0.2]), "dt": 0.01},
         accepts={"rate": ("complex", *ANY_SHAPE)}),
    Case(theory.mode_eigenvectors, lambda rng: {**_linearisation(rng), "k2": 0.5}),
    Case(theory.seeded_mode, lambda rng: {"model": _model(), "shape": GRID, "mode": (1, 2), "amplitude": 1e-3,
                                          "h": 1.0, "branch": 0}),
    Case(theory.mode_coefficient, lambda rng: {"model": _model(), **_fields(rng), "mode": (1, 2), "h": 1.0,
                                               "branch": 0}),
    Case(theory.fourier_mode, lambda rng: {"shape": GRID, "mode": (1, 2)}),
    Case(theory.dominant_wavenumber, lambda rng: {"field": rng.standard_normal(GRID), "h": 0.5},
         accepts={"field": ("wrong size",)}),  # any grid
]

MEASURE_CASES = [
    Case(measure.perturbation_growth_rate, _simulate_example),
]

PACKAGES = {"refimpl.rd": MODEL_CASES, "refimpl.rd.theory": THEORY_CASES, "refimpl.rd.measure": MEASURE_CASES}

EXEMPT = {
    qualified_name(theory.TuringConditions): "a result record (named tuple of booleans)",
}
