"""Least-squares fits: exact lines and power laws are recovered, and bad input is refused under the caller's names."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.core.fitting import linear_fit, loglog_slope

finite = st.floats(-5.0, 5.0, allow_nan=False, allow_subnormal=False)


@given(finite, finite)
def test_an_exact_line_and_an_exact_power_law_are_recovered(slope, intercept):
    t = np.array([0.5, 1.0, 2.0, 3.5, 7.0])
    fitted_slope, fitted_intercept, r_squared = linear_fit(t, slope * t + intercept)
    assert fitted_slope == pytest.approx(slope, abs=1e-9) and fitted_intercept == pytest.approx(intercept, abs=1e-9)
    assert r_squared == pytest.approx(1.0)
    assert loglog_slope(t, 3.0 * t**slope) == pytest.approx(slope, abs=1e-9)


def test_noise_lowers_r_squared():
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 1.0, 50)
    assert linear_fit(t, t + rng.standard_normal(50))[2] < 0.5


def test_bad_input_is_refused_under_the_callers_names():
    with pytest.raises(ValueError, match=r"^t must be finite"):
        linear_fit([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^t and y must have the same shape \(k,\) with k >= 2; "
                                         r"got \(2,\) and \(3,\)"):
        linear_fit([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^x and y must have the same shape"):
        loglog_slope([1.0], [1.0])
    with pytest.raises(ValueError, match=r"y must be positive for a log-log fit; got minimum -1"):
        loglog_slope([1.0, 2.0], [1.0, -1.0])
