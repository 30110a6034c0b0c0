r"""Layers as forward/backward pairs with hand-derived gradients.

Every layer is two pure functions (the CS231n pattern)::

    out, cache = affine_forward(x, w, b)       # forward pass, keeps what backward needs
    dx, dw, db = affine_backward(dout, cache)  # dout = ∂L/∂out; returns ∂L/∂ each input

Shapes: ``n`` samples, ``d_in`` input and ``d_out`` output features. Element-wise layers accept any
shape. Every gradient here is checked against central finite differences and torch autograd in
``tests/core``.
"""

import numpy as np


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
    x, w = cache
    return dout @ w, dout.T @ x, dout.sum(axis=0)


def relu_forward(x):
    r"""Rectified linear unit, :math:`\sigma(x) = \max(x, 0)`, element-wise.

    Returns
    -------
    out : same shape as x
    cache : x
    """
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    r""":math:`\partial L/\partial x = \mathrm{dout} \odot 1\{x > 0\}` (the derivative at 0 is taken as 0)."""
    x = cache
    return dout * (x > 0)


def leaky_relu_forward(x, slope=0.01):
    r"""Leaky ReLU, :math:`\sigma(x) = \max(x, s x)` for a slope :math:`0 \le s < 1`.

    With ``slope=0.5`` this is the Σ(x) = max(x, x/2) of 1-Lipschitz networks (seed 004).

    Returns
    -------
    out : same shape as x
    cache : (x, slope)
    """
    return np.where(x > 0, x, slope * x), (x, slope)


def leaky_relu_backward(dout, cache):
    r""":math:`\partial L/\partial x = \mathrm{dout} \odot (1\{x > 0\} + s\,1\{x \le 0\})`."""
    x, slope = cache
    return dout * np.where(x > 0, 1.0, slope)


def tanh_forward(x):
    r"""Hyperbolic tangent, element-wise. The cache is the output, since :math:`\tanh' = 1 - \tanh^2`."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    r""":math:`\partial L/\partial x = \mathrm{dout} \odot (1 - \tanh^2 x)`."""
    out = cache
    return dout * (1.0 - out**2)


def sigmoid(x):
    r"""Logistic function :math:`1/(1 + e^{-x})`, evaluated without overflow for large :math:`|x|`."""
    return np.exp(-np.logaddexp(0.0, -x))


def sigmoid_forward(x):
    r"""Logistic sigmoid, element-wise. The cache is the output, since :math:`s' = s(1 - s)`."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    r""":math:`\partial L/\partial x = \mathrm{dout} \odot s(1 - s)`."""
    out = cache
    return dout * out * (1.0 - out)


def softmax(logits):
    r"""Row-wise softmax of ``logits`` (n, k), shifted by the row maximum for stability.

    .. math:: p_{ic} = \frac{e^{z_{ic}}}{\sum_{c'} e^{z_{ic'}}}
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def softmax_forward(logits):
    """Row-wise softmax as a layer; the cache is the output probabilities (n, k)."""
    probabilities = softmax(logits)
    return probabilities, probabilities


def softmax_backward(dout, cache):
    r"""Vector-Jacobian product of the softmax, row by row.

    .. math:: \frac{\partial L}{\partial z} = p \odot \left(\mathrm{dout} - \textstyle\sum_c \mathrm{dout}_c\, p_c\right)
    """
    probabilities = cache
    return probabilities * (dout - (dout * probabilities).sum(axis=-1, keepdims=True))
