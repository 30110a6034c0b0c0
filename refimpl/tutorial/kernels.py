r"""The convolutional network's hot loops, derived by hand: 2-D convolution and max-pooling.

Convolution (cross-correlation, stride 1, as in every deep-learning library) of a zero-padded input
:math:`\tilde x` (n, C, H + 2p, W + 2p) with filters :math:`K` (F, C, k_h, k_w) and biases :math:`b` (F,):

.. math::
    \mathrm{out}_{nfyx} = b_f + \sum_{c,i,j} K_{fcij}\, \tilde x_{nc,\,y+i,\,x+j}

Each output element is a sum of products, so the chain rule gives, with :math:`g = \partial L/\partial \mathrm{out}`,

.. math::
    \frac{\partial L}{\partial K_{fcij}} = \sum_{n,y,x} g_{nfyx}\, \tilde x_{nc,\,y+i,\,x+j}, \qquad
    \frac{\partial L}{\partial b_f} = \sum_{n,y,x} g_{nfyx}, \qquad
    \frac{\partial L}{\partial \tilde x_{ncYX}} = \sum_{f,i,j} g_{nf,\,Y-i,\,X-j}\, K_{fcij}

(terms with :math:`Y - i` or :math:`X - j` outside the output vanish): the input gradient is the
*full* correlation of :math:`g` with the flipped filters. The gradient of the unpadded input is the
centre crop of :math:`\partial L/\partial \tilde x`.

Max-pooling over non-overlapping s × s windows keeps the largest element of each window; its
gradient routes :math:`g` to that element and gives 0 to the others. Ties go to the first maximum
in row-major order (as torch does), so the gradient is a well-defined function of the input.

Four kernels, each registered twice in :mod:`refimpl.core.backend`: a vectorised NumPy reference
(sliding windows and BLAS contractions) and a numba kernel (direct loops, parallel over the batch).
The validated layer pairs at the bottom are what models call::

    out, cache = conv2d_forward(x, K, b, pad=2, backend="numba")
    dx, dK, db = conv2d_backward(dout, cache)
    out, cache = max_pool_forward(x, size=2)
    dx = max_pool_backward(dout, cache)
"""

import numpy as np
from numba import njit, prange
from numpy.lib.stride_tricks import sliding_window_view

from refimpl.core.backend import get_kernel, register
from refimpl.core.validate import as_float_array, check_choice, check_int, check_shape

CONV_FORWARD = "conv2d_forward"
CONV_BACKWARD = "conv2d_backward"
POOL_FORWARD = "max_pool_forward"
POOL_BACKWARD = "max_pool_backward"
LAYER_BACKENDS = ("numpy", "numba")


# --------------------------------------------------------------------------------------------------
# NumPy references
# --------------------------------------------------------------------------------------------------

@register(CONV_FORWARD, "numpy")
def conv2d_forward_numpy(x_padded, K, b):
    """Valid cross-correlation of x_padded (n, C, Hp, Wp) with K (F, C, kh, kw), plus b (F,).

    Returns out (n, F, Hp - kh + 1, Wp - kw + 1).
    """
    windows = sliding_window_view(x_padded, K.shape[2:], axis=(2, 3))  # (n, C, Ho, Wo, kh, kw)
    out = np.tensordot(windows, K, axes=([1, 4, 5], [1, 2, 3]))  # (n, Ho, Wo, F)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2)) + b[:, None, None]


@register(CONV_BACKWARD, "numpy")
def conv2d_backward_numpy(dout, x_padded, K, input_gradient=True):
    """Gradients (dx_padded, dK, db) of the valid cross-correlation; see the module docstring.

    dx_padded is None when ``input_gradient`` is False (a first layer, whose input is data).
    """
    kh, kw = K.shape[2:]
    windows = sliding_window_view(x_padded, (kh, kw), axis=(2, 3))  # (n, C, Ho, Wo, kh, kw)
    dK = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))  # (F, C, kh, kw)
    db = dout.sum(axis=(0, 2, 3))
    if not input_gradient:
        return None, dK, db
    # each filter tap (i, j) sends dout back to the input pixels it multiplied
    dx = np.zeros_like(x_padded)
    Ho, Wo = dout.shape[2:]
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + Ho, j:j + Wo] += np.einsum("nfyx,fc->ncyx", dout, K[:, :, i, j])
    return dx, dK, db


def _pool_windows(x, size):
    """(n, C, H, W) -> (n, C, H/s, W/s, s*s): each non-overlapping window flattened in row-major order."""
    n, C, H, W = x.shape
    Ho, Wo = H // size, W // size
    return x.reshape(n, C, Ho, size, Wo, size).transpose(0, 1, 2, 4, 3, 5).reshape(n, C, Ho, Wo, size * size)


@register(POOL_FORWARD, "numpy")
def max_pool_forward_numpy(x, size):
    """Max over s × s windows of x (n, C, H, W); returns out (n, C, H/s, W/s) and the argmax in each
    window (int64, row-major index within the window, first maximum on ties)."""
    windows = _pool_windows(x, size)
    argmax = windows.argmax(axis=-1)
    return np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0], argmax


@register(POOL_BACKWARD, "numpy")
def max_pool_backward_numpy(dout, argmax, size):
    """Route dout (n, C, Ho, Wo) to the argmax of each window; returns dx (n, C, Ho*s, Wo*s)."""
    n, C, Ho, Wo = dout.shape
    dwindows = np.zeros((n, C, Ho, Wo, size * size))
    np.put_along_axis(dwindows, argmax[..., None], dout[..., None], axis=-1)
    return dwindows.reshape(n, C, Ho, Wo, size, size).transpose(0, 1, 2, 4, 3, 5).reshape(n, C, Ho * size, Wo * size)


# --------------------------------------------------------------------------------------------------
# numba twins: direct loops over preallocated outputs, parallel over the batch (or the filters,
# where parallel iterations would otherwise add into the same element)
# --------------------------------------------------------------------------------------------------

@register(CONV_FORWARD, "numba")
def conv2d_forward_numba(x_padded, K, b):
    """numba twin of :func:`conv2d_forward_numpy`."""
    n, _, Hp, Wp = x_padded.shape
    F, _, kh, kw = K.shape
    out = np.empty((n, F, Hp - kh + 1, Wp - kw + 1))
    _conv2d_forward(np.ascontiguousarray(x_padded), np.ascontiguousarray(K), np.ascontiguousarray(b), out)
    return out


@njit(cache=True, parallel=True)
def _conv2d_forward(x_padded, K, b, out):
    n, C = x_padded.shape[0], x_padded.shape[1]
    F, kh, kw = K.shape[0], K.shape[2], K.shape[3]
    Ho, Wo = out.shape[2], out.shape[3]
    for p in prange(n):
        for f in range(F):
            out[p, f] = b[f]
            # one filter tap at a time, so that the innermost loop runs along a contiguous image row
            for c in range(C):
                for i in range(kh):
                    for j in range(kw):
                        weight = K[f, c, i, j]
                        for y in range(Ho):
                            for x in range(Wo):
                                out[p, f, y, x] += weight * x_padded[p, c, y + i, x + j]


@register(CONV_BACKWARD, "numba")
def conv2d_backward_numba(dout, x_padded, K, input_gradient=True):
    """numba twin of :func:`conv2d_backward_numpy`."""
    dx = np.zeros(x_padded.shape if input_gradient else (0, 0, 0, 0))
    dK = np.zeros(K.shape)
    db = np.zeros(K.shape[0])
    _conv2d_backward(np.ascontiguousarray(dout), np.ascontiguousarray(x_padded), np.ascontiguousarray(K),
                     bool(input_gradient), dx, dK, db)
    return (dx if input_gradient else None), dK, db


@njit(cache=True, parallel=True)
def _conv2d_backward(dout, x_padded, K, input_gradient, dx, dK, db):
    n, C = x_padded.shape[0], x_padded.shape[1]
    F, kh, kw = K.shape[0], K.shape[2], K.shape[3]
    Ho, Wo = dout.shape[2], dout.shape[3]
    for p in prange(n if input_gradient else 0):  # each sample owns its slice of dx
        for f in range(F):
            for c in range(C):
                for i in range(kh):
                    for j in range(kw):
                        weight = K[f, c, i, j]
                        for y in range(Ho):
                            for x in range(Wo):
                                dx[p, c, y + i, x + j] += weight * dout[p, f, y, x]
    for f in prange(F):  # each filter owns its slice of dK and db
        # partial sums per output column, so that the innermost loop carries no sum and vectorises;
        # one pass over dout per filter, with every tap's partial sums (C·kh·kw·Wo numbers) in cache
        partial = np.zeros((C, kh, kw, Wo))
        bias_partial = np.zeros(Wo)
        for p in range(n):
            for y in range(Ho):
                for x in range(Wo):
                    bias_partial[x] += dout[p, f, y, x]
                for c in range(C):
                    for i in range(kh):
                        for j in range(kw):
                            for x in range(Wo):
                                partial[c, i, j, x] += dout[p, f, y, x] * x_padded[p, c, y + i, x + j]
        db[f] = bias_partial.sum()
        for c in range(C):
            for i in range(kh):
                for j in range(kw):
                    dK[f, c, i, j] = partial[c, i, j].sum()


@register(POOL_FORWARD, "numba")
def max_pool_forward_numba(x, size):
    """numba twin of :func:`max_pool_forward_numpy`."""
    n, C, H, W = x.shape
    out = np.empty((n, C, H // size, W // size))
    argmax = np.empty((n, C, H // size, W // size), dtype=np.int64)
    _max_pool_forward(np.ascontiguousarray(x), size, out, argmax)
    return out, argmax


@njit(cache=True)
def _max_pool_forward(x, size, out, argmax):
    n, C, Ho, Wo = out.shape
    for p in range(n):
        for c in range(C):
            for row in range(Ho):
                for col in range(Wo):
                    best, best_index = x[p, c, row * size, col * size], 0
                    for i in range(size):
                        for j in range(size):
                            value = x[p, c, row * size + i, col * size + j]
                            if value > best:  # strict: the first maximum wins ties
                                best, best_index = value, i * size + j
                    out[p, c, row, col] = best
                    argmax[p, c, row, col] = best_index


@register(POOL_BACKWARD, "numba")
def max_pool_backward_numba(dout, argmax, size):
    """numba twin of :func:`max_pool_backward_numpy`."""
    n, C, Ho, Wo = dout.shape
    dx = np.zeros((n, C, Ho * size, Wo * size))
    _max_pool_backward(np.ascontiguousarray(dout), np.ascontiguousarray(argmax), size, dx)
    return dx


@njit(cache=True)
def _max_pool_backward(dout, argmax, size, dx):
    n, C, Ho, Wo = dout.shape
    for p in range(n):
        for c in range(C):
            for y in range(Ho):
                for x in range(Wo):
                    index = argmax[p, c, y, x]
                    dx[p, c, y * size + index // size, x * size + index % size] = dout[p, c, y, x]


# --------------------------------------------------------------------------------------------------
# Validated layer pairs
# --------------------------------------------------------------------------------------------------

def conv2d_forward(x, K, b, pad=0, backend="numba"):
    r"""2-D convolution layer (stride 1, zero padding ``pad``).

    .. math:: \mathrm{out}_{nfyx} = b_f + \sum_{c,i,j} K_{fcij}\, \tilde x_{nc,\,y+i,\,x+j}

    Parameters
    ----------
    x : (n, C, H, W)
    K : (F, C, kh, kw), filters
    b : (F,), biases
    pad : int >= 0, zeros added on each side of H and W
    backend : "numpy" or "numba"

    Returns
    -------
    out : (n, F, H + 2 pad - kh + 1, W + 2 pad - kw + 1)
    cache : what :func:`conv2d_backward` needs
    """
    x = as_float_array("x", x, ndim=4)
    C = x.shape[1]
    K = check_shape("K", as_float_array("K", K, ndim=4), (None, C, None, None), described="(F, C, kh, kw)",
                    context=f"to match x with C = {C} channels")
    b = check_shape("b", as_float_array("b", b, ndim=1), (K.shape[0],), described="(F,)",
                    context=f"to match K with F = {K.shape[0]} filters")
    pad = check_int("pad", pad, minimum=0)
    check_choice("backend", backend, LAYER_BACKENDS)
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    if x_padded.shape[2] < K.shape[2] or x_padded.shape[3] < K.shape[3]:
        raise ValueError(f"K of spatial size {K.shape[2:]} does not fit in x of size {x.shape[2:]} "
                         f"padded by pad = {pad}")
    out = get_kernel(CONV_FORWARD, backend)(x_padded, K, b)
    return out, (x_padded, K, pad, backend, out.shape)


def conv2d_backward(dout, cache, input_gradient=True):
    r"""Gradients of :func:`conv2d_forward` given ``dout`` = ∂L/∂out.

    .. math::
        \frac{\partial L}{\partial K_{fcij}} = \sum_{n,y,x} g_{nfyx}\, \tilde x_{nc,y+i,x+j}, \quad
        \frac{\partial L}{\partial b_f} = \sum_{n,y,x} g_{nfyx}, \quad
        \frac{\partial L}{\partial \tilde x_{ncYX}} = \sum_{f,i,j} g_{nf,Y-i,X-j}\, K_{fcij}

    ``input_gradient=False`` skips ∂L/∂x (returned as None): a first layer's input is data, and the
    skipped loop is a third of the backward pass.

    Returns
    -------
    dx : (n, C, H, W) or None, dK : (F, C, kh, kw), db : (F,)
    """
    x_padded, K, pad, backend, out_shape = cache
    dout = _check_dout(dout, out_shape, "(n, F, Ho, Wo)")
    dx_padded, dK, db = get_kernel(CONV_BACKWARD, backend)(dout, x_padded, K, input_gradient)
    if dx_padded is None:
        return None, dK, db
    H, W = x_padded.shape[2] - 2 * pad, x_padded.shape[3] - 2 * pad
    return dx_padded[:, :, pad:pad + H, pad:pad + W], dK, db


def max_pool_forward(x, size=2, backend="numba"):
    r"""Max-pooling over non-overlapping ``size`` × ``size`` windows.

    .. math:: \mathrm{out}_{ncyx} = \max_{0 \le i, j < s} x_{nc,\,sy+i,\,sx+j}

    Parameters
    ----------
    x : (n, C, H, W), H and W divisible by ``size``

    Returns
    -------
    out : (n, C, H/size, W/size)
    cache : what :func:`max_pool_backward` needs
    """
    x = as_float_array("x", x, ndim=4)
    size = check_int("size", size, minimum=1)
    check_choice("backend", backend, LAYER_BACKENDS)
    if x.shape[2] % size or x.shape[3] % size:
        raise ValueError(f"x must have H and W divisible by size = {size}; got shape {x.shape}")
    out, argmax = get_kernel(POOL_FORWARD, backend)(x, size)
    return out, (argmax, size, backend)


def max_pool_backward(dout, cache):
    r""":math:`\partial L/\partial x` is ``dout`` at the first maximum of each window and 0 elsewhere."""
    argmax, size, backend = cache
    dout = _check_dout(dout, argmax.shape, "(n, C, Ho, Wo)")
    return get_kernel(POOL_BACKWARD, backend)(dout, argmax, size)


def _check_dout(dout, out_shape, described):
    """``dout`` as float64 of the forward output's shape: the numba loops index by that shape unchecked.

    NaN and inf pass through (training reports them with the step number, after the update).
    """
    return check_shape("dout", np.asarray(dout, dtype=np.float64), out_shape, described=described,
                       context="to match the forward output")
