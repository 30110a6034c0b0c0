"""Cross-check cases of the reaction-diffusion topic: the reaction Jacobian of the linear stability analysis
(Turing 1952), as a vector-Jacobian product :math:`w^\\top J(u, v)` at points near each model's steady state.

The reaction-diffusion solvers have no gradients; the Jacobian is the one derivative the theory rests on.
"""

import numpy as np

from refimpl.crosscheck.lazy import jnp, torch
from refimpl.crosscheck.registry import Case, register, uniform
from refimpl.rd import brusselator, gray_scott, schnakenberg, theory

TOPIC = "rd"
MODELS = {"brusselator": brusselator(), "schnakenberg": schnakenberg(), "gray_scott": gray_scott(0.037, 0.06)}


def _inputs(model):
    return lambda rng: {"uv": np.asarray(model.steady_state, dtype=np.float64) + uniform(rng, (2,), 0.5),
                        "w": uniform(rng, (2,), 1.0)}


def _reaction(model):
    def compute(inputs):
        u, v = inputs["uv"]
        return {"value": np.array(model.reaction(u, v)), "grad_uv": inputs["w"] @ theory.jacobian(model, u, v)}

    return compute


def _polynomial(c, u, v):
    return c[0] + c[1] * u + c[2] * v + (c[3] * u + c[4] * v) * (u * v)


def _reference(model, stack):
    return lambda uv: stack([_polynomial(model.f, uv[0], uv[1]), _polynomial(model.g, uv[0], uv[1])])


for _name, _model in MODELS.items():
    register(Case(f"rd.reaction_jacobian[{_name}]", TOPIC,
                  r"J = \partial(f, g)/\partial(u, v),\ f = c_0 + c_u u + c_v v + c_{uuv} u^2 v + c_{uvv} u v^2",
                  _inputs(_model), _reaction(_model), ("uv",),
                  {"torch": _reference(_model, lambda parts: torch.stack(parts)),
                   "jax": _reference(_model, lambda parts: jnp.stack(parts))}, cotangent="w"))
