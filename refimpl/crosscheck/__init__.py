"""Reference computations in PyTorch (float64 autograd), for benchmarks to time against.

This is the one place in ``refimpl/`` that touches an autograd framework, and nothing in the library
computes with it: benchmarks import it lazily to measure speed ratios against the hand-derived
gradients, and tests rebuild their own torch references. torch is optional
(``pip install torch==2.13.0``, a CPU build); :func:`refimpl.bench.torch_available` says whether it is.
"""
