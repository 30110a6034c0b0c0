r"""The shared hot loop: loss and gradients of a two-layer ReLU network under squared error.

.. math::
    f(x) = s\, V \sigma(U x), \qquad L(U, V) = \tfrac12 \sum_p \|f(x_p) - y_p\|_2^2

with :math:`\sigma` = ReLU and a fixed output scale :math:`s` (seed 000 uses
:math:`s = 1/\sqrt{d_{out} m}`; ``s = 1`` is the plain network). Writing :math:`P = X U^\top`,
:math:`H = \sigma(P)` and the residual :math:`R = s H V^\top - Y`:

.. math::
    \frac{\partial L}{\partial V} = s R^\top H, \qquad
    \frac{\partial L}{\partial U} = \big(s R V \odot 1\{P > 0\}\big)^\top X

Three twins, registered as kernel ``"two_layer_squared_error_gradient"``: a readable NumPy reference, a
numba kernel that fuses the element-wise work (:func:`relu_pass`, :func:`masked_scale_pass`, public because
other kernels built on this network reuse them) and a CUDA twin (:mod:`refimpl.core.cuda_kernels`,
registered lazily: ``numba.cuda`` is imported only when ``backend="cuda"`` is asked for). All take

X : (n, d_in)    Y : (n, d_out)    U : (m, d_in)    V : (d_out, m)    scale : float

and return ``(loss, dU, dV)`` with dU (m, d_in) and dV (d_out, m).
"""

import numpy as np
from numba import njit

from refimpl.core.backend import get_kernel, register, register_lazy
from refimpl.core.validate import as_float_array, check_real, check_shape

KERNEL = "two_layer_squared_error_gradient"

register_lazy(KERNEL, "cuda", "refimpl.core.cuda_kernels:two_layer_squared_error_gradient_cuda")


@register(KERNEL, "numpy")
def two_layer_squared_error_gradient_numpy(X, Y, U, V, scale):
    """NumPy reference; see the module docstring for the equations."""
    pre_activation = X @ U.T  # (n, m)
    hidden = np.maximum(pre_activation, 0.0)  # (n, m)
    residual = scale * hidden @ V.T - Y  # (n, d_out)
    dV = scale * residual.T @ hidden  # (d_out, m)
    dhidden = scale * (residual @ V) * (pre_activation > 0)  # (n, m)
    dU = dhidden.T @ X  # (m, d_in)
    return 0.5 * float(np.sum(residual**2)), dU, dV


@register(KERNEL, "numba")
def two_layer_squared_error_gradient_numba(X, Y, U, V, scale):
    """numba twin: the matrix products stay with NumPy's BLAS, the element-wise work is fused in numba.

    ``np.dot`` inside a numba kernel calls SciPy's copy of OpenBLAS, whose thread pool then fights
    NumPy's for the cores (measured on 2 cores: up to 30× slower); so the kernels below only fuse the
    O(n m) passes, each in one sweep without temporaries.
    """
    pre_activation = X @ U.T  # (n, m)
    hidden = relu_pass(pre_activation)  # (n, m)
    residual = scale * (hidden @ V.T) - Y  # (n, d_out)
    dV = scale * (residual.T @ hidden)  # (d_out, m)
    dhidden = masked_scale_pass(residual @ V, pre_activation, scale)  # (n, m)
    return 0.5 * float(np.sum(residual * residual)), dhidden.T @ X, dV


@njit(cache=True)
def relu_pass(pre_activation):
    """``max(pre_activation, 0)`` in one sweep, into a new array of the same shape (n, m).

    Unchecked inner-loop kernel (float64, 2-D): callers validate their inputs first.
    """
    hidden = np.empty_like(pre_activation)
    n, m = pre_activation.shape
    for p in range(n):
        for j in range(m):
            hidden[p, j] = max(pre_activation[p, j], 0.0)
    return hidden


@njit(cache=True)
def masked_scale_pass(upstream, pre_activation, scale):
    r"""``scale · upstream ⊙ 1{pre_activation > 0}``, in place of ``upstream`` (n, m), which is returned.

    The backward pass through a ReLU followed by the output scale,
    :math:`\partial L/\partial P = s\, (\partial L/\partial H) \odot 1\{P > 0\}`.
    Unchecked inner-loop kernel (float64, 2-D, equal shapes): callers validate their inputs first.
    """
    n, m = upstream.shape
    for p in range(n):
        for j in range(m):
            upstream[p, j] = scale * upstream[p, j] if pre_activation[p, j] > 0 else 0.0
    return upstream


def two_layer_squared_error_gradient(X, Y, U, V, scale=1.0, backend="numba"):
    """Validated entry point: checks shapes and dispatches to the chosen twin.

    Parameters
    ----------
    X : (n, d_in)   Y : (n, d_out)   U : (m, d_in)   V : (d_out, m)
    scale : float, the output scale s
    backend : "numpy", "numba" or "cuda"

    Returns
    -------
    (loss, dU, dV) : float, (m, d_in), (d_out, m)
    """
    if Y is None:
        raise TypeError("Y must be an array of targets (n, d_out); got None")
    X, U, V, Y = check_two_layer_problem(X, U, V, Y)
    return get_kernel(KERNEL, backend)(X, Y, U, V, check_real("scale", scale))


def check_two_layer_problem(X, U, V, Y=None):
    """Validate X (n, d_in), U (m, d_in), V (d_out, m) and, when given, Y (n, d_out).

    Returns them as float64 arrays, or raises ``ValueError``/``TypeError`` naming the array, its shape and
    the shape it must have.
    """
    X = as_float_array("X", X, ndim=2)
    n, d_in = X.shape
    U = check_shape("U", as_float_array("U", U, ndim=2), (None, d_in), described="(m, d_in)",
                    context=f"to match X with d_in = {d_in}")
    m = U.shape[0]
    V = check_shape("V", as_float_array("V", V, ndim=2), (None, m), described="(d_out, m)",
                    context=f"to match U with m = {m}")
    if Y is not None:
        Y = check_shape("Y", as_float_array("Y", Y, ndim=2), (n, V.shape[0]), described="(n, d_out)",
                        context="to match X and V")
    return X, U, V, Y
