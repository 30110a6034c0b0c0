r"""Cross-check cases of coevo (seed 003): the generator's gradient under each generator loss and the
discriminator's gradient, through the cell's two perceptrons, with both backends' element-wise twins.

The references are written once against a small table of framework operations (``TORCH_OPS``, ``JAX_OPS``),
so that each framework differentiates the same expression itself: the perceptrons
:math:`h_l = \mathrm{lrelu}_{0.2}(h_{l-1} W_l^\top + b_l)` ending in tanh (G) or a logit (D), and the losses
on the logit :math:`s` of :mod:`refimpl.coevo.losses`.
"""

from functools import partial
from types import SimpleNamespace

import numpy as np

from refimpl.coevo import losses, networks
from refimpl.crosscheck.lazy import F, jnn, jnp, torch
from refimpl.crosscheck.registry import Case, dims, register, uniform, until_off_kinks

TOPIC = "coevo"
LAYERS = 3
PARAMS = tuple(f"{kind}{layer}" for layer in range(1, LAYERS + 1) for kind in "wb")
OPPONENT = tuple(f"d_{name}" for name in PARAMS)

TORCH_OPS = SimpleNamespace(leaky=lambda x: F.leaky_relu(x, networks.SLOPE), tanh=lambda x: torch.tanh(x),
                            log_sigmoid=lambda x: F.logsigmoid(x), sigmoid=lambda x: torch.sigmoid(x),
                            softplus=lambda x: F.softplus(x))
JAX_OPS = SimpleNamespace(leaky=lambda x: jnn.leaky_relu(x, networks.SLOPE), tanh=lambda x: jnp.tanh(x),
                          log_sigmoid=lambda x: jnn.log_sigmoid(x), sigmoid=lambda x: jnn.sigmoid(x),
                          softplus=lambda x: jnn.softplus(x))
OPS = {"torch": TORCH_OPS, "jax": JAX_OPS}

GENERATOR_LOSSES = {
    "bce": (r"-\frac1n\sum\log\sigma(s)", lambda ops, s: -ops.log_sigmoid(s).mean()),
    "mse": (r"\frac1n\sum(\sigma(s) - 1)^2", lambda ops, s: ((ops.sigmoid(s) - 1.0) ** 2).mean()),
    "heuristic": (r"-\frac1{2n}\sum\log\sigma(s)", lambda ops, s: -0.5 * ops.log_sigmoid(s).mean()),
    "minimax": (r"\frac1n\sum\log(1 - \sigma(s))", lambda ops, s: -ops.softplus(s).mean()),
}
"""The generator losses on the logit s = D(G(z)), as the references write them."""


def _mlp(ops, params, x, output):
    """The cell's perceptron in a framework: ``params`` the flat list (w1, b1, w2, b2, w3, b3)."""
    for layer in range(LAYERS):
        x = x @ params[2 * layer].T + params[2 * layer + 1]
        if layer < LAYERS - 1:
            x = ops.leaky(x)
    return ops.tanh(x) if output == "tanh" else x[:, 0]


def _hidden_preactivations(params, x):
    """The pre-activations of the leaky ReLUs of the perceptron ``params`` (a dict w1…b3) on ``x``."""
    pre, h = [], x
    for layer in range(1, LAYERS):
        a = h @ params[f"w{layer}"].T + params[f"b{layer}"]
        pre.append(a)
        h = np.where(a > 0, a, networks.SLOPE * a)
    return pre


def _network(rng, sizes, prefix=""):
    """Perceptron parameters of widths ``sizes``: PyTorch's default initialisation, moved off it a little."""
    params = networks.init_network(rng, sizes)
    return {f"{prefix}{k}": v + 0.3 * rng.standard_normal(v.shape) for k, v in params.items()}


def _strip(inputs, prefix):
    return {name[len(prefix):]: value for name, value in inputs.items() if name.startswith(prefix)}


def _generator_draw(rng):
    n, latent, hidden, image = dims(rng, 4, 2, 6)
    return {"z": uniform(rng, (n, latent), 2.0), **_network(rng, networks.generator_sizes(latent, hidden, image)),
            **_network(rng, networks.discriminator_sizes(image, hidden), "d_")}


def _generator_kinks(inputs):
    generator = {name: inputs[name] for name in PARAMS}
    fake = networks.generate(generator, inputs["z"])
    return _hidden_preactivations(generator, inputs["z"]) + _hidden_preactivations(_strip(inputs, "d_"), fake)


def _generator_gradients(loss, backend):
    def compute(inputs):
        generator = {name: inputs[name].copy() for name in PARAMS}
        value, grads = networks.generator_gradients(generator, _strip(inputs, "d_"), inputs["z"],
                                                    partial(losses.generator_loss, loss), backend)
        return {"value": value, **{f"grad_{name}": grads[name] for name in PARAMS}}

    return compute


def _generator_reference(loss, ops):
    def reference(z, **params):
        fake = _mlp(ops, [params[name] for name in PARAMS], z, "tanh")
        return GENERATOR_LOSSES[loss][1](ops, _mlp(ops, [params[name] for name in OPPONENT], fake, "logit"))

    return reference


def _discriminator_draw(rng):
    n, m, hidden, image = dims(rng, 4, 2, 6)
    return {"real": uniform(rng, (n, image), 1.0), "fake": uniform(rng, (m, image), 1.0),
            **_network(rng, networks.discriminator_sizes(image, hidden))}


def _discriminator_kinks(inputs):
    discriminator = {name: inputs[name] for name in PARAMS}
    return [a for x in (inputs["real"], inputs["fake"]) for a in _hidden_preactivations(discriminator, x)]


def _discriminator_gradients(backend):
    def compute(inputs):
        discriminator = {name: inputs[name].copy() for name in PARAMS}
        value, grads = networks.discriminator_gradients(discriminator, inputs["real"], inputs["fake"], backend)
        return {"value": value, **{f"grad_{name}": grads[name] for name in PARAMS}}

    return compute


def _discriminator_reference(ops):
    def reference(real, fake, **params):
        weights = [params[name] for name in PARAMS]
        return (-ops.log_sigmoid(_mlp(ops, weights, real, "logit")).mean()
                + ops.softplus(_mlp(ops, weights, fake, "logit")).mean())

    return reference


for _backend in networks.BACKENDS:
    for _loss, (_equation, _) in GENERATOR_LOSSES.items():
        register(Case(f"coevo.generator_gradients[{_loss},{_backend}]", TOPIC,
                      rf"L_G = {_equation},\ s = D(G(z)),\ \partial L_G/\partial\theta_G",
                      lambda rng: until_off_kinks(rng, _generator_draw, _generator_kinks),
                      _generator_gradients(_loss, _backend), PARAMS,
                      {framework: _generator_reference(_loss, ops) for framework, ops in OPS.items()}))
    register(Case(f"coevo.discriminator_gradients[{_backend}]", TOPIC,
                  r"L_D = -\frac1n\sum\log\sigma(D(x)) - \frac1m\sum\log(1 - \sigma(D(\tilde x))),\ "
                  r"\partial L_D/\partial\theta_D",
                  lambda rng: until_off_kinks(rng, _discriminator_draw, _discriminator_kinks),
                  _discriminator_gradients(_backend), PARAMS,
                  {framework: _discriminator_reference(ops) for framework, ops in OPS.items()}))
