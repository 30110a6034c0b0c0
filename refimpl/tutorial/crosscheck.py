"""Cross-check cases of the tutorial: the linear-fit loss, convolution and max-pooling (both twins) and the
three classifiers' loss gradients (one-layer, two-layer, CNN on both twins)."""

import numpy as np

from refimpl.core import layers
from refimpl.crosscheck.lazy import F, jnn, jnp, lax, torch
from refimpl.crosscheck.registry import Case, dims, labels, register, uniform, until_off_kinks
from refimpl.tutorial import (OneLayerNet, ThreeLayerConvNet, TwoLayerNet, conv2d_backward, conv2d_forward,
                              linear_loss, max_pool_backward, max_pool_forward)

TOPIC = "tutorial"
BACKENDS = ("numpy", "numba")
POOL = 2


def _linear_inputs(rng):
    (n,) = dims(rng, 1, 2, 30)
    return {"theta": uniform(rng, (2,), 10.0), "x": uniform(rng, (n,), 10.0), "y": uniform(rng, (n,), 60.0)}


def _linear_loss(inputs):
    loss, gradient = linear_loss(inputs["theta"], inputs["x"], inputs["y"])
    return {"value": loss, "grad_theta": gradient}


register(Case("tutorial.linear_loss", TOPIC, r"L = \frac{1}{2n}\sum_p (m x_p + c - y_p)^2", _linear_inputs,
              _linear_loss, ("theta",),
              {"torch": lambda theta, x, y: 0.5 * ((theta[0] * x + theta[1] - y) ** 2).mean(),
               "jax": lambda theta, x, y: 0.5 * ((theta[0] * x + theta[1] - y) ** 2).mean()}))


# ---------------------------------------------------------------------------------------------------------------
# Convolution and max-pooling layers
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
        out, cache = conv2d_forward(inputs["x"], inputs["K"], inputs["b"], int(inputs["pad"]), backend=backend)
        dx, dK, db = conv2d_backward(inputs["dout"], cache)
        return {"value": out, "grad_x": dx, "grad_K": dK, "grad_b": db}

    return compute


def _jax_conv2d(x, K, b, pad):
    pad = int(pad)
    out = lax.conv_general_dilated(x, K, (1, 1), [(pad, pad), (pad, pad)],
                                   dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return out + b[None, :, None, None]


def _torch_conv2d(x, K, b, pad):
    return F.conv2d(x, K, b, padding=int(pad))


def _pool_inputs(rng):
    n, C, Ho, Wo, size = dims(rng, 5, 1, 3)
    return {"x": uniform(rng, (n, C, Ho * size, Wo * size)), "size": np.array(size),
            "dout": uniform(rng, (n, C, Ho, Wo))}


def _pool(backend):
    def compute(inputs):
        out, cache = max_pool_forward(inputs["x"], int(inputs["size"]), backend=backend)
        return {"value": out, "grad_x": max_pool_backward(inputs["dout"], cache)}

    return compute


def _jax_max_pool(x, size):
    window = (1, 1, int(size), int(size))
    return lax.reduce_window(x, -jnp.inf, lax.max, window, window, "VALID")


for _backend in BACKENDS:
    register(Case(f"tutorial.conv2d[{_backend}]", TOPIC,
                  r"y_{nfij} = b_f + \sum_{c,k,l} K_{fckl}\, \tilde x_{nc,i+k,j+l}", _conv_inputs, _conv(_backend),
                  ("x", "K", "b"), {"torch": _torch_conv2d, "jax": _jax_conv2d}, cotangent="dout"))
    register(Case(f"tutorial.max_pool[{_backend}]", TOPIC, r"y_{ncij} = \max_{0 \le k, l < s} x_{nc,si+k,sj+l}",
                  _pool_inputs, _pool(_backend), ("x",),
                  {"torch": lambda x, size: F.max_pool2d(x, int(size)), "jax": _jax_max_pool}, cotangent="dout"))


# ---------------------------------------------------------------------------------------------------------------
# The three classifiers: mean softmax cross-entropy of the logits, gradients of every parameter
# ---------------------------------------------------------------------------------------------------------------

def _network(name, params, images, backend="numba"):
    """The network ``name`` whose parameter shapes are those of ``params`` (images (n, C, S, S))."""
    if name == "one_layer":
        return OneLayerNet(d_in=params["M"].shape[1], d_out=params["M"].shape[0])
    if name == "two_layer":
        return TwoLayerNet(d_in=params["M1"].shape[1], hidden=params["M1"].shape[0], d_out=params["M2"].shape[0])
    filters, channels, k, _ = params["K"].shape
    return ThreeLayerConvNet(image_size=images.shape[2], channels=channels, filters=filters, filter_size=k, pool=POOL,
                             hidden=params["M1"].shape[0], d_out=params["M2"].shape[0], backend=backend)


def _network_draw(name):
    def draw(rng):
        n, channels, hidden = dims(rng, 3, 1, 3)
        (d_out,) = dims(rng, 1, 2, 4)
        (half_size,) = dims(rng, 1, 2, 3)
        images = uniform(rng, (n, channels, 2 * half_size, 2 * half_size), 1.0)
        d_in = images[0].size
        network = {"one_layer": OneLayerNet(d_in=d_in, d_out=d_out),
                   "two_layer": TwoLayerNet(d_in=d_in, hidden=hidden + 2, d_out=d_out),
                   "cnn": ThreeLayerConvNet(image_size=images.shape[2], channels=channels, filters=hidden,
                                            filter_size=3, pool=POOL, hidden=hidden + 2, d_out=d_out)}[name]
        params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in network.init_params(rng).items()}
        return {"images": images, "labels": labels(rng, n, d_out), **params}

    return draw


def _relu_inputs(name, inputs):
    """The pre-activations of every ReLU of network ``name`` (kept off the kink when drawing)."""
    params = {k: v for k, v in inputs.items() if k not in ("images", "labels")}
    if name == "one_layer":
        return []
    features = inputs["images"].reshape(len(inputs["images"]), -1)
    if name == "cnn":
        conv, _ = conv2d_forward(inputs["images"], params["K"], params["b"], params["K"].shape[2] // 2)
        pooled, _ = max_pool_forward(layers.relu_forward(conv)[0], POOL)
        return [conv, pooled.reshape(len(conv), -1) @ params["M1"].T + params["c1"]]
    return [features @ params["M1"].T + params["c1"]]


def _network_inputs(name):
    draw = _network_draw(name)
    return lambda rng: until_off_kinks(rng, draw, lambda inputs: _relu_inputs(name, inputs))


def _network_loss(name, backend="numba"):
    def compute(inputs):
        params = {k: v for k, v in inputs.items() if k not in ("images", "labels")}
        network = _network(name, params, inputs["images"], backend)
        loss, gradients = network.loss(params, inputs["images"].reshape(len(inputs["images"]), -1), inputs["labels"])
        return {"value": loss, **{f"grad_{k}": g for k, g in gradients.items()}}

    return compute


def _torch_logits(images, M=None, c=None, M1=None, c1=None, M2=None, c2=None, K=None, b=None):
    x = images.reshape(len(images), -1)
    if M is not None:
        return x @ M.T + c
    if K is not None:
        conv = F.conv2d(images, K, b, padding=K.shape[2] // 2)
        x = F.max_pool2d(torch.relu(conv), POOL).reshape(len(images), -1)
    return torch.relu(x @ M1.T + c1) @ M2.T + c2


def _jax_logits(images, M=None, c=None, M1=None, c1=None, M2=None, c2=None, K=None, b=None):
    x = images.reshape(len(images), -1)
    if M is not None:
        return x @ M.T + c
    if K is not None:
        conv = _jax_conv2d(images, K, b, K.shape[2] // 2)
        x = _jax_max_pool(jnn.relu(conv), POOL).reshape(len(images), -1)
    return jnn.relu(x @ M1.T + c1) @ M2.T + c2


def _torch_network_loss(images, labels, **params):
    return F.cross_entropy(_torch_logits(images, **params), labels)


def _jax_network_loss(images, labels, **params):
    log_probabilities = jnn.log_softmax(_jax_logits(images, **params), axis=-1)
    return -jnp.mean(log_probabilities[jnp.arange(len(labels)), labels])


NETWORKS = {
    "one_layer": (("M", "c"), r"L = \mathrm{CE}(M x + c,\ y)"),
    "two_layer": (("M1", "c1", "M2", "c2"), r"L = \mathrm{CE}(M_2\,\sigma(M_1 x + c_1) + c_2,\ y)"),
    "cnn": (("K", "b", "M1", "c1", "M2", "c2"),
            r"L = \mathrm{CE}(M_2\,\sigma(M_1\,\mathrm{pool}(\sigma(K * x + b)) + c_1) + c_2,\ y)"),
}

for _name, (_params, _equation) in NETWORKS.items():
    for _backend in (BACKENDS if _name == "cnn" else ("numba",)):
        register(Case(
            f"tutorial.{_name}_net" + (f"[{_backend}]" if _name == "cnn" else ""), TOPIC, _equation,
            _network_inputs(_name), _network_loss(_name, _backend), _params,
            {"torch": _torch_network_loss, "jax": _jax_network_loss}))
