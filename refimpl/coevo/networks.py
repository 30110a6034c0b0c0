r"""The cell's two networks, four-layer perceptrons as in the public code's ``FourLayerPerceptronFactory``.

.. math::
    G: z \in \mathbb{R}^{64} \to 256 \to 256 \to 784, \qquad
    D: x \in \mathbb{R}^{784} \to 256 \to 256 \to 1,

affine layers joined by leaky ReLU (slope 0.2); G ends in tanh (images in [−1, 1]), D in a sigmoid whose
logit :math:`s` is what the losses of :mod:`refimpl.coevo.losses` take. Widths are settings, so tests use
small ones. Parameters are a flat dict of NumPy arrays, ``{"w1", "b1", "w2", "b2", "w3", "b3"}``, with
``w_l`` of shape (d_out, d_in); every gradient is hand-derived from :mod:`refimpl.core.layers` and checked
by finite differences and torch float64 in ``tests/coevo``.
"""

import numpy as np

from refimpl.coevo.losses import discriminator_loss
from refimpl.coevo.kernels import BIAS_LEAKY_RELU, LEAKY_RELU_BACKWARD
from refimpl.core.backend import get_kernel
from refimpl.core.layers import affine_backward, affine_forward, tanh_backward, tanh_forward
from refimpl.core.validate import check_choice, check_int, check_shape

SLOPE = 0.2
"""Slope of the leaky ReLU on the negative side (the public code's ``LeakyReLU(0.2)``)."""
OUTPUTS = ("tanh", "logit")
DTYPES = ("float32", "float64")


def generator_sizes(latent_dim, hidden, image_dim):
    """Layer widths of the generator: (latent_dim, hidden, hidden, image_dim)."""
    return tuple(check_int(n, v, minimum=1) for n, v in
                 (("latent_dim", latent_dim), ("hidden", hidden), ("hidden", hidden), ("image_dim", image_dim)))


def discriminator_sizes(image_dim, hidden):
    """Layer widths of the discriminator: (image_dim, hidden, hidden, 1)."""
    return tuple(check_int(n, v, minimum=1) for n, v in
                 (("image_dim", image_dim), ("hidden", hidden), ("hidden", hidden), ("output", 1)))


def init_network(rng, sizes, dtype="float64"):
    r"""PyTorch's default initialisation of ``nn.Linear``: every weight and bias uniform on
    :math:`[-1/\sqrt{d_{in}}, 1/\sqrt{d_{in}}]`.

    Returns
    -------
    dict ``{"w1": (sizes[1], sizes[0]), "b1": (sizes[1],), …}`` of ``dtype`` arrays
    """
    dtype = check_choice("dtype", str(np.dtype(dtype)), DTYPES)
    params = {}
    for layer, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        bound = 1.0 / np.sqrt(d_in)
        params[f"w{layer}"] = rng.uniform(-bound, bound, (d_out, d_in)).astype(dtype)
        params[f"b{layer}"] = rng.uniform(-bound, bound, d_out).astype(dtype)
    return params


def sizes_of(params):
    """The layer widths (d_0, …, d_L) of a parameter dict."""
    weights = [params[f"w{layer}"] for layer in range(1, len(params) // 2 + 1)]
    return (weights[0].shape[1],) + tuple(w.shape[0] for w in weights)


def check_network(name, params, sizes):
    """Return ``params`` if it holds exactly the arrays of an MLP of widths ``sizes``, else raise naming ``name``."""
    expected = {f"{kind}{layer}" for layer in range(1, len(sizes)) for kind in "wb"}
    if not isinstance(params, dict) or set(params) != expected:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"{name} must be a dict with keys {sorted(expected)}; got {got}")
    for layer, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        check_shape(f"{name}['w{layer}']", params[f"w{layer}"], (d_out, d_in), described="(d_out, d_in)")
        check_shape(f"{name}['b{layer}']", params[f"b{layer}"], (d_out,), described="(d_out,)")
    return params


def forward(params, x, output, backend="numpy"):
    r"""Forward pass :math:`h_l = \mathrm{lrelu}_{0.2}(h_{l-1} W_l^\top + b_l)`, last layer ``output``.

    Parameters
    ----------
    params : MLP parameter dict
    x : (n, d_0)
    output : ``"tanh"`` (generator) or ``"logit"`` (discriminator: the pre-sigmoid score, no activation)
    backend : ``"numpy"`` or ``"numba"``, the twin of the fused bias + leaky-ReLU pass

    Returns
    -------
    out : (n, d_L)
    caches : list, what :func:`backward` needs
    """
    n_layers = len(params) // 2
    bias_leaky_relu = get_kernel(BIAS_LEAKY_RELU, backend)
    caches, h = [], x
    for layer in range(1, n_layers):
        w = params[f"w{layer}"]
        out, pre_activation = bias_leaky_relu(h @ w.T, params[f"b{layer}"], SLOPE)
        caches.append(((h, w), (pre_activation, SLOPE)))
        h = out
    h, affine_cache = affine_forward(h, params[f"w{n_layers}"], params[f"b{n_layers}"])
    activation_cache = None
    if output == "tanh":
        h, activation_cache = tanh_forward(h)
    caches.append((affine_cache, activation_cache))
    return h, caches


def backward(params, dout, caches, output, *, param_grads=True, input_grad=True, backend="numpy"):
    r"""Backward pass of :func:`forward` given ``dout`` = ∂L/∂out, shape (n, d_L).

    .. math:: \delta_l = (\delta_{l+1} W_{l+1}) \odot \sigma'(a_l), \quad
              \partial L/\partial W_l = \delta_l^\top h_{l-1}, \quad \partial L/\partial b_l = \textstyle\sum_n \delta_l

    With ``param_grads=False`` only ∂L/∂x is computed (the discriminator inside a generator step); with
    ``input_grad=False`` ∂L/∂x is skipped (a network's own update needs none: it saves the largest product of
    the discriminator's step). ``backend`` chooses the twin of the leaky-ReLU pass (kernel
    ``"coevo_leaky_relu_backward"``).

    Returns
    -------
    grads : dict like ``params`` (None when ``param_grads`` is false)
    dx : (n, d_0), or None when ``input_grad`` is false
    """
    grads, delta = {}, dout
    leaky_relu_backward = get_kernel(LEAKY_RELU_BACKWARD, backend)
    for layer in range(len(caches), 0, -1):
        affine_cache, activation_cache = caches[layer - 1]
        if layer < len(caches):
            delta = leaky_relu_backward(delta, *activation_cache)
        elif output == "tanh":
            delta = tanh_backward(delta, activation_cache)
        if layer == 1 and not input_grad:
            x, _ = affine_cache
            grads["w1"], grads["b1"], delta = delta.T @ x, delta.sum(axis=0), None
        elif param_grads:
            delta, grads[f"w{layer}"], grads[f"b{layer}"] = affine_backward(delta, affine_cache)
        else:
            delta = delta @ affine_cache[1]
    return (grads if param_grads else None), delta


def generate(generator, z, backend="numpy"):
    """Images G(z) of shape (n, d_L) in (−1, 1) for latent codes ``z`` (n, latent_dim)."""
    return forward(generator, z, "tanh", backend)[0]


def discriminate(discriminator, x, backend="numpy"):
    """Logits s = D(x) of shape (n,); the probability that x is real is σ(s)."""
    return forward(discriminator, x, "logit", backend)[0][:, 0]


def generator_gradients(generator, discriminator, z, loss_function, backend="numpy"):
    r"""Loss of the generator against ``discriminator`` and its gradient with respect to the generator.

    .. math:: L_G = \ell(D(G(z))), \qquad
              \frac{\partial L_G}{\partial\theta_G} = J_{G}^\top J_{D}^\top\, \ell'(s)

    Parameters
    ----------
    generator, discriminator : parameter dicts
    z : (n, latent_dim)
    loss_function : callable ``logits (n,) -> (loss, dlogits (n,))`` (:func:`refimpl.coevo.losses.generator_loss`)
    backend : ``"numpy"`` or ``"numba"``, the twin of the element-wise passes

    Returns
    -------
    loss : float
    grads : dict like ``generator``
    """
    fake, generator_caches = forward(generator, z, "tanh", backend)
    logits, discriminator_caches = forward(discriminator, fake, "logit", backend)
    loss, dlogits = loss_function(logits[:, 0])
    _, dfake = backward(discriminator, dlogits[:, None], discriminator_caches, "logit", param_grads=False,
                        backend=backend)
    grads, _ = backward(generator, dfake, generator_caches, "tanh", input_grad=False, backend=backend)
    return loss, grads


def discriminator_gradients(discriminator, real, fake, backend="numpy"):
    r"""The discriminator's BCE sum on a real and a generated batch, and its gradient.

    .. math:: L_D = -\tfrac1n\textstyle\sum\log\sigma(D(x)) - \tfrac1m\sum\log(1 - \sigma(D(\tilde x)))

    Both batches go through D in one pass of n + m rows.

    Parameters
    ----------
    discriminator : parameter dict
    real : (n, d_0)
    fake : (m, d_0), generated samples (constants here: no gradient flows into the generator)
    backend : ``"numpy"`` or ``"numba"``, the twin of the element-wise passes

    Returns
    -------
    loss : float
    grads : dict like ``discriminator``
    """
    logits, caches = forward(discriminator, np.concatenate([real, fake]), "logit", backend)
    n = len(real)
    loss, dreal, dfake = discriminator_loss(logits[:n, 0], logits[n:, 0])
    grads, _ = backward(discriminator, np.concatenate([dreal, dfake])[:, None], caches, "logit", input_grad=False,
                        backend=backend)
    return loss, grads
