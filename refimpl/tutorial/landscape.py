r"""Loss-surface visualisation with filter-normalised random directions (Li et al., NeurIPS 2018).

Around trained parameters :math:`\theta^*`, plot

.. math:: f(\alpha) = L(\theta^* + \alpha\,\delta), \qquad f(\alpha, \beta) = L(\theta^* + \alpha\,\delta + \beta\,\eta)

for random Gaussian directions δ, η. Networks are invariant to rescaling a ReLU unit's incoming and
outgoing weights, so raw directions give pictures that depend on that arbitrary scale. Li et al.
normalise each *filter* of the direction to the norm of the same filter of :math:`\theta^*`
(their Eq. 1):

.. math:: \delta_{i,j} \leftarrow \frac{\delta_{i,j}}{\|\delta_{i,j}\|}\,\|\theta_{i,j}\|

where :math:`\delta_{i,j}` is the j-th filter of layer i: a row of a dense weight matrix (the weights
into one unit) or one output channel of a convolution. Bias vectors get a zero direction, as in
their code (they are a small part of the parameters and have no filter structure).
"""

import numpy as np

from refimpl.core.validate import as_float_array, check_rng


def filter_normalized_direction(params, rng):
    """A random direction with the keys and shapes of ``params``, normalised filter by filter.

    Parameters
    ----------
    params : dict of ndarray; arrays with 2 or more dimensions are weights whose first axis indexes
        filters, 1-D arrays are biases
    rng : numpy.random.Generator or int seed

    Returns
    -------
    dict of ndarray
    """
    params, rng = _check_params("params", params), check_rng("rng", rng)
    direction = {}
    for name, weight in params.items():
        if weight.ndim < 2:
            direction[name] = np.zeros_like(weight)
            continue
        raw = rng.standard_normal(weight.shape)
        axes = tuple(range(1, weight.ndim))
        scale = np.sqrt(np.sum(weight**2, axis=axes, keepdims=True)) / np.sqrt(np.sum(raw**2, axis=axes, keepdims=True))
        direction[name] = raw * scale
    return direction


def _check_params(name, params, like=None):
    """``params`` as a dict of finite float arrays (with the keys and shapes of ``like``, when given)."""
    if not isinstance(params, dict) or not params:
        raise TypeError(f"{name} must be a non-empty dict of parameter arrays; got {type(params).__name__}")
    checked = {key: as_float_array(f"{name}[{key!r}]", value) for key, value in params.items()}
    if like is not None:
        wanted = {key: value.shape for key, value in like.items()}
        if {key: value.shape for key, value in checked.items()} != wanted:
            raise ValueError(f"{name} must have the keys and shapes of params, {wanted}; "
                             f"got {dict((key, value.shape) for key, value in checked.items())}")
    return checked


def _check_grid(name, values):
    values = as_float_array(name, values, ndim=1)
    if values.size == 0:
        raise ValueError(f"{name} must hold at least one step along the direction; got an empty array")
    return values


def _check_loss(loss):
    if not callable(loss):
        raise TypeError(f"loss must be a function params -> float; got {loss!r}")


def _moved(params, steps):
    """θ + Σ αᵢ dᵢ for ``steps`` = [(αᵢ, dᵢ), ...]."""
    return {name: value + sum(alpha * d[name] for alpha, d in steps) for name, value in params.items()}


def loss_slice(loss, params, direction, alphas):
    r""":math:`L(\theta + \alpha\,\delta)` for each α of ``alphas`` (m,); ``loss(params) -> float``.

    ``direction`` has the keys and shapes of ``params`` (:func:`filter_normalized_direction`).
    """
    _check_loss(loss)
    params = _check_params("params", params)
    direction = _check_params("direction", direction, like=params)
    alphas = _check_grid("alphas", alphas)
    return np.array([loss(_moved(params, [(alpha, direction)])) for alpha in alphas])


def loss_surface(loss, params, direction_1, direction_2, alphas, betas):
    r""":math:`L(\theta + \alpha\,\delta + \beta\,\eta)` on the grid, shape (len(betas), len(alphas)).

    Row i holds ``betas[i]``, so ``matplotlib.contour(alphas, betas, surface)`` draws it directly.
    """
    _check_loss(loss)
    params = _check_params("params", params)
    direction_1 = _check_params("direction_1", direction_1, like=params)
    direction_2 = _check_params("direction_2", direction_2, like=params)
    alphas, betas = _check_grid("alphas", alphas), _check_grid("betas", betas)
    return np.array([[loss(_moved(params, [(alpha, direction_1), (beta, direction_2)])) for alpha in alphas]
                     for beta in betas])
