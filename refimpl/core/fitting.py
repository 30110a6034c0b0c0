"""Least-squares lines through measurements: power-law exponents and linear trends.

.. math:: \\log y \\approx p \\log x + c \\quad (\\text{exponent } p), \\qquad y \\approx a t + b, \\quad
    R^2 = 1 - \\frac{\\sum (y - a t - b)^2}{\\sum (y - \\bar y)^2}
"""

import numpy as np

from refimpl.core.validate import as_float_array


def loglog_slope(x, y):
    """Least-squares slope of log y against log x: the exponent of a power law y ∝ x^p.

    Parameters
    ----------
    x, y : (k,) positive, k ≥ 2
    """
    x, y = _pair(x, y)
    for name, values in (("x", x), ("y", y)):
        if np.any(values <= 0):
            raise ValueError(f"{name} must be positive for a log-log fit; got minimum {values.min():g}")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def linear_fit(t, y):
    """Slope, intercept and R² of the least-squares line through (t, y), t and y of shape (k,), k ≥ 2."""
    t, y = _pair(t, y, names=("t", "y"))
    slope, intercept = np.polyfit(t, y, 1)
    residual = y - (slope * t + intercept)
    total = np.sum((y - np.mean(y)) ** 2)
    return float(slope), float(intercept), float(1.0 - np.sum(residual**2) / total) if total > 0 else 1.0


def _pair(x, y, names=("x", "y")):
    """Two finite (k,) arrays of the same length k >= 2; ``names`` are the caller's names for them."""
    x, y = as_float_array(names[0], x, ndim=1), as_float_array(names[1], y, ndim=1)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape (k,) with k >= 2; "
                         f"got {x.shape} and {y.shape}")
    return x, y
