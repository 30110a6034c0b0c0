"""Hypothesis strategies of the seqgan tests: small LSTMs (V ≤ 7, T ≤ 4, E, H ≤ 4, batch ≤ 3) with tokens."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from refimpl.seqgan import model
from tests.helpers import arrays


@st.composite
def lstm_cases(draw, max_vocab=7, max_length=4, max_width=4, max_batch=3):
    """(params, tokens, weights): an LSTM with drawn sizes and entries in [−1.5, 1.5], (n, T) tokens and
    (n, T) weights in [−2, 2] (rewards or loss weights)."""
    V = draw(st.integers(2, max_vocab))
    E, H = draw(st.integers(1, max_width)), draw(st.integers(1, max_width))
    n, T = draw(st.integers(1, max_batch)), draw(st.integers(1, max_length))
    params = {name: draw(arrays(shape, -1.5, 1.5)) for name, shape in model.lstm_shapes(V, E, H).items()}
    tokens = draw(hnp.arrays(np.int64, (n, T), elements=st.integers(0, V - 1)))
    weights = draw(arrays((n, T), -2.0, 2.0))
    return params, tokens, weights
