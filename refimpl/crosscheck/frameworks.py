"""The autograd frameworks a case is recomputed in: PyTorch and JAX, float64 on the CPU, both optional.

Each framework turns a case's reference forward pass into its value and gradients by its own reverse-mode
autograd. The framework is imported only when a case is evaluated, never when this module is imported.
"""

import importlib.metadata
import importlib.util

import numpy as np


def torch_evaluate(case, inputs):
    """Value and gradients of ``case`` by torch float64 autograd (the cotangent is not an argument of the
    reference, it weights the value)."""
    import torch

    tensors = {name: torch.tensor(array, requires_grad=name in case.wrt) for name, array in inputs.items()}
    value = case.references["torch"](**{name: t for name, t in tensors.items() if name != case.cotangent})
    weight = torch.ones_like(value) if case.cotangent is None else tensors[case.cotangent]
    gradients = torch.autograd.grad((value * weight).sum(), [tensors[name] for name in case.wrt])
    return {"value": value.detach().numpy(), **{f"grad_{name}": g.numpy() for name, g in zip(case.wrt, gradients)}}


def jax_evaluate(case, inputs):
    """Value and gradients of ``case`` by JAX reverse mode (``jax.vjp``) with 64-bit floats enabled.

    The forward and backward passes are compiled as one program (``jax.jit``): run primitive by primitive,
    JAX compiles every operation anew for each new shape, which is slower for these small, varied cases.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    constants = {name: jnp.asarray(array) for name, array in inputs.items()
                 if name not in case.wrt and name != case.cotangent}

    def forward(*arguments):
        return case.references["jax"](**dict(zip(case.wrt, arguments)), **constants)

    def value_and_gradients(weight, *arguments):
        value, pullback = jax.vjp(forward, *arguments)
        return value, pullback(jnp.ones_like(value) if weight is None else weight)

    weight = None if case.cotangent is None else jnp.asarray(inputs[case.cotangent])
    value, gradients = jax.jit(value_and_gradients)(weight, *(jnp.asarray(inputs[name]) for name in case.wrt))
    return {"value": np.asarray(value), **{f"grad_{name}": np.asarray(g) for name, g in zip(case.wrt, gradients)}}


FRAMEWORKS = {"torch": torch_evaluate, "jax": jax_evaluate}


def available(framework):
    """True when ``framework`` (a key of ``FRAMEWORKS``) can be imported."""
    return importlib.util.find_spec(framework) is not None


def version(framework):
    """The installed version of ``framework``, or None."""
    try:
        return importlib.metadata.version(framework)
    except importlib.metadata.PackageNotFoundError:
        return None


def evaluate(framework, case, inputs):
    """``case``'s value and gradients on ``inputs`` in ``framework``, keyed like ``case.output_names()``."""
    return FRAMEWORKS[framework](case, inputs)
