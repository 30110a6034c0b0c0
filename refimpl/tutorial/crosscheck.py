"""Cross-check cases of the tutorial: the linear-fit loss and the one- and two-layer classifiers' loss
gradients (the convolution, pooling and the CNN are core's: ``refimpl/foundation/crosscheck.py``)."""

from refimpl.crosscheck.lazy import F, jnn, jnp, torch
from refimpl.crosscheck.registry import Case, dims, labels, register, uniform, until_off_kinks
from refimpl.tutorial import OneLayerNet, TwoLayerNet, linear_loss

TOPIC = "tutorial"


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
# The dense classifiers: mean softmax cross-entropy of the logits, gradients of every parameter
# ---------------------------------------------------------------------------------------------------------------

def _network(name, params):
    """The network ``name`` whose parameter shapes are those of ``params``."""
    if name == "one_layer":
        return OneLayerNet(d_in=params["M"].shape[1], d_out=params["M"].shape[0])
    return TwoLayerNet(d_in=params["M1"].shape[1], hidden=params["M1"].shape[0], d_out=params["M2"].shape[0])


def _network_draw(name):
    def draw(rng):
        n, d_in, hidden = dims(rng, 3, 1, 6)
        (d_out,) = dims(rng, 1, 2, 4)
        network = OneLayerNet(d_in=d_in, d_out=d_out) if name == "one_layer" else TwoLayerNet(d_in, hidden, d_out)
        params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in network.init_params(rng).items()}
        return {"x": uniform(rng, (n, d_in), 1.0), "labels": labels(rng, n, d_out), **params}

    return draw


def _network_inputs(name):
    draw = _network_draw(name)
    hidden = (lambda p: []) if name == "one_layer" else (lambda p: [p["x"] @ p["M1"].T + p["c1"]])
    return lambda rng: until_off_kinks(rng, draw, hidden)


def _network_loss(name):
    def compute(inputs):
        params = {k: v for k, v in inputs.items() if k not in ("x", "labels")}
        loss, gradients = _network(name, params).loss(params, inputs["x"], inputs["labels"])
        return {"value": loss, **{f"grad_{k}": g for k, g in gradients.items()}}

    return compute


def _torch_loss(x, labels, M=None, c=None, M1=None, c1=None, M2=None, c2=None):
    logits = x @ M.T + c if M is not None else torch.relu(x @ M1.T + c1) @ M2.T + c2
    return F.cross_entropy(logits, labels)


def _jax_loss(x, labels, M=None, c=None, M1=None, c1=None, M2=None, c2=None):
    logits = x @ M.T + c if M is not None else jnn.relu(x @ M1.T + c1) @ M2.T + c2
    return -jnp.mean(jnn.log_softmax(logits, axis=-1)[jnp.arange(len(labels)), labels])


NETWORKS = {
    "one_layer": (("M", "c"), r"L = \mathrm{CE}(M x + c,\ y)"),
    "two_layer": (("M1", "c1", "M2", "c2"), r"L = \mathrm{CE}(M_2\,\sigma(M_1 x + c_1) + c_2,\ y)"),
}

for _name, (_params, _equation) in NETWORKS.items():
    register(Case(f"tutorial.{_name}_net", TOPIC, _equation, _network_inputs(_name), _network_loss(_name), _params,
                  {"torch": _torch_loss, "jax": _jax_loss}))
