"""Hypothesis strategies shared by the tests: bounded, finite float64 arrays, no subnormals."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

KINK_MARGIN = 1e-3


def floats(low=-3.0, high=3.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=64)


def arrays(shape, low=-3.0, high=3.0):
    """float64 arrays of ``shape`` with independent bounded elements (no single fill value)."""
    return hnp.arrays(np.float64, shape, elements=floats(low, high), fill=st.nothing())


def off_kink_arrays(shape, bound=3.0, margin=KINK_MARGIN):
    """float64 arrays whose elements lie in [−bound, −margin] ∪ [margin, bound]: inputs of ReLU-type
    functions drawn away from the kink at 0 without discarding examples."""
    elements = st.one_of(floats(-bound, -margin), floats(margin, bound))
    return hnp.arrays(np.float64, shape, elements=elements, fill=st.nothing())


def off_kinks(*arrays_, margin=KINK_MARGIN):
    """True when every element is at least ``margin`` away from 0 (for derived pre-activations)."""
    return all(np.all(np.abs(a) >= margin) for a in arrays_)
