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

from refimpl.coevo.kernels import BIAS_LEAKY_RELU, LEAKY_RELU_BACKWARD, TANH_BACKWARD
from refimpl.coevo.losses import _discriminator_loss
from refimpl.core import unchecked as nn
from refimpl.core.backend import get_kernel
from refimpl.core.validate import as_float_array, check_choice, check_int, check_rng, check_shape

__all__ = ["generator_sizes", "discriminator_sizes", "init_network", "check_network", "forward", "backward",
           "generate", "discriminate", "generator_gradients", "discriminator_gradients"]

SLOPE = 0.2
"""Slope of the leaky ReLU on the negative side (the public code's ``LeakyReLU(0.2)``)."""
OUTPUTS = ("tanh", "logit")
DTYPES = ("float32", "float64")
BACKENDS = ("numpy", "numba")


def generator_sizes(latent_dim, hidden, image_dim):
    """Layer widths of the generator: (latent_dim, hidden, hidden, image_dim)."""
    return tuple(check_int(n, v, minimum=1) for n, v in
                 (("latent_dim", latent_dim), ("hidden", hidden), ("hidden", hidden), ("image_dim", image_dim)))


def discriminator_sizes(image_dim, hidden):
    """Layer widths of the discriminator: (image_dim, hidden, hidden, 1)."""
    return tuple(check_int(n, v, minimum=1) for n, v in
                 (("image_dim", image_dim), ("hidden", hidden), ("hidden", hidden), ("output", 1)))


def check_dtype(dtype):
    """The name (``"float32"`` or ``"float64"``) of ``dtype``, a name or a NumPy dtype, or raise naming it."""
    name = dtype if isinstance(dtype, str) else np.dtype(dtype).name if isinstance(dtype, (type, np.dtype)) else dtype
    return check_choice("dtype", name, DTYPES)


def init_network(rng, sizes, dtype="float64"):
    r"""PyTorch's default initialisation of ``nn.Linear``: every weight and bias uniform on
    :math:`[-1/\sqrt{d_{in}}, 1/\sqrt{d_{in}}]`.

    Parameters
    ----------
    rng : numpy.random.Generator or int seed
    sizes : sequence of int ≥ 1, the widths (d_0, …, d_L), L ≥ 1
    dtype : ``"float32"`` or ``"float64"``

    Returns
    -------
    dict ``{"w1": (sizes[1], sizes[0]), "b1": (sizes[1],), …}`` of ``dtype`` arrays
    """
    rng, dtype = check_rng("rng", rng), check_dtype(dtype)
    if not isinstance(sizes, (tuple, list)) or len(sizes) < 2:
        raise ValueError(f"sizes must be a sequence of at least 2 layer widths (d_0, ..., d_L); got {sizes!r}")
    sizes = [check_int(f"sizes[{i}]", d, minimum=1) for i, d in enumerate(sizes)]
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


def check_params(name, params):
    """The widths (d_0, …, d_L) of ``params`` if it is an MLP's dict of finite floating arrays (``w_l`` (d_l, d_{l-1}),
    ``b_l`` (d_l,)), else raise naming ``name``."""
    if not isinstance(params, dict) or not params:
        raise TypeError(f"{name} must be a dict of parameter arrays {{'w1', 'b1', ...}}; got {type(params).__name__}")
    n_layers = len(params) // 2
    expected = {f"{kind}{layer}" for layer in range(1, n_layers + 1) for kind in "wb"}
    if set(params) != expected:
        raise ValueError(f"{name} must be a dict with keys {sorted(expected)}; got {sorted(map(str, params))}")
    for key, array in params.items():
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            raise TypeError(f"{name}['{key}'] must be a floating NumPy array; got {type(array).__name__}")
        as_float_array(f"{name}['{key}']", array, ndim=2 if key[0] == "w" else 1, dtype=None)
    sizes = sizes_of(params)
    check_network(name, params, sizes)
    return sizes


def check_batch(name, x, width, context):
    """A non-empty (n, ``width``) finite floating array (float32 kept), or raise naming ``name``."""
    x = as_float_array(name, x, ndim=2, dtype=None)
    if len(x) == 0:
        raise ValueError(f"{name} must hold at least one sample; got shape {x.shape}")
    return check_shape(name, x, (None, width), described="(n, d)", context=context)


def _check_common(params, x, output, backend, name="params", x_name="x"):
    sizes = check_params(name, params)
    check_choice("output", output, OUTPUTS)
    check_choice("backend", backend, BACKENDS)
    return sizes, check_batch(x_name, x, sizes[0], f"to match {name}['w1'] with d_0 = {sizes[0]}")


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
    _, x = _check_common(params, x, output, backend)
    return _forward(params, x, output, backend)


def _forward(params, x, output, backend):
    n_layers = len(params) // 2
    bias_leaky_relu = get_kernel(BIAS_LEAKY_RELU, backend)
    caches, h = [], x
    for layer in range(1, n_layers):
        w = params[f"w{layer}"]
        out, pre_activation = bias_leaky_relu(h @ w.T, params[f"b{layer}"], SLOPE)
        caches.append(((h, w), (pre_activation, SLOPE)))
        h = out
    w = params[f"w{n_layers}"]
    out = h @ w.T  # core's affine_forward and tanh_forward, in place on the product (the same values)
    out += params[f"b{n_layers}"]
    if output == "tanh":
        np.tanh(out, out=out)
    caches.append(((h, w), out if output == "tanh" else None))
    return out, caches


def backward(params, dout, caches, output, *, param_grads=True, input_grad=True, backend="numpy"):
    r"""Backward pass of :func:`forward` given ``dout`` = ∂L/∂out, shape (n, d_L).

    .. math:: \delta_l = (\delta_{l+1} W_{l+1}) \odot \sigma'(a_l), \quad
              \partial L/\partial W_l = \delta_l^\top h_{l-1}, \quad \partial L/\partial b_l = \textstyle\sum_n \delta_l

    With ``param_grads=False`` only ∂L/∂x is computed (the discriminator inside a generator step); with
    ``input_grad=False`` ∂L/∂x is skipped (a network's own update needs none: it saves the largest product of
    the discriminator's step). ``backend`` chooses the twins of the leaky-ReLU and tanh passes (kernels
    ``"coevo_leaky_relu_backward"``, ``"coevo_tanh_backward"``; the numba twins write into ``dout``).

    Returns
    -------
    grads : dict like ``params`` (None when ``param_grads`` is false)
    dx : (n, d_0), or None when ``input_grad`` is false
    """
    sizes = check_params("params", params)
    check_choice("output", output, OUTPUTS)
    check_choice("backend", backend, BACKENDS)
    if not isinstance(caches, list) or len(caches) != len(sizes) - 1:
        raise TypeError(f"caches must be the list of {len(sizes) - 1} caches returned by forward with these params; "
                        f"got {type(caches).__name__}")
    n = len(caches[0][0][0])
    dout = check_shape("dout", as_float_array("dout", dout, ndim=2, dtype=None), (n, sizes[-1]),
                       described="(n, d_L)", context="to match the forward output")
    return _backward(params, dout.copy(), caches, output, param_grads, input_grad, backend)  # the twins write into it


def _backward(params, dout, caches, output, param_grads, input_grad, backend):
    grads, delta = {}, dout
    leaky_relu_backward = get_kernel(LEAKY_RELU_BACKWARD, backend)
    tanh_backward = get_kernel(TANH_BACKWARD, backend)
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
            delta, grads[f"w{layer}"], grads[f"b{layer}"] = nn.affine_backward(delta, affine_cache)
        else:
            delta = delta @ affine_cache[1]
    return (grads if param_grads else None), delta


def generate(generator, z, backend="numpy"):
    """Images G(z) of shape (n, d_L) in (−1, 1) for latent codes ``z`` (n, latent_dim)."""
    _, z = _check_common(generator, z, "tanh", backend, "generator", "z")
    return _generate(generator, z, backend)


def _generate(generator, z, backend):
    return _forward(generator, z, "tanh", backend)[0]


def discriminate(discriminator, x, backend="numpy"):
    """Logits s = D(x) of shape (n,); the probability that x is real is σ(s)."""
    _, x = _check_common(discriminator, x, "logit", backend, "discriminator")
    _check_discriminator_output(discriminator)
    return _discriminate(discriminator, x, backend)


def _check_discriminator_output(discriminator):
    last = discriminator[f"w{len(discriminator) // 2}"]
    if last.shape[0] != 1:
        raise ValueError(f"discriminator must end in one logit: its last weight must have shape (1, d); "
                         f"got {last.shape}")


def _discriminate(discriminator, x, backend):
    return _forward(discriminator, x, "logit", backend)[0][:, 0]


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
    sizes, z = _check_common(generator, z, "tanh", backend, "generator", "z")
    _check_opponent(discriminator, sizes[-1])
    if not callable(loss_function):
        raise TypeError(f"loss_function must be a callable logits -> (loss, dlogits); got {type(loss_function).__name__}")
    return _generator_gradients(generator, discriminator, z, loss_function, backend)


def _check_opponent(discriminator, image_dim):
    sizes = check_params("discriminator", discriminator)
    _check_discriminator_output(discriminator)
    if sizes[0] != image_dim:
        raise ValueError(f"discriminator must take the generator's images of width {image_dim}; "
                         f"its w1 has shape {discriminator['w1'].shape}")


def _generator_gradients(generator, discriminator, z, loss_function, backend):
    fake, generator_caches = _forward(generator, z, "tanh", backend)
    logits, discriminator_caches = _forward(discriminator, fake, "logit", backend)
    loss, dlogits = loss_function(logits[:, 0])
    _, dfake = _backward(discriminator, dlogits[:, None], discriminator_caches, "logit", False, True, backend)
    grads, _ = _backward(generator, dfake, generator_caches, "tanh", True, False, backend)
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
    sizes, real = _check_common(discriminator, real, "logit", backend, "discriminator", "real")
    _check_discriminator_output(discriminator)
    fake = check_batch("fake", fake, sizes[0], f"to match real with d_0 = {sizes[0]}")
    return _discriminator_gradients(discriminator, real, fake, backend)


def _discriminator_gradients(discriminator, real, fake, backend):
    logits, caches = _forward(discriminator, np.concatenate([real, fake]), "logit", backend)
    n = len(real)
    loss, dreal, dfake = _discriminator_loss(logits[:n, 0], logits[n:, 0])
    grads, _ = _backward(discriminator, np.concatenate([dreal, dfake])[:, None], caches, "logit", True, False,
                         backend)
    return loss, grads
