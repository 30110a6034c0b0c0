r"""Convolution and max-pooling layers, derived by hand: 2-D convolution of images, convolution over
time of embedded text, max-pooling over image windows and max-over-time pooling.

**2-D convolution** (cross-correlation, stride 1, as in every deep-learning library) of a zero-padded
input :math:`\tilde x` (n, C, H + 2p, W + 2p) with filters :math:`K` (F, C, k_h, k_w) and biases
:math:`b` (F,):

.. math::
    \mathrm{out}_{nfyx} = b_f + \sum_{c,i,j} K_{fcij}\, \tilde x_{nc,\,y+i,\,x+j}

Written with the *im2col* matrices :math:`X_p` (C·k_h·k_w, H_o·W_o), one per sample, whose column
:math:`(y, x)` holds the receptive field of output pixel :math:`(y, x)`, and the filter matrix
:math:`K_{\mathrm{mat}}` (F, C·k_h·k_w), the layer is a matrix product per sample,
:math:`\mathrm{out}_p = K_{\mathrm{mat}} X_p + b`, all of them in one batched ``matmul`` call that writes
the (n, F, H_o, W_o) layout directly. With :math:`G_p` (F, H_o·W_o) the upstream gradient
:math:`g = \partial L/\partial \mathrm{out}` of sample :math:`p`, the chain rule gives

.. math::
    \frac{\partial L}{\partial K_{\mathrm{mat}}} = \sum_p G_p X_p^\top, \qquad
    \frac{\partial L}{\partial b} = \sum_{p,\,q} G_{p,\cdot q}, \qquad
    \frac{\partial L}{\partial X_p} = K_{\mathrm{mat}}^\top G_p,

and :math:`\partial L/\partial \tilde x_{ncYX} = \sum_{f,i,j} g_{nf,\,Y-i,\,X-j} K_{fcij}` is *col2im*:
each entry of :math:`\partial L/\partial X_p` added back to the pixel it was copied from.
The gradient of the unpadded input is the centre crop. One batched BLAS call per product.

**Convolution over time** (Kim 2014; the SeqGAN discriminator) of embedded sequences x (n, T, E) with
filters W (F, w, E) as wide as the embedding, valid padding:

.. math:: \mathrm{out}_{nft} = b_f + \sum_{i<w,\ e<E} W_{fie}\, x_{n,\,t+i,\,e}, \qquad t = 0, …, T - w

It is the 2-D convolution of a one-channel "image" (T, E) with (w, E) filters, and runs on the same
kernels. **Max over time** keeps, for every sample and filter, the largest of the T − w + 1 responses.

**Max-pooling** over non-overlapping s × s windows keeps the largest element of each window. Both
poolings route :math:`g` to the maximum and give 0 to the others; ties go to the first maximum
(row-major within the window; earliest in time), as torch does, so the gradient is a well-defined
function of the input.

Kernels (registered in :mod:`refimpl.core.backend`, NumPy reference and numba twin under one name):
``"conv2d_forward"``, ``"conv2d_backward"``, ``"max_pool_forward"``, ``"max_pool_backward"``,
``"max_over_time_forward"``, ``"max_over_time_backward"``. The twins share the BLAS products (NumPy's
``matmul``, outside numba, so that two OpenBLAS pools never fight); the numba twin builds the im2col
matrices without a padded copy and scatters them back in parallel loops over the batch, into buffers
that a :class:`Workspace` keeps from one call to the next. The validated layer pairs are what models call::

    out, cache = conv2d_forward(x, K, b, pad=2)         # (n, F, Ho, Wo)
    dx, dK, db = conv2d_backward(dout, cache)
    out, cache = temporal_conv_forward(x, W, b)          # x (n, T, E) -> (n, F, T - w + 1)
    dx, dW, db = temporal_conv_backward(dout, cache)
    out, cache = max_pool_forward(x, size=2)
    dx = max_pool_backward(dout, cache)
    out, cache = max_over_time_forward(x)                # (n, F, L) -> (n, F)
    dx = max_over_time_backward(dout, cache)
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
TIME_POOL_FORWARD = "max_over_time_forward"
TIME_POOL_BACKWARD = "max_over_time_backward"
LAYER_BACKENDS = ("numpy", "numba")


class Workspace:
    """Buffers kept between calls, so that a training loop allocates its large temporaries once.

    A network owns one and passes it to every layer call; a layer asks for ``buffer(key, shape)`` and
    gets the same array back while the shape stays the same. A cache built with a workspace is valid
    until the next forward pass through the same workspace (the training loop's forward, backward,
    forward, ... order); without one (``workspace=None``) every call allocates and caches never expire.
    """

    def __init__(self):
        self._buffers = {}

    def buffer(self, key, shape):
        """An uninitialised float64 array of ``shape``, the same one as last time when the shape matches."""
        shape = tuple(int(s) for s in shape)
        array = self._buffers.get(key)
        if array is None or array.shape != shape:
            array = self._buffers[key] = np.empty(shape)
        return array


def _buffer(workspace, key, shape):
    return np.empty(shape) if workspace is None else workspace.buffer(key, shape)


# --------------------------------------------------------------------------------------------------
# NumPy references
# --------------------------------------------------------------------------------------------------

@register(CONV_FORWARD, "numpy")
def conv2d_forward_numpy(x, K, b, pad, workspace=None):
    """Cross-correlation of x (n, C, H, W), zero-padded by ``pad``, with K (F, C, kh, kw), plus b (F,).

    Returns out (n, F, Ho, Wo) and the im2col matrices (n, C·kh·kw, Ho·Wo) the backward pass needs.
    """
    _, C, kh, kw = K.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x_padded, (kh, kw), axis=(2, 3))  # (n, C, Ho, Wo, kh, kw)
    n, _, Ho, Wo = windows.shape[:4]
    columns = windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, C * kh * kw, Ho * Wo)
    return _conv2d_product(columns, K, b, np.empty((n, K.shape[0], Ho * Wo))).reshape(n, -1, Ho, Wo), columns


def _conv2d_product(columns, K, b, out):
    """out[p] = K_mat X_col[p] + b, for every sample p in one (batched) matmul call."""
    np.matmul(K.reshape(K.shape[0], -1), columns, out=out)
    out += b[:, None]
    return out


def _conv2d_parameter_gradients(G, columns, K):
    """dK = Σ_p G[p] X_col[p]ᵀ and db = Σ_{p,q} G[p, :, q], for G (n, F, Ho·Wo)."""
    return np.matmul(G, columns.transpose(0, 2, 1)).sum(axis=0).reshape(K.shape), G.sum(axis=(0, 2))


@register(CONV_BACKWARD, "numpy")
def conv2d_backward_numpy(dout, columns, K, x_shape, pad, input_gradient=True, workspace=None):
    """Gradients (dx, dK, db) of :func:`conv2d_forward_numpy`; dx is None without ``input_gradient``."""
    F, C, kh, kw = K.shape
    n, _, Ho, Wo = dout.shape
    G = dout.reshape(n, F, Ho * Wo)
    dK, db = _conv2d_parameter_gradients(G, columns, K)
    if not input_gradient:
        return None, dK, db
    dcolumns = np.matmul(K.reshape(F, -1).T, G).reshape(n, C, kh, kw, Ho, Wo)
    H, W = x_shape[2], x_shape[3]
    dx_padded = np.zeros((n, C, H + 2 * pad, W + 2 * pad))
    for i in range(kh):  # each filter tap (i, j) sends its row of the columns back to the pixels it copied
        for j in range(kw):
            dx_padded[:, :, i:i + Ho, j:j + Wo] += dcolumns[:, :, i, j]
    return dx_padded[:, :, pad:pad + H, pad:pad + W], dK, db


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


@register(TIME_POOL_FORWARD, "numpy")
def max_over_time_forward_numpy(x):
    """Max of x (n, F, L) over its last axis; returns out (n, F) and the argmax (n, F), first on ties."""
    argmax = x.argmax(axis=-1)
    return np.take_along_axis(x, argmax[..., None], axis=-1)[..., 0], argmax


@register(TIME_POOL_BACKWARD, "numpy")
def max_over_time_backward_numpy(dout, argmax, length):
    """Route dout (n, F) to the argmax along time; returns dx (n, F, length)."""
    dx = np.zeros((*dout.shape, length))
    np.put_along_axis(dx, argmax[..., None], dout[..., None], axis=-1)
    return dx


# --------------------------------------------------------------------------------------------------
# numba twins: the same BLAS products, with im2col, col2im and the layout passes in parallel loops
# over the batch (each sample owns its rows and its slice of the output)
# --------------------------------------------------------------------------------------------------

@register(CONV_FORWARD, "numba")
def conv2d_forward_numba(x, K, b, pad, workspace=None):
    """numba twin of :func:`conv2d_forward_numpy`: im2col in parallel, without a padded copy, into a
    buffer kept by ``workspace``; then the same product."""
    n, C, H, W = x.shape
    F, _, kh, kw = K.shape
    Ho, Wo = H + 2 * pad - kh + 1, W + 2 * pad - kw + 1
    columns = _buffer(workspace, "conv_columns", (n, C * kh * kw, Ho * Wo))
    _im2col(np.ascontiguousarray(x), kh, kw, pad, Ho, Wo, columns)
    return _conv2d_product(columns, K, b, np.empty((n, F, Ho * Wo))).reshape(n, F, Ho, Wo), columns


@register(CONV_BACKWARD, "numba")
def conv2d_backward_numba(dout, columns, K, x_shape, pad, input_gradient=True, workspace=None):
    """numba twin of :func:`conv2d_backward_numpy`: the same products, col2im in parallel."""
    F, _, kh, kw = K.shape
    n, _, Ho, Wo = dout.shape
    G = np.ascontiguousarray(dout).reshape(n, F, Ho * Wo)
    dK, db = _conv2d_parameter_gradients(G, columns, K)
    if not input_gradient:
        return None, dK, db
    dcolumns = np.matmul(K.reshape(F, -1).T, G, out=_buffer(workspace, "conv_dcolumns", columns.shape))
    dx = np.empty(x_shape)
    _col2im(dcolumns, kh, kw, pad, Ho, Wo, dx)
    return dx, dK, db


@njit(cache=True)
def _inside(j, pad, W, Wo):
    """The output columns x' whose input column x' + j − pad lies inside 0 .. W − 1, as a range lo .. hi − 1."""
    return max(0, pad - j), max(max(0, pad - j), min(Wo, W + pad - j))


@njit(cache=True, parallel=True)
def _im2col(x, kh, kw, pad, Ho, Wo, columns):
    """columns[p, (c·kh + i)·kw + j, y·Wo + x'] = x[p, c, y + i − pad, x' + j − pad], 0 outside the image.

    Rows of one tap are contiguous runs of an image row, so the inner loop is a plain copy.
    """
    n, C, H, W = x.shape
    for p in prange(n):
        for c in range(C):
            for i in range(kh):
                for j in range(kw):
                    row = (c * kh + i) * kw + j
                    lo, hi = _inside(j, pad, W, Wo)
                    for y in range(Ho):
                        source_y, base = y + i - pad, y * Wo
                        if source_y < 0 or source_y >= H:
                            columns[p, row, base:base + Wo] = 0.0
                            continue
                        columns[p, row, base:base + lo] = 0.0
                        for xo in range(lo, hi):
                            columns[p, row, base + xo] = x[p, c, source_y, xo + j - pad]
                        columns[p, row, base + hi:base + Wo] = 0.0


@njit(cache=True, parallel=True)
def _col2im(dcolumns, kh, kw, pad, Ho, Wo, dx):
    """The adjoint of :func:`_im2col` into dx (n, C, H, W): every entry added back to the pixel it came from."""
    n, C, H, W = dx.shape
    for p in prange(n):
        dx[p] = 0.0
        for c in range(C):
            for i in range(kh):
                for j in range(kw):
                    row = (c * kh + i) * kw + j
                    lo, hi = _inside(j, pad, W, Wo)
                    for y in range(Ho):
                        target_y, base = y + i - pad, y * Wo
                        if 0 <= target_y < H:
                            for xo in range(lo, hi):
                                dx[p, c, target_y, xo + j - pad] += dcolumns[p, row, base + xo]


@register(POOL_FORWARD, "numba")
def max_pool_forward_numba(x, size):
    """numba twin of :func:`max_pool_forward_numpy`."""
    n, C, H, W = x.shape
    out = np.empty((n, C, H // size, W // size))
    argmax = np.empty((n, C, H // size, W // size), dtype=np.int64)
    _max_pool_forward(np.ascontiguousarray(x), size, out, argmax)
    return out, argmax


@njit(cache=True, parallel=True)
def _max_pool_forward(x, size, out, argmax):
    n, C, Ho, Wo = out.shape
    for p in prange(n):
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
    dx = np.empty((n, C, Ho * size, Wo * size))  # every element is written: the windows tile the image
    _max_pool_backward(np.ascontiguousarray(dout), np.ascontiguousarray(argmax), size, dx)
    return dx


@njit(cache=True, parallel=True)
def _max_pool_backward(dout, argmax, size, dx):
    n, C, Ho, Wo = dout.shape
    for p in prange(n):
        for c in range(C):
            for y in range(Ho):
                for x in range(Wo):
                    index = argmax[p, c, y, x]
                    for i in range(size):
                        for j in range(size):
                            dx[p, c, y * size + i, x * size + j] = dout[p, c, y, x] if i * size + j == index else 0.0


@register(TIME_POOL_FORWARD, "numba")
def max_over_time_forward_numba(x):
    """numba twin of :func:`max_over_time_forward_numpy`."""
    n, F, _ = x.shape
    out, argmax = np.empty((n, F)), np.empty((n, F), dtype=np.int64)
    _max_over_time_forward(np.ascontiguousarray(x), out, argmax)
    return out, argmax


@njit(cache=True, parallel=True)
def _max_over_time_forward(x, out, argmax):
    n, F, L = x.shape
    for p in prange(n):
        for f in range(F):
            best, best_index = x[p, f, 0], 0
            for t in range(1, L):
                if x[p, f, t] > best:  # strict: the earliest maximum wins ties
                    best, best_index = x[p, f, t], t
            out[p, f] = best
            argmax[p, f] = best_index


@register(TIME_POOL_BACKWARD, "numba")
def max_over_time_backward_numba(dout, argmax, length):
    """numba twin of :func:`max_over_time_backward_numpy`."""
    dx = np.zeros((*dout.shape, length))
    _max_over_time_backward(np.ascontiguousarray(dout), np.ascontiguousarray(argmax), dx)
    return dx


@njit(cache=True, parallel=True)
def _max_over_time_backward(dout, argmax, dx):
    n, F = dout.shape
    for p in prange(n):
        for f in range(F):
            dx[p, f, argmax[p, f]] = dout[p, f]


# --------------------------------------------------------------------------------------------------
# Validated layer pairs
# --------------------------------------------------------------------------------------------------

def conv2d_forward(x, K, b, pad=0, backend="numba", workspace=None):
    r"""2-D convolution layer (stride 1, zero padding ``pad``).

    .. math:: \mathrm{out}_{nfyx} = b_f + \sum_{c,i,j} K_{fcij}\, \tilde x_{nc,\,y+i,\,x+j}

    Parameters
    ----------
    x : (n, C, H, W)
    K : (F, C, kh, kw), filters
    b : (F,), biases
    pad : int >= 0, zeros added on each side of H and W
    backend : "numpy" or "numba"
    workspace : Workspace, optional, keeps the im2col buffers between calls (see :class:`Workspace`)

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
    if x.shape[2] + 2 * pad < K.shape[2] or x.shape[3] + 2 * pad < K.shape[3]:
        raise ValueError(f"K of spatial size {K.shape[2:]} does not fit in x of size {x.shape[2:]} "
                         f"padded by pad = {pad}")
    return _conv2d_forward(x, K, b, pad, backend, workspace)


def _conv2d_forward(x, K, b, pad, backend, workspace):
    """:func:`conv2d_forward` on checked arrays."""
    out, columns = get_kernel(CONV_FORWARD, backend)(x, K, b, pad, workspace)
    return out, (columns, K, x.shape, pad, backend, workspace, out.shape)


def conv2d_backward(dout, cache, input_gradient=True):
    r"""Gradients of :func:`conv2d_forward` given ``dout`` = ∂L/∂out.

    .. math::
        \frac{\partial L}{\partial K_{fcij}} = \sum_{n,y,x} g_{nfyx}\, \tilde x_{nc,y+i,x+j}, \quad
        \frac{\partial L}{\partial b_f} = \sum_{n,y,x} g_{nfyx}, \quad
        \frac{\partial L}{\partial \tilde x_{ncYX}} = \sum_{f,i,j} g_{nf,Y-i,X-j}\, K_{fcij}

    ``input_gradient=False`` skips ∂L/∂x (returned as None): a first layer's input is data.

    Returns
    -------
    dx : (n, C, H, W) or None, dK : (F, C, kh, kw), db : (F,)
    """
    out_shape = cache[-1]
    return _conv2d_backward(_check_dout(dout, out_shape, "(n, F, Ho, Wo)"), cache, input_gradient)


def _conv2d_backward(dout, cache, input_gradient):
    columns, K, x_shape, pad, backend, workspace, _ = cache
    return get_kernel(CONV_BACKWARD, backend)(dout, columns, K, x_shape, pad, input_gradient, workspace)


def temporal_conv_forward(x, W, b, backend="numba", workspace=None):
    r"""Convolution over time of embedded sequences, filters spanning the whole embedding (valid padding).

    .. math:: \mathrm{out}_{nft} = b_f + \sum_{i=0}^{w-1}\sum_{e=0}^{E-1} W_{fie}\, x_{n,\,t+i,\,e},
              \qquad t = 0, …, T - w

    Parameters
    ----------
    x : (n, T, E), n sequences of T embedded tokens
    W : (F, w, E), F filters of width w tokens
    b : (F,)
    backend : "numpy" or "numba"
    workspace : Workspace, optional

    Returns
    -------
    out : (n, F, T - w + 1)
    cache : what :func:`temporal_conv_backward` needs
    """
    x = as_float_array("x", x, ndim=3)
    E = x.shape[2]
    W = check_shape("W", as_float_array("W", W, ndim=3), (None, None, E), described="(F, w, E)",
                    context=f"to span the embedding of x with E = {E}")
    b = check_shape("b", as_float_array("b", b, ndim=1), (W.shape[0],), described="(F,)",
                    context=f"to match W with F = {W.shape[0]} filters")
    check_choice("backend", backend, LAYER_BACKENDS)
    if W.shape[1] > x.shape[1]:
        raise ValueError(f"W of width w = {W.shape[1]} tokens does not fit in sequences of length T = {x.shape[1]}")
    out, cache = _conv2d_forward(x[:, None], W[:, None], b, 0, backend, workspace)
    return out[:, :, :, 0], cache


def temporal_conv_backward(dout, cache):
    r"""Gradients of :func:`temporal_conv_forward` given ``dout`` (n, F, T − w + 1).

    .. math::
        \frac{\partial L}{\partial W_{fie}} = \sum_{n,t} g_{nft}\, x_{n,t+i,e}, \quad
        \frac{\partial L}{\partial b_f} = \sum_{n,t} g_{nft}, \quad
        \frac{\partial L}{\partial x_{nse}} = \sum_{f,\,i} g_{nf,\,s-i}\, W_{fie}

    Returns
    -------
    dx : (n, T, E), dW : (F, w, E), db : (F,)
    """
    out_shape = cache[-1]
    dout = _check_dout(dout, out_shape[:3], "(n, F, T - w + 1)")
    dx, dW, db = _conv2d_backward(dout[..., None], cache, True)
    return dx[:, 0], dW[:, 0], db


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


def max_over_time_forward(x, backend="numba"):
    r"""Max over time (Collobert et al. 2011; Kim 2014), :math:`\mathrm{out}_{nf} = \max_t x_{nft}`.

    Parameters
    ----------
    x : (n, F, L), e.g. the output of :func:`temporal_conv_forward`

    Returns
    -------
    out : (n, F)
    cache : what :func:`max_over_time_backward` needs
    """
    x = as_float_array("x", x, ndim=3)
    check_choice("backend", backend, LAYER_BACKENDS)
    if x.shape[2] < 1:
        raise ValueError(f"x must have at least one time step; got shape {x.shape}")
    out, argmax = get_kernel(TIME_POOL_FORWARD, backend)(x)
    return out, (argmax, x.shape[2], backend)


def max_over_time_backward(dout, cache):
    r""":math:`\partial L/\partial x_{nft}` is ``dout[n, f]`` at the earliest maximum over t, 0 elsewhere."""
    argmax, length, backend = cache
    dout = _check_dout(dout, argmax.shape, "(n, F)")
    return get_kernel(TIME_POOL_BACKWARD, backend)(dout, argmax, length)


def _check_dout(dout, out_shape, described):
    """``dout`` as float64 of the forward output's shape: the numba loops index by that shape unchecked.

    NaN and inf pass through (training reports them with the step number, after the update).
    """
    return check_shape("dout", np.asarray(dout, dtype=np.float64), tuple(out_shape), described=described,
                       context="to match the forward output")
