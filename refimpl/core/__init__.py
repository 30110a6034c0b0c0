"""Shared building blocks with no topic knowledge: layers, losses, optimisers, the kernel registry,
finite-difference gradient checks and input validation.

Topics import from here (and from :mod:`refimpl.data`), never from one another.
"""

from refimpl.core import backend, gradcheck, layers, losses, optim, validate
from refimpl.core.kernels import two_layer_squared_error_gradient

__all__ = ["backend", "gradcheck", "layers", "losses", "optim", "validate", "two_layer_squared_error_gradient"]
