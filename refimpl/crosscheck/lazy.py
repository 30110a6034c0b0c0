"""Stand-ins for the autograd frameworks that import them on first use, inside a reference function.

``from refimpl.crosscheck.lazy import torch, jnp`` lets a topic's ``crosscheck.py`` write its references
as plain expressions (``lambda x: torch.relu(x)``) while registering its cases imports no framework:
the module is imported the first time a reference touches one of its attributes.
"""

import importlib


class LazyModule:
    """The module ``name``, imported when an attribute is first read (after ``prepare()``, if given)."""

    def __init__(self, name, prepare=None):
        self._name, self._prepare, self._module = name, prepare, None

    def __getattr__(self, attribute):
        if self._module is None:
            if self._prepare is not None:
                self._prepare()
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)

    def __repr__(self):
        return f"<lazy module {self._name!r}>"


def _enable_x64():
    """JAX computes in float32 unless told otherwise, before any array is made."""
    import jax

    jax.config.update("jax_enable_x64", True)


torch = LazyModule("torch")
F = LazyModule("torch.nn.functional")
jax = LazyModule("jax", prepare=_enable_x64)
jnp = LazyModule("jax.numpy", prepare=_enable_x64)
jnn = LazyModule("jax.nn", prepare=_enable_x64)
lax = LazyModule("jax.lax", prepare=_enable_x64)
