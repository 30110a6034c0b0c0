r"""Layers as forward/backward pairs with hand-derived gradients.

Every layer is two pure functions (the CS231n pattern)::

    out, cache = affine_forward(x, w, b)       # forward pass, keeps what backward needs
    dx, dw, db = affine_backward(dout, cache)  # dout = ∂L/∂out; returns ∂L/∂ each input

Shapes: ``n`` samples, ``d_in`` input and ``d_out`` output features. Element-wise layers accept any
shape. Every gradient here is checked against central finite differences and torch autograd in
``tests/core``.

The public functions validate what they are given (shapes, dtypes, finiteness) and raise a
``ValueError``/``TypeError`` naming the argument; floating dtypes are kept (float32 stays float32).
Models that have validated their inputs once call the same mathematics without the checks through
:mod:`refimpl.core.unchecked`, so that a hot loop neither pays for nor steps through validation.
"""

import numpy as np

from refimpl.core.validate import as_float_array, check_real, check_shape


def affine_forward(x, w, b):
    r"""Affine (dense) map.

    .. math:: \mathrm{out} = x W^\top + b

    Parameters
    ----------
    x : (n, d_in)
    w : (d_out, d_in)
    b : (d_out,)

    Returns
    -------
    out : (n, d_out)
    cache : (x, w)
    """
    x = as_float_array("x", x, ndim=2, dtype=None)
    n, d_in = x.shape
    if n == 0:
        raise ValueError(f"x must hold at least one sample; got shape {x.shape}")
    w = check_shape("w", as_float_array("w", w, ndim=2, dtype=None), (None, d_in), described="(d_out, d_in)",
                    context=f"to match x with d_in = {d_in}")
    b = check_shape("b", as_float_array("b", b, ndim=1, dtype=None), (w.shape[0],), described="(d_out,)",
                    context=f"to match w with d_out = {w.shape[0]}")
    return _affine_forward(x, w, b)


def _affine_forward(x, w, b):
    return x @ w.T + b, (x, w)


def affine_backward(dout, cache):
    r"""Gradients of the affine map, given ``dout`` = ∂L/∂out of shape (n, d_out).

    .. math::
        \frac{\partial L}{\partial x} = \mathrm{dout}\, W, \quad
        \frac{\partial L}{\partial W} = \mathrm{dout}^\top x, \quad
        \frac{\partial L}{\partial b} = \textstyle\sum_n \mathrm{dout}

    Returns
    -------
    dx : (n, d_in)
    dw : (d_out, d_in)
    db : (d_out,)
    """
    x, w = _cache_arrays(cache, 2, "affine_forward")
    _check_dout(dout, (x.shape[0], w.shape[0]), "(n, d_out)")
    return _affine_backward(dout, cache)


def _affine_backward(dout, cache):
    x, w = cache
    return dout @ w, dout.T @ x, dout.sum(axis=0)


def relu_forward(x):
    r"""Rectified linear unit, :math:`\sigma(x) = \max(x, 0)`, element-wise.

    Returns
    -------
    out : same shape as x
    cache : x
    """
    return _relu_forward(_input(x))


def _relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    r""":math:`\partial L/\partial x = \mathrm{dout} \odot 1\{x > 0\}` (the derivative at 0 is taken as 0)."""
    return _relu_backward(_check_dout(dout, _cache_array(cache, "relu_forward").shape), cache)


def _relu_backward(dout, cache):
    return dout * (cache > 0)


def leaky_relu_forward(x, slope=0.01):
    r"""Leaky ReLU, :math:`\sigma(x) = \max(x, s x)` for a slope :math:`0 \le s < 1`.

    With ``slope=0.5`` this is the Σ(x) = max(x, x/2) of 1-Lipschitz networks (seed 004).

    Returns
    -------
    out : same shape as x
    cache : (x, slope)
    """
    slope = check_real("slope", slope)
    if not 0.0 <= slope < 1.0:
        raise ValueError(f"slope must be in [0, 1); got {slope!r}")
    return _leaky_relu_forward(_input(x), slope)


def _leaky_relu_forward(x, slope):
    return np.where(x > 0, x, x.dtype.type(slope) * x), (x, slope)


def leaky_relu_backward(dout, cache):
    r""":math:`\partial L/\partial x = \mathrm{dout} \odot (1\{x > 0\} + s\,1\{x \le 0\})`."""
    x, _ = _cache_arrays(cache, 2, "leaky_relu_forward", arrays=1)
    return _leaky_relu_backward(_check_dout(dout, x.shape), cache)


def _leaky_relu_backward(dout, cache):
    x, slope = cache
    return dout * np.where(x > 0, x.dtype.type(1.0), x.dtype.type(slope))  # keeps float32 float32


def tanh_forward(x):
    r"""Hyperbolic tangent, element-wise. The cache is the output, since :math:`\tanh' = 1 - \tanh^2`."""
    return _tanh_forward(_input(x))


def _tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    r""":math:`\partial L/\partial x = \mathrm{dout} \odot (1 - \tanh^2 x)`."""
    return _tanh_backward(_check_dout(dout, _cache_array(cache, "tanh_forward").shape), cache)


def _tanh_backward(dout, cache):
    return dout * (1.0 - cache**2)


def sigmoid(x):
    r"""Logistic function :math:`1/(1 + e^{-x})`, evaluated without overflow for large :math:`|x|`."""
    return _sigmoid(_input(x))


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def sigmoid_forward(x):
    r"""Logistic sigmoid, element-wise. The cache is the output, since :math:`s' = s(1 - s)`."""
    return _sigmoid_forward(_input(x))


def _sigmoid_forward(x):
    out = _sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    r""":math:`\partial L/\partial x = \mathrm{dout} \odot s(1 - s)`."""
    return _sigmoid_backward(_check_dout(dout, _cache_array(cache, "sigmoid_forward").shape), cache)


def _sigmoid_backward(dout, cache):
    return dout * cache * (1.0 - cache)


def softmax(logits):
    r"""Row-wise softmax of ``logits`` (n, k), shifted by the row maximum for stability.

    .. math:: p_{ic} = \frac{e^{z_{ic}}}{\sum_{c'} e^{z_{ic'}}}
    """
    return _softmax(_logits(logits))


def _softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def softmax_forward(logits):
    """Row-wise softmax as a layer; the cache is the output probabilities (n, k)."""
    return _softmax_forward(_logits(logits))


def _softmax_forward(logits):
    probabilities = _softmax(logits)
    return probabilities, probabilities


def softmax_backward(dout, cache):
    r"""Vector-Jacobian product of the softmax, row by row.

    .. math:: \frac{\partial L}{\partial z} = p \odot \left(\mathrm{dout} - \textstyle\sum_c \mathrm{dout}_c\, p_c\right)
    """
    return _softmax_backward(_check_dout(dout, _cache_array(cache, "softmax_forward").shape), cache)


def _softmax_backward(dout, cache):
    probabilities = cache
    return probabilities * (dout - (dout * probabilities).sum(axis=-1, keepdims=True))


def _input(x, name="x"):
    """A finite floating array of any shape (floating dtypes kept), or a clear error naming it."""
    return as_float_array(name, x, dtype=None)


def _logits(logits):
    logits = as_float_array("logits", logits, dtype=None)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have at least one class along the last axis; got shape {logits.shape}")
    return logits


def _check_dout(dout, shape, described=None):
    """``dout`` as a finite floating array of exactly ``shape`` (what the forward pass returned)."""
    dout = as_float_array("dout", dout, dtype=None)
    return check_shape("dout", dout, tuple(shape), described=described, context="to match the forward output")


def _cache_array(cache, forward):
    if not isinstance(cache, np.ndarray):
        raise TypeError(f"cache must be the array returned by {forward}; got {type(cache).__name__}")
    return cache


def _cache_arrays(cache, length, forward, arrays=None):
    """The arrays of a ``cache`` tuple returned by ``forward``, or a TypeError saying what it must be."""
    if not isinstance(cache, tuple) or len(cache) != length:
        raise TypeError(f"cache must be the tuple of {length} returned by {forward}; got {type(cache).__name__}")
    for index in range(arrays if arrays is not None else length):
        if not isinstance(cache[index], np.ndarray):
            raise TypeError(f"cache must be the tuple returned by {forward}; item {index} is "
                            f"{type(cache[index]).__name__}")
    return cache
