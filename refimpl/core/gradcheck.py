r"""Central finite differences in float64, the referee of every hand-derived gradient.

For a function :math:`f` of several arrays with scalar output (or an array output projected onto an
upstream gradient ``dout``, :math:`\langle f, \mathrm{dout}\rangle`), the numerical partial derivative is

.. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},

accurate to :math:`O(h^2)`. An analytic gradient ``a`` passes against the numerical one ``n`` when,
element-wise,

.. math:: |a - n| \le \mathrm{atol}\cdot\max(1, \|n\|_\infty) + \mathrm{rtol}\,|n| ,

a relative test with an absolute floor scaled to the gradient's size (a pure relative test fails on
gradients that are zero). Inputs of ReLU-type functions must be kept away from the kinks, where the
derivative jumps and no finite difference can agree.
"""

from dataclasses import dataclass

import numpy as np

from refimpl.core.validate import check_positive


def numerical_gradient(function, arrays, *, dout=None, h=1e-5):
    """Central-difference gradient of ``function(*arrays)`` with respect to every array.

    Parameters
    ----------
    function : callable
        Takes the arrays positionally; returns a scalar, or an array when ``dout`` is given.
    arrays : sequence of ndarray
        The point at which to differentiate; converted to float64 copies (the inputs are not touched).
    dout : ndarray, optional
        Upstream gradient onto which an array output is projected.
    h : float
        Step of the central difference.

    Returns
    -------
    list of ndarray, one per array, each of that array's shape.
    """
    point = [np.array(a, dtype=np.float64) for a in arrays]

    def scalar(*args):
        value = function(*args)
        if dout is None:
            if np.ndim(value) != 0:
                raise ValueError(f"function returned shape {np.shape(value)}; pass dout to project it")
            return float(value)
        return float(np.sum(np.asarray(value) * dout))

    gradients = []
    for array in point:
        gradient = np.zeros_like(array)
        flat, flat_gradient = array.reshape(-1), gradient.reshape(-1)
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + h
            plus = scalar(*point)
            flat[i] = original - h
            minus = scalar(*point)
            flat[i] = original
            flat_gradient[i] = (plus - minus) / (2.0 * h)
        gradients.append(gradient)
    return gradients


@dataclass(frozen=True)
class GradientComparison:
    """Worst disagreement between analytic and numerical gradients.

    ``max_abs_error`` is max |a − n|; ``max_rel_error`` is max |a − n| / max(|n|, floor) with the
    absolute floor of the test; ``worst_ratio`` ≤ 1 means every element passed.
    """

    max_abs_error: float
    max_rel_error: float
    worst_ratio: float
    worst_array: int

    @property
    def passed(self):
        return self.worst_ratio <= 1.0


def compare_gradients(analytic, numerical, *, rtol=1e-6, atol=1e-8):
    """Compare lists of analytic and numerical gradients with the criterion of this module."""
    rtol, atol = check_positive("rtol", rtol), check_positive("atol", atol, allow_zero=True)
    if len(analytic) != len(numerical):
        raise ValueError(f"got {len(analytic)} analytic and {len(numerical)} numerical gradients")
    max_abs = max_rel = worst = 0.0
    worst_array = 0
    for index, (a, n) in enumerate(zip(analytic, numerical)):
        a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
        if a.shape != n.shape:
            raise ValueError(f"gradient {index}: analytic shape {a.shape} != numerical shape {n.shape}")
        if a.size == 0:
            continue
        floor = atol * max(1.0, float(np.max(np.abs(n))))
        error = np.abs(a - n)
        ratio = float(np.max(error / (floor + rtol * np.abs(n))))
        max_abs = max(max_abs, float(error.max()))
        max_rel = max(max_rel, float(np.max(error / np.maximum(np.abs(n), floor))))
        if ratio > worst:
            worst, worst_array = ratio, index
    return GradientComparison(max_abs, max_rel, worst, worst_array)


def check_gradients(function, arrays, analytic, *, dout=None, h=1e-5, rtol=1e-6, atol=1e-8):
    """Finite-difference check of ``analytic`` gradients of ``function`` at ``arrays``.

    Returns the :class:`GradientComparison`; :func:`assert_gradients` raises instead.
    """
    numerical = numerical_gradient(function, arrays, dout=dout, h=h)
    return compare_gradients(analytic, numerical, rtol=rtol, atol=atol)


def assert_gradients(function, arrays, analytic, **options):
    """Raise ``AssertionError`` with the worst errors unless :func:`check_gradients` passes."""
    comparison = check_gradients(function, arrays, analytic, **options)
    if not comparison.passed:
        raise AssertionError(
            f"gradient {comparison.worst_array} disagrees with central differences: "
            f"max abs error {comparison.max_abs_error:.3e}, max rel error {comparison.max_rel_error:.3e}, "
            f"{comparison.worst_ratio:.2f}x the tolerance"
        )
    return comparison
