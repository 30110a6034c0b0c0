"""Cross-checking refimpl's hand-derived gradients against other frameworks' float64 autograd.

- :mod:`~refimpl.crosscheck.registry`: the cases (function under test, seeded inputs, equation, a reference
  per framework); each topic registers its own in ``refimpl/<topic>/crosscheck.py`` (core: in
  ``refimpl/foundation/crosscheck.py``);
- :mod:`~refimpl.crosscheck.frameworks`: the value and gradients of a case by torch or JAX autograd;
- :mod:`~refimpl.crosscheck.command`: ``refimpl crosscheck``, the table and ``crosscheck.json``;
- :mod:`~refimpl.crosscheck.vectors`: golden vectors (``.npz`` + ``manifest.json``) that need only NumPy;
- :mod:`~refimpl.crosscheck.torch_reference`: the torch computations the benchmarks time against.

This is the one place in ``refimpl/`` that touches an autograd framework, and nothing in the library
computes with it. torch and JAX are optional (``pip install torch==2.13.0``, ``pip install "jax[cpu]"``):
the cases import them only inside their reference functions, and the ``*_reference`` modules, which import
torch, are themselves imported only inside functions, by benchmarks and tests.
"""
