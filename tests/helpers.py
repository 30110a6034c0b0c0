"""Hypothesis strategies shared by the tests: bounded, finite float64 arrays, no subnormals."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def floats(low=-3.0, high=3.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=64)


def arrays(shape, low=-3.0, high=3.0):
    """float64 arrays of ``shape`` with independent bounded elements (no single fill value)."""
    return hnp.arrays(np.float64, shape, elements=floats(low, high), fill=st.nothing())


def off_kinks(*arrays_, margin=1e-3):
    """True when every element is at least ``margin`` away from 0 (the kink of ReLU-type functions)."""
    return all(np.all(np.abs(a) >= margin) for a in arrays_)
