"""Cross-check cases of :mod:`refimpl.core`: every layer, every loss, the two-layer gradient kernel, the
convolution and max-pooling twins and the CNN classifier.

They are registered here rather than in ``refimpl.core``, which is library only and does not import
:mod:`refimpl.crosscheck`. The references are written once per framework (``torch``, ``jax.numpy``);
plain arithmetic, the same in both, is written once and used by both.
"""

import numpy as np

from refimpl.core import conv, layers, losses, two_layer_squared_error_gradient
from refimpl.core.classifier import ConvNet
from refimpl.crosscheck.lazy import F, jnn, jnp, lax, torch
from refimpl.crosscheck.registry import (Case, dims, labels, off_kink, register, scalar, uniform,
                                         until_off_kinks)

TOPIC = "core"


def _both(function):
    """A reference written in operations that torch tensors and JAX arrays share."""
    return {"torch": function, "jax": function}


# ---------------------------------------------------------------------------------------------------------------
# Layers: vector-Jacobian products with a drawn dout
# ---------------------------------------------------------------------------------------------------------------

def _affine_inputs(rng):
    n, d_in, d_out = dims(rng, 3)
    return {"x": uniform(rng, (n, d_in)), "w": uniform(rng, (d_out, d_in)), "b": uniform(rng, (d_out,)),
            "dout": uniform(rng, (n, d_out))}


def _affine(inputs):
    out, cache = layers.affine_forward(inputs["x"], inputs["w"], inputs["b"])
    dx, dw, db = layers.affine_backward(inputs["dout"], cache)
    return {"value": out, "grad_x": dx, "grad_w": dw, "grad_b": db}


register(Case("core.affine", TOPIC, r"y = x w^\top + b", _affine_inputs, _affine, ("x", "w", "b"),
              _both(lambda x, w, b: x @ w.T + b), cotangent="dout"))


def _elementwise_inputs(rng):
    shape = dims(rng, 2)
    return {"x": off_kink(rng, shape), "dout": uniform(rng, shape)}


def _elementwise(forward, backward):
    def compute(inputs):
        out, cache = forward(inputs["x"])
        return {"value": out, "grad_x": backward(inputs["dout"], cache)}

    return compute


ELEMENTWISE = {
    "relu": (r"y = \max(x, 0)", layers.relu_forward, layers.relu_backward, lambda x: torch.relu(x),
             lambda x: jnn.relu(x)),
    "leaky_relu": (r"y = \max(x, 0.2\,x)", lambda x: layers.leaky_relu_forward(x, 0.2), layers.leaky_relu_backward,
                   lambda x: F.leaky_relu(x, 0.2), lambda x: jnn.leaky_relu(x, 0.2)),
    "tanh": (r"y = \tanh x", layers.tanh_forward, layers.tanh_backward, lambda x: torch.tanh(x),
             lambda x: jnp.tanh(x)),
    "sigmoid": (r"y = 1 / (1 + e^{-x})", layers.sigmoid_forward, layers.sigmoid_backward,
                lambda x: torch.sigmoid(x), lambda x: jnn.sigmoid(x)),
    "softmax": (r"y_{ic} = e^{x_{ic}} / \sum_k e^{x_{ik}}", layers.softmax_forward, layers.softmax_backward,
                lambda x: torch.softmax(x, dim=-1), lambda x: jnn.softmax(x, axis=-1)),
}

for _name, (_equation, _forward, _backward, _torch, _jax) in ELEMENTWISE.items():
    register(Case(f"core.{_name}", TOPIC, _equation, _elementwise_inputs, _elementwise(_forward, _backward), ("x",),
                  {"torch": _torch, "jax": _jax}, cotangent="dout"))


# ---------------------------------------------------------------------------------------------------------------
# Losses: scalar values, gradients of the loss itself
# ---------------------------------------------------------------------------------------------------------------

def _pair_inputs(rng):
    shape = dims(rng, 2)
    return {"pred": uniform(rng, shape), "target": uniform(rng, shape)}


def _squared_error(inputs):
    loss, dpred = losses.squared_error(inputs["pred"], inputs["target"])
    return {"value": loss, "grad_pred": dpred}


register(Case("core.squared_error", TOPIC, r"L = \tfrac12 \|\hat y - y\|_F^2", _pair_inputs, _squared_error,
              ("pred",), _both(lambda pred, target: 0.5 * ((pred - target) ** 2).sum())))


def _classification_inputs(rng):
    n, k = dims(rng, 2, 1, 6)
    k = max(k, 2)
    return {"logits": uniform(rng, (n, k)), "labels": labels(rng, n, k)}


def _softmax_cross_entropy(inputs):
    loss, dlogits = losses.softmax_cross_entropy(inputs["logits"], inputs["labels"])
    return {"value": loss, "grad_logits": dlogits}


def _jax_cross_entropy(logits, labels):
    return -jnp.mean(jnn.log_softmax(logits, axis=-1)[jnp.arange(len(labels)), labels])


register(Case("core.softmax_cross_entropy", TOPIC, r"L = -\frac1n \sum_i \log \mathrm{softmax}(z_i)_{y_i}",
              _classification_inputs, _softmax_cross_entropy, ("logits",),
              {"torch": lambda logits, labels: F.cross_entropy(logits, labels), "jax": _jax_cross_entropy}))


def _bce_inputs(rng):
    shape = dims(rng, 2)
    return {"logits": uniform(rng, shape), "targets": rng.uniform(0.0, 1.0, size=shape)}


def _binary_cross_entropy(inputs):
    loss, dlogits = losses.binary_cross_entropy_with_logits(inputs["logits"], inputs["targets"])
    return {"value": loss, "grad_logits": dlogits}


register(Case("core.binary_cross_entropy_with_logits", TOPIC,
              r"L = \frac1n \sum \big(\log(1 + e^{z}) - t z\big)", _bce_inputs, _binary_cross_entropy, ("logits",),
              {"torch": lambda logits, targets: F.binary_cross_entropy_with_logits(logits, targets),
               "jax": lambda logits, targets: jnp.mean(jnp.logaddexp(0.0, logits) - targets * logits)}))


def _scores_inputs(rng):
    n_real, n_fake = dims(rng, 2, 1, 8)
    return {"real": uniform(rng, (n_real,)), "fake": uniform(rng, (n_fake,))}


def _fake_inputs(rng):
    return {"fake": uniform(rng, dims(rng, 1, 1, 8))}


def _critic(loss_function):
    def compute(inputs):
        loss, d_real, d_fake = loss_function(inputs["real"], inputs["fake"])
        return {"value": loss, "grad_real": d_real, "grad_fake": d_fake}

    return compute


def _generator(loss_function):
    def compute(inputs):
        loss, d_fake = loss_function(inputs["fake"])
        return {"value": loss, "grad_fake": d_fake}

    return compute


def _bce_torch(scores, target):
    return F.binary_cross_entropy_with_logits(scores, torch.full_like(scores, target))


def _softplus_jax(scores):
    return jnp.logaddexp(0.0, scores)


GAN_CRITICS = {
    "least_squares_discriminator_loss": (
        losses.least_squares_discriminator_loss, r"L_D = \frac{1}{2n}\sum (r - 1)^2 + \frac{1}{2n}\sum f^2",
        _both(lambda real, fake: 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean())),
    "gan_discriminator_loss": (
        losses.gan_discriminator_loss, r"L_D = -\frac1n\sum \log\sigma(r) - \frac1n\sum \log(1 - \sigma(f))",
        {"torch": lambda real, fake: _bce_torch(real, 1.0) + _bce_torch(fake, 0.0),
         "jax": lambda real, fake: _softplus_jax(-real).mean() + _softplus_jax(fake).mean()}),
    "wasserstein_critic_loss": (
        losses.wasserstein_critic_loss, r"L_D = \frac1n\sum f - \frac1n\sum r",
        _both(lambda real, fake: fake.mean() - real.mean())),
}

GAN_GENERATORS = {
    "least_squares_generator_loss": (
        losses.least_squares_generator_loss, r"L_G = \frac{1}{2n}\sum (f - 1)^2",
        _both(lambda fake: 0.5 * ((fake - 1.0) ** 2).mean())),
    "non_saturating_generator_loss": (
        losses.non_saturating_generator_loss, r"L_G = -\frac1n\sum \log\sigma(f)",
        {"torch": lambda fake: _bce_torch(fake, 1.0), "jax": lambda fake: _softplus_jax(-fake).mean()}),
    "minimax_generator_loss": (
        losses.minimax_generator_loss, r"L_G = \frac1n\sum \log(1 - \sigma(f))",
        {"torch": lambda fake: torch.log1p(-torch.sigmoid(fake)).mean(),
         "jax": lambda fake: -_softplus_jax(fake).mean()}),
    "wasserstein_generator_loss": (
        losses.wasserstein_generator_loss, r"L_G = -\frac1n\sum f", _both(lambda fake: -fake.mean())),
}

for _name, (_loss, _equation, _references) in GAN_CRITICS.items():
    register(Case(f"core.{_name}", TOPIC, _equation, _scores_inputs, _critic(_loss), ("real", "fake"), _references))

for _name, (_loss, _equation, _references) in GAN_GENERATORS.items():
    register(Case(f"core.{_name}", TOPIC, _equation, _fake_inputs, _generator(_loss), ("fake",), _references))


# ---------------------------------------------------------------------------------------------------------------
# The two-layer squared-error gradient kernel, both twins
# ---------------------------------------------------------------------------------------------------------------

def _two_layer_draw(rng):
    n, d_in, m, d_out = dims(rng, 4, 1, 5)
    return {"X": uniform(rng, (n, d_in)), "Y": uniform(rng, (n, d_out)), "U": off_kink(rng, (m, d_in)),
            "V": uniform(rng, (d_out, m)), "scale": scalar(rng, 0.1, 1.0)}


def _two_layer_inputs(rng):
    return until_off_kinks(rng, _two_layer_draw, lambda p: [p["X"] @ p["U"].T])


def _two_layer(backend):
    def compute(inputs):
        loss, dU, dV = two_layer_squared_error_gradient(inputs["X"], inputs["Y"], inputs["U"], inputs["V"],
                                                        float(inputs["scale"]), backend=backend)
        return {"value": loss, "grad_U": dU, "grad_V": dV}

    return compute


TWO_LAYER = r"L = \tfrac12 \|s\,\sigma(X U^\top) V^\top - Y\|_F^2"

for _backend in ("numpy", "numba"):
    register(Case(f"core.two_layer_squared_error_gradient[{_backend}]", TOPIC, TWO_LAYER, _two_layer_inputs,
                  _two_layer(_backend), ("U", "V"),
                  {"torch": lambda X, Y, U, V, scale: 0.5 * ((scale * torch.relu(X @ U.T) @ V.T - Y) ** 2).sum(),
                   "jax": lambda X, Y, U, V, scale: 0.5 * ((scale * jnn.relu(X @ U.T) @ V.T - Y) ** 2).sum()}))


# ---------------------------------------------------------------------------------------------------------------
# Convolution, max-pooling (both twins) and the CNN classifier
# ---------------------------------------------------------------------------------------------------------------

def _conv_inputs(rng):
    n, C, filters, kh, kw = dims(rng, 5, 1, 3)
    (pad,) = dims(rng, 1, 0, 2)
    H, W = dims(rng, 2, max(1, kh - 2 * pad, kw - 2 * pad), 6)
    out_shape = (n, filters, H + 2 * pad - kh + 1, W + 2 * pad - kw + 1)
    return {"x": uniform(rng, (n, C, H, W)), "K": uniform(rng, (filters, C, kh, kw)), "b": uniform(rng, (filters,)),
            "pad": np.array(pad), "dout": uniform(rng, out_shape)}


def _conv(backend):
    def compute(inputs):
        out, cache = conv.conv2d_forward(inputs["x"], inputs["K"], inputs["b"], int(inputs["pad"]), backend=backend)
        dx, dK, db = conv.conv2d_backward(inputs["dout"], cache)
        return {"value": out, "grad_x": dx, "grad_K": dK, "grad_b": db}

    return compute


def _torch_conv2d(x, K, b, pad):
    return F.conv2d(x, K, b, padding=int(pad))


def _jax_conv2d(x, K, b, pad):
    pad = int(pad)
    out = lax.conv_general_dilated(x, K, (1, 1), [(pad, pad), (pad, pad)], dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return out + b[None, :, None, None]


def _pool_inputs(rng):
    n, C, Ho, Wo, size = dims(rng, 5, 1, 3)
    return {"x": uniform(rng, (n, C, Ho * size, Wo * size)), "size": np.array(size),
            "dout": uniform(rng, (n, C, Ho, Wo))}


def _pool(backend):
    def compute(inputs):
        out, cache = conv.max_pool_forward(inputs["x"], int(inputs["size"]), backend=backend)
        return {"value": out, "grad_x": conv.max_pool_backward(inputs["dout"], cache)}

    return compute


def _jax_max_pool(x, size):
    window = (1, 1, int(size), int(size))
    return lax.reduce_window(x, -jnp.inf, lax.max, window, window, "VALID")


def _conv_net(params, backend="numba"):
    """The one-block ConvNet whose parameter shapes are those of ``params`` (x is (n, C·S²))."""
    filters, channels, k, _ = params["K1"].shape
    image_size = int(np.sqrt(params["x"].shape[1] // channels))
    return ConvNet(image_size=image_size, channels=channels, blocks=((filters, k, k // 2),), pool=POOL,
                   hidden=params["M1"].shape[0], d_out=params["M2"].shape[0], backend=backend)


def _conv_net_draw(rng):
    n, channels, filters = dims(rng, 3, 1, 3)
    hidden, d_out = dims(rng, 2, 2, 4)
    (half_size,) = dims(rng, 1, 2, 3)
    network = ConvNet(image_size=2 * half_size, channels=channels, blocks=((filters, 3, 1),), pool=POOL,
                      hidden=hidden, d_out=d_out, backend="numpy")
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in network.init_params(rng).items()}
    return {"x": uniform(rng, (n, channels * (2 * half_size) ** 2), 1.0), "labels": labels(rng, n, d_out), **params}


def _conv_net_preactivations(p):
    n, (filters, channels, k, _) = len(p["x"]), p["K1"].shape
    size = int(np.sqrt(p["x"].shape[1] // channels))
    out, _ = conv.conv2d_forward(p["x"].reshape(n, channels, size, size), p["K1"], p["b1"], k // 2)
    pooled, _ = conv.max_pool_forward(out, POOL)
    return [out, np.maximum(pooled, 0.0).reshape(n, -1) @ p["M1"].T + p["c1"]]


def _conv_net_loss(backend):
    def compute(inputs):
        params = {k: v for k, v in inputs.items() if k not in ("x", "labels")}
        loss, gradients = _conv_net(inputs, backend).loss(params, inputs["x"], inputs["labels"])
        return {"value": loss, **{f"grad_{k}": g for k, g in gradients.items()}}

    return compute


def _torch_conv_net(x, labels, K1, b1, M1, c1, M2, c2):
    size = int(np.sqrt(x.shape[1] // K1.shape[1]))
    images = x.reshape(len(x), K1.shape[1], size, size)
    h = torch.relu(F.max_pool2d(F.conv2d(images, K1, b1, padding=K1.shape[2] // 2), POOL)).reshape(len(x), -1)
    return F.cross_entropy(torch.relu(h @ M1.T + c1) @ M2.T + c2, labels)


def _jax_conv_net(x, labels, K1, b1, M1, c1, M2, c2):
    size = int(np.sqrt(x.shape[1] // K1.shape[1]))
    images = x.reshape(len(x), K1.shape[1], size, size)
    h = jnn.relu(_jax_max_pool(_jax_conv2d(images, K1, b1, K1.shape[2] // 2), POOL)).reshape(len(x), -1)
    logits = jnn.relu(h @ M1.T + c1) @ M2.T + c2
    return -jnp.mean(jnn.log_softmax(logits, axis=-1)[jnp.arange(len(labels)), labels])


POOL = 2

for _backend in ("numpy", "numba"):
    register(Case(f"core.conv2d[{_backend}]", TOPIC,
                  r"y_{nfij} = b_f + \sum_{c,k,l} K_{fckl}\, \tilde x_{nc,i+k,j+l}", _conv_inputs, _conv(_backend),
                  ("x", "K", "b"), {"torch": _torch_conv2d, "jax": _jax_conv2d}, cotangent="dout"))
    register(Case(f"core.max_pool[{_backend}]", TOPIC, r"y_{ncij} = \max_{0 \le k, l < s} x_{nc,si+k,sj+l}",
                  _pool_inputs, _pool(_backend), ("x",),
                  {"torch": lambda x, size: F.max_pool2d(x, int(size)), "jax": _jax_max_pool}, cotangent="dout"))
    register(Case(f"core.conv_net[{_backend}]", TOPIC,
                  r"L = \mathrm{CE}(M_2\,\sigma(M_1\,\sigma(\mathrm{pool}(K_1 * x + b_1)) + c_1) + c_2,\ y)",
                  lambda rng: until_off_kinks(rng, _conv_net_draw, _conv_net_preactivations), _conv_net_loss(_backend),
                  ("K1", "b1", "M1", "c1", "M2", "c2"), {"torch": _torch_conv_net, "jax": _jax_conv_net}))
