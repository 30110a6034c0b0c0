r"""The four function approximators of the "three pillars" tutorial (seed 001), step by step.

1. Linear function approximation, :math:`f(m, c, x) = m x + c`, fitted to pairs :math:`(x_p, y_p)` by
   minimising

   .. math:: L(m, c) = \frac{1}{2n} \sum_{p=1}^n \big(f(m, c, x_p) - y_p\big)^2

   with gradient descent (GD), stochastic gradient descent on one sample (SGD) or on a minibatch
   :math:`\mathcal B`, and, for reference, in closed form (least squares).
2. One-layer network on MNIST, :math:`f(x) = M x + c` with M (10, 784), c (10,): 7,850 parameters.
3. Two-layer network, :math:`f(x) = M_2\,\sigma(M_1 x + c_1) + c_2` with :math:`\sigma` = ReLU.
4. Three-layer convolutional network: convolution, ReLU, 2 × 2 max-pool, affine, ReLU, affine.

The networks are :class:`refimpl.core.classifier.Classifier` objects trained with softmax
cross-entropy by :func:`refimpl.core.classifier.train_classifier`; the parameters live in a plain dict
(``init_params``), so that the same forward and backward passes serve training, gradient checks and
the loss-surface plots, which move the parameters along random directions. The CNN is core's
:class:`~refimpl.core.classifier.ConvNet` with one block.
"""

from dataclasses import dataclass

import numpy as np

from refimpl.core import unchecked as nn
from refimpl.core.classifier import Classifier, ConvNet, he_normal
from refimpl.core.validate import (as_float_array, check_finite_step, check_int, check_positive, check_real, check_rng,
                                   check_shape)
from refimpl.tutorial import theory

# --------------------------------------------------------------------------------------------------
# 1. Linear function approximation
# --------------------------------------------------------------------------------------------------


def linear_model(m, c, x):
    r""":math:`f(m, c, x) = m x + c`, element-wise over ``x`` (an array of any shape)."""
    return _linear_model(check_real("m", m), check_real("c", c), as_float_array("x", x))


def _linear_model(m, c, x):
    """:func:`linear_model` on checked numbers: the losses call it once per step."""
    return m * x + c


def _check_line_data(x, y):
    x = as_float_array("x", x, ndim=1)
    if x.size == 0:
        raise ValueError("x must hold at least one point; got an empty array")
    y = check_shape("y", as_float_array("y", y, ndim=1), x.shape, described="(n,)", context="to match x")
    return x, y


def _check_theta(name, theta):
    return check_shape(name, as_float_array(name, theta, ndim=1), (2,), described="(m, c)")


def linear_loss(theta, x, y):
    r"""Loss and gradient of the linear fit at :math:`\theta = (m, c)`.

    .. math::
        L = \frac{1}{2n}\sum_p r_p^2, \quad r_p = m x_p + c - y_p, \qquad
        \nabla L = \Big(\frac1n \sum_p r_p x_p,\ \frac1n \sum_p r_p\Big)

    Parameters
    ----------
    theta : (2,), (m, c)
    x, y : (n,)

    Returns
    -------
    loss : float
    gradient : (2,)
    """
    x, y = _check_line_data(x, y)
    return _linear_loss(_check_theta("theta", theta), x, y)


def _linear_loss(theta, x, y):
    """:func:`linear_loss` on checked arrays: the optimisers call it once per step."""
    residual = _linear_model(theta[0], theta[1], x) - y
    return 0.5 * float(np.mean(residual**2)), np.array([np.mean(residual * x), np.mean(residual)])


def linear_loss_change(theta, theta_next, x, y):
    r""":math:`L(\theta') - L(\theta)`, computed without cancellation.

    .. math:: L(\theta') - L(\theta) = \frac{1}{2n}\sum_p (r'_p - r_p)(r'_p + r_p), \quad
              r'_p - r_p = \Delta m\, x_p + \Delta c

    Subtracting two computed losses would lose every digit once the change falls below the
    rounding error of the losses themselves, which GD reaches within a few hundred steps.

    Parameters
    ----------
    theta, theta_next : (2,), (m, c)
    x, y : (n,)
    """
    x, y = _check_line_data(x, y)
    return _linear_loss_change(_check_theta("theta", theta), _check_theta("theta_next", theta_next), x, y)


def _linear_loss_change(theta, theta_next, x, y):
    """:func:`linear_loss_change` on checked arrays, once per step of a trace."""
    residual = _linear_model(theta[0], theta[1], x) - y
    residual_next = _linear_model(theta_next[0], theta_next[1], x) - y
    difference = _linear_model(theta_next[0] - theta[0], theta_next[1] - theta[1], x)
    return 0.5 * float(np.mean(difference * (residual + residual_next)))


def linear_excess_loss(theta, theta_star, x):
    r""":math:`L(\theta) - L^* = \tfrac12 (\theta - \theta^*)^\top \nabla^2 L\, (\theta - \theta^*)`.

    Exact for a quadratic loss, since :math:`\nabla L(\theta^*) = 0`; free of the cancellation of
    :math:`L(\theta) - L(\theta^*)` computed as a difference.

    Parameters
    ----------
    theta, theta_star : (2,), (m, c)
    x : (n,), n >= 1
    """
    error = _check_theta("theta", theta) - _check_theta("theta_star", theta_star)
    return 0.5 * float(error @ theory.hessian(x) @ error)


def linear_gradient_floor(theta, x, y):
    r"""The rounding floor of the computed gradient :math:`\nabla L(\theta)` in float64.

    Each residual :math:`r_p = m x_p + c - y_p` carries an absolute error of a few ulps of
    :math:`|m x_p| + |c| + |y_p|`, and the gradient multiplies it by :math:`|x_p|` or 1; below
    this floor (taken with a safety factor of 32 ulps) a computed gradient is noise, not slope.
    """
    size = np.max(np.abs(theta[0] * x) + abs(theta[1]) + np.abs(y))
    return 32.0 * np.finfo(np.float64).eps * max(1.0, float(np.max(np.abs(x)))) * float(size)


def closed_form(x, y):
    r"""The least-squares answer :math:`(m^*, c^*) = \arg\min L(m, c)` (``numpy.linalg.lstsq``)."""
    x, y = _check_line_data(x, y)
    return np.linalg.lstsq(theory.design_matrix(x), y, rcond=None)[0]


@dataclass(frozen=True)
class LinearTrace:
    """The path of an optimiser on the linear fit.

    thetas : (T + 1, 2), the iterates :math:`\\theta_0, …, \\theta_T`
    losses : (T + 1,), the full-data loss :math:`L(\\theta_t)`
    grad_norms_sq : (T + 1,), :math:`\\|\\nabla L(\\theta_t)\\|^2` of the full-data loss
    loss_changes : (T,), :math:`L(\\theta_{t+1}) - L(\\theta_t)` without cancellation
    step_size : float, η
    beta : float, the smoothness constant that set the default η
    gradient_floor : float, the rounding floor of ‖∇L‖ at the last iterate (:func:`linear_gradient_floor`)
    """

    thetas: np.ndarray
    losses: np.ndarray
    grad_norms_sq: np.ndarray
    loss_changes: np.ndarray
    step_size: float
    beta: float
    gradient_floor: float


def _trace(x, y, thetas, step_size, beta):
    thetas = np.asarray(thetas)
    values = [_linear_loss(theta, x, y) for theta in thetas]
    changes = [_linear_loss_change(a, b, x, y) for a, b in zip(thetas[:-1], thetas[1:])]
    return LinearTrace(thetas, np.array([v[0] for v in values]), np.array([v[1] @ v[1] for v in values]),
                       np.array(changes), step_size, beta, linear_gradient_floor(thetas[-1], x, y))


def _step_size(step_size, beta, method):
    """η = 1/β by default; η ≥ 2/β is refused, since GD on a quadratic then diverges along the top eigenvector."""
    if step_size is None:
        return 1.0 / beta
    step_size = check_positive("step_size", step_size)
    if step_size >= 2.0 / beta:
        raise ValueError(f"step_size = {step_size:g} is unstable for {method} on this data with β = {beta:.6g}; "
                         f"use step_size < 2/β = {2.0 / beta:.6g} (default 1/β = {1.0 / beta:.6g})")
    return step_size


def gradient_descent(x, y, theta_0, steps, step_size=None):
    r"""Full-batch gradient descent, :math:`\theta_{t+1} = \theta_t - \eta \nabla L(\theta_t)`.

    Parameters
    ----------
    x, y : (n,)
    theta_0 : (2,), starting (m, c)
    steps : int, T
    step_size : float, η; default :math:`1/\beta` with β the largest Hessian eigenvalue

    Returns
    -------
    LinearTrace
    """
    x, y = _check_line_data(x, y)
    theta = _check_theta("theta_0", theta_0).copy()
    steps = check_int("steps", steps, minimum=1)
    beta = theory.smoothness_constant(x)
    eta = _step_size(step_size, beta, "gradient descent")
    thetas = [theta.copy()]
    for step in range(steps):
        theta = theta - eta * _linear_loss(theta, x, y)[1]
        check_finite_step(step, steps, theta=theta)
        thetas.append(theta)
    return _trace(x, y, thetas, eta, beta)


def minibatch_sgd(x, y, theta_0, rng, epochs, batch_size=1, step_size=None):
    r"""Stochastic gradient descent on minibatches :math:`\mathcal B` drawn without replacement.

    .. math:: L_{\mathcal B}(m, c) = \frac{1}{2|\mathcal B|}\sum_{p \in \mathcal B} (f(m, c, x_p) - y_p)^2,
              \qquad \theta \leftarrow \theta - \eta \nabla L_{\mathcal B}(\theta)

    ``batch_size = 1`` is the slides' SGD on one sample. The default step is :math:`1/\beta_1` with
    :math:`\beta_1 = \max_p (x_p^2 + 1)`, the smoothness constant of every one-sample (hence every
    minibatch) loss. The trace holds one iterate per update and the full-data loss there.
    """
    x, y = _check_line_data(x, y)
    theta = _check_theta("theta_0", theta_0).copy()
    rng = check_rng("rng", rng)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if batch_size > len(x):
        raise ValueError(f"batch_size must be at most the number of samples n = {len(x)}; got {batch_size}")
    beta = theory.sample_smoothness_constant(x)
    eta = _step_size(step_size, beta, "SGD")
    thetas = [theta.copy()]
    total = epochs * -(-len(x) // batch_size)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            theta = theta - eta * _linear_loss(theta, x[batch], y[batch])[1]
            check_finite_step(len(thetas) - 1, total, theta=theta)
            thetas.append(theta)
    return _trace(x, y, thetas, eta, beta)


# --------------------------------------------------------------------------------------------------
# 2-4. Networks on MNIST, softmax cross-entropy
# --------------------------------------------------------------------------------------------------


def three_layer_convnet(image_size=28, channels=1, filters=8, filter_size=5, pool=2, hidden=100, d_out=10,
                        backend="numba"):
    r"""The slides' three-layer convolutional network (local connectivity, weight sharing):

    .. math:: f(x) = M_2\,\sigma\big(M_1\,\mathrm{pool}(\sigma(K_1 * x + b_1)) + c_1\big) + c_2

    conv (F filters of size k × k, zero padding (k − 1)/2 keeps the image size) → ReLU → s × s max-pool
    → affine to ``hidden`` units → ReLU → affine to ``d_out`` logits: a one-block
    :class:`refimpl.core.classifier.ConvNet`, parameters K1, b1, M1, c1, M2, c2.
    """
    filter_size = check_int("filter_size", filter_size, minimum=1)
    if filter_size % 2 == 0:
        raise ValueError(f"filter_size must be odd so that padding keeps the image size; got {filter_size}")
    return ConvNet(image_size=image_size, channels=channels, blocks=((filters, filter_size, (filter_size - 1) // 2),),
                   pool=pool, hidden=hidden, d_out=d_out, backend=backend)


class OneLayerNet(Classifier):
    r"""One-layer network, :math:`f(x) = M x + c`: 10 × 784 + 10 = 7,850 parameters on MNIST.

    Parameters: M (d_out, d_in), c (d_out,).
    """

    def __init__(self, d_in=784, d_out=10):
        self.d_in = check_int("d_in", d_in, minimum=1)
        self.d_out = check_int("d_out", d_out, minimum=2)

    def init_params(self, rng):
        """He-normal M (gain 1), zero c; ``rng`` a Generator or an int seed."""
        rng = check_rng("rng", rng)
        return {"M": he_normal(rng, (self.d_out, self.d_in), self.d_in, gain=1.0), "c": np.zeros(self.d_out)}

    def forward(self, params, x):
        return nn.affine_forward(_images(x, self.d_in), params["M"], params["c"])

    def backward(self, dlogits, cache):
        """Gradients {"M", "c"} from dlogits = ∂L/∂logits (n, d_out) and the forward pass's cache."""
        _, dM, dc = nn.affine_backward(_dlogits(dlogits, len(cache[0]), self.d_out), cache)
        return {"M": dM, "c": dc}


class TwoLayerNet(Classifier):
    r"""Two-layer network, :math:`f(x) = M_2\,\sigma(M_1 x + c_1) + c_2`, :math:`\sigma` = ReLU.

    Parameters: M1 (k, d_in), c1 (k,), M2 (d_out, k), c2 (d_out,).
    """

    def __init__(self, d_in=784, hidden=100, d_out=10):
        self.d_in = check_int("d_in", d_in, minimum=1)
        self.hidden = check_int("hidden", hidden, minimum=1)
        self.d_out = check_int("d_out", d_out, minimum=2)

    def init_params(self, rng):
        """He-normal M1 (gain 2) and M2 (gain 1), zero biases; ``rng`` a Generator or an int seed."""
        rng = check_rng("rng", rng)
        return {"M1": he_normal(rng, (self.hidden, self.d_in), self.d_in), "c1": np.zeros(self.hidden),
                "M2": he_normal(rng, (self.d_out, self.hidden), self.hidden, gain=1.0), "c2": np.zeros(self.d_out)}

    def forward(self, params, x):
        pre_activation, cache_1 = nn.affine_forward(_images(x, self.d_in), params["M1"], params["c1"])
        hidden, cache_relu = nn.relu_forward(pre_activation)
        logits, cache_2 = nn.affine_forward(hidden, params["M2"], params["c2"])
        return logits, (cache_1, cache_relu, cache_2)

    def backward(self, dlogits, cache):
        """Gradients {"M1", "c1", "M2", "c2"} from dlogits = ∂L/∂logits (n, d_out) and the forward pass's cache."""
        cache_1, cache_relu, cache_2 = cache
        dhidden, dM2, dc2 = nn.affine_backward(_dlogits(dlogits, len(cache_2[0]), self.d_out), cache_2)
        _, dM1, dc1 = nn.affine_backward(nn.relu_backward(dhidden, cache_relu), cache_1)
        return {"M1": dM1, "c1": dc1, "M2": dM2, "c2": dc2}


def _images(x, d_in):
    """x as a finite floating (n, d_in) array, checked once per forward pass (the layers then run unchecked)."""
    x = check_shape("x", as_float_array("x", x, ndim=2, dtype=None), (None, d_in), described="(n, d_in)",
                    context=f"to match the network's d_in = {d_in}")
    if len(x) == 0:
        raise ValueError(f"x must hold at least one image; got shape {x.shape}")
    return x


def _dlogits(dlogits, n, d_out):
    """dlogits as a finite (n, d_out) array matching the forward pass, checked once per backward pass."""
    return check_shape("dlogits", as_float_array("dlogits", dlogits, ndim=2, dtype=None), (n, d_out),
                       described="(n, d_out)", context="to match the forward pass's logits")
