"""refimpl: readable NumPy reference implementations, with a numba core, of five works on
adversarial and dynamical learning, with hand-derived gradients proven by tests.

Topics live in one sub-package each (``refimpl.tutorial``, ``refimpl.rd``, ``refimpl.prd``,
``refimpl.dynsys``, ...); shared building blocks in :mod:`refimpl.core`, data in :mod:`refimpl.data`.
"""

__version__ = "0.1.0"
