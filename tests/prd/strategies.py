"""Hypothesis strategies for PRD problems: small shapes, unit inputs, pre-activations off the ReLU kinks."""

from hypothesis import assume
from hypothesis import strategies as st

from refimpl.prd import model
from tests.helpers import off_kink_arrays, off_kinks

dims = st.integers(1, 4)


@st.composite
def problems(draw, max_m=5):
    """(X, Y, U, V, W, a) with unit rows of X, a of ±1 and every ReLU input at least 1e-3 from 0."""
    n, d_in, d_out = draw(dims), draw(dims), draw(dims)
    m, m_c = draw(st.integers(1, max_m)), draw(st.integers(1, max_m))
    X = model.normalise_inputs(draw(off_kink_arrays((n, d_in), bound=1.0, margin=0.05)))
    Y, U, W = draw(off_kink_arrays((n, d_out))), draw(off_kink_arrays((m, d_in))), draw(off_kink_arrays((m_c, d_out)))
    V, a = draw(off_kink_arrays((d_out, m))), draw(off_kink_arrays((m_c,), bound=1.5))
    Z = model.generator_forward(X, U, V)
    assume(off_kinks(X @ U.T, Z @ W.T, Y @ W.T))
    return X, Y, U, V, W, a
