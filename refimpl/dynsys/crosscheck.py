"""Cross-check cases of the dynamical-systems networks (seed 004): every flow-map layer with each activation
(the mass-preserving layer with each Runge-Kutta method), the multi-class hinge loss, the attack's input
gradient through a 1-Lipschitz network, and the vector-Jacobian products of the gradient and sphere fields.

The layer references are written once against a small table of framework operations (``TORCH_OPS``,
``JAX_OPS``), so that each framework differentiates the same expression itself.
"""

from types import SimpleNamespace

import numpy as np

from refimpl.crosscheck.lazy import F, jnn, jnp, torch
from refimpl.crosscheck.registry import Case, dims, labels, register, scalar, uniform, until_off_kinks
from refimpl.dynsys import RK_TABLEAUS, gradient_field, lipschitz_network, multiclass_hinge, sphere_field, theory
from refimpl.dynsys.model import ACTIVATIONS, LAYER_CONFIG, LAYER_KINDS, LAYER_PARAMS, SLOPE, layer_param_shapes
from refimpl.dynsys.splitting import gradient_field_vjp, sphere_field_vjp
from refimpl.dynsys.training import margin_input_gradient

TOPIC = "dynsys"
EVEN_WIDTH_KINDS = ("volume_preserving", "hamiltonian", "groupsort")  # split or paired coordinates


# the few operations the references need that torch and jax.numpy spell differently
TORCH_OPS = SimpleNamespace(
    sigma=lambda z, name: F.leaky_relu(z, SLOPE) if name == "leaky_relu" else torch.tanh(z),
    join=lambda q, p: torch.cat([q, p], dim=1), relu=lambda z: torch.relu(z),
    one_hot=lambda labels_, k: F.one_hot(labels_, k).double(), swap=lambda M: M.transpose(1, 2),
    einsum=lambda *arguments: torch.einsum(*arguments), row_max=lambda x: x.max(dim=1).values,
    abs=lambda x: torch.abs(x), exp=lambda x: torch.exp(x), sigmoid=lambda x: torch.sigmoid(x),
    maximum=lambda a, b: torch.maximum(a, b), spectral_norm=lambda W: torch.linalg.matrix_norm(W, 2),
    pair_max=lambda z: z.max(dim=2).values, pair_min=lambda z: z.min(dim=2).values,
    stack=lambda parts: torch.stack(parts, dim=2))
JAX_OPS = SimpleNamespace(
    sigma=lambda z, name: jnn.leaky_relu(z, SLOPE) if name == "leaky_relu" else jnp.tanh(z),
    join=lambda q, p: jnp.concatenate([q, p], axis=1), relu=lambda z: jnn.relu(z),
    one_hot=lambda labels_, k: jnn.one_hot(labels_, k, dtype=jnp.float64), swap=lambda M: jnp.swapaxes(M, 1, 2),
    einsum=lambda *arguments: jnp.einsum(*arguments), row_max=lambda x: x.max(axis=1),
    abs=lambda x: jnp.abs(x), exp=lambda x: jnp.exp(x), sigmoid=lambda x: jnn.sigmoid(x),
    maximum=lambda a, b: jnp.maximum(a, b), spectral_norm=lambda W: jnp.linalg.norm(W, 2),
    pair_max=lambda z: z.max(axis=2), pair_min=lambda z: z.min(axis=2),
    stack=lambda parts: jnp.stack(parts, axis=2))
OPS = {"torch": TORCH_OPS, "jax": JAX_OPS}


# ---------------------------------------------------------------------------------------------------------------
# The layers, as the talk writes them (rows: Ax + b is x @ A.T + b)
# ---------------------------------------------------------------------------------------------------------------

def _halves(x):
    k = x.shape[1] // 2
    return x[:, :k], x[:, k:]


def _mass_field(ops, x, U, u, activation_name):
    n, d = x.shape
    M = ops.sigma(x @ U.T + u, activation_name).reshape(n, d, d)
    return M.sum(axis=2) - M.sum(axis=1)


def _mass_rk(ops, x, U, u, h, method, activation_name):
    a, b = RK_TABLEAUS[method]
    stages = []
    for i in range(len(b)):
        stage_input = x + h * sum((float(a[i, j]) * stages[j] for j in range(i)), 0.0 * x)
        stages.append(_mass_field(ops, stage_input, U, u, activation_name))
    return x + h * sum(float(weight) * k for weight, k in zip(b, stages))


def _volume_preserving(ops, x, A, a, B, b, h, activation_name):
    q, v = _halves(x)
    q1 = q + h * ops.sigma(v @ A.T + a, activation_name)
    return ops.join(q1, v + h * ops.sigma(q1 @ B.T + b, activation_name))


def _hamiltonian(ops, x, K, a, U, b, h, activation_name):
    q, p = _halves(x)
    q1 = q + h * ops.sigma(p @ K.T + a, activation_name) @ K
    return ops.join(q1, p - h * ops.sigma(q1 @ U.T + b, activation_name) @ U)


def _lipschitz_pair(ops, x, W, v, A, b, theta):
    h_C = 2.0 * ops.sigmoid(theta[0])
    c = ops.maximum(ops.abs(1.0 - h_C), ops.abs(1.0 - SLOPE * h_C))
    mid = x + (1.0 / c - 1.0) * ops.sigma(x @ W.T + v, "leaky_relu")
    return mid - h_C * ops.sigma(mid @ A.T + b, "leaky_relu") @ A


def _sll(ops, x, W, b, q):
    t = (ops.abs(W @ W.T) @ ops.exp(q)) / ops.exp(q)
    return x - 2.0 * (ops.relu(x @ W.T + b) / t) @ W


def _groupsort(ops, x, Q, b):
    z = (x @ Q.T + b).reshape(x.shape[0], -1, 2)
    return ops.stack([ops.pair_max(z), ops.pair_min(z)]).reshape(x.shape)


LAYERS = {
    "linear": (r"y = W x + b", lambda ops, x, W, b: x @ W.T + b),
    "resnet": (r"y = x + h\, B\,\Sigma(A x + b)",
               lambda ops, x, A, B, b, h, activation_name: x + h * ops.sigma(x @ A.T + b, activation_name) @ B.T),
    "contractive": (r"y = x - h\, A^\top \Sigma(A x + b)",
                    lambda ops, x, A, b, h, activation_name: x - h * ops.sigma(x @ A.T + b, activation_name) @ A),
    "expansive": (r"y = x + h\, \Sigma(W x + v)",
                  lambda ops, x, W, v, h, activation_name: x + h * ops.sigma(x @ W.T + v, activation_name)),
    "lipschitz_pair": (r"y = \Psi_C^{h_C}(\Psi_E^{h_E}(x)),\ h_C = 2\,\mathrm{sigmoid}(\theta),\ "
                       r"h_E = 1/\max(|1 - h_C|, |1 - h_C/2|) - 1", _lipschitz_pair),
    "cpl": (r"y = x - \frac{2}{\|W\|_2^2} W^\top \mathrm{ReLU}(W x + b)",
            lambda ops, x, W, b: x - 2.0 / ops.spectral_norm(W) ** 2 * ops.relu(x @ W.T + b) @ W),
    "sll": (r"y = x - 2 W^\top T^{-1}\mathrm{ReLU}(W x + b),\ t_i = \sum_j |W W^\top|_{ij} e^{q_j - q_i}", _sll),
    "groupsort": (r"y = \mathrm{MaxMin}(Q x + b)", _groupsort),
    "volume_preserving": (r"q' = q + h\Sigma(A v + a),\ v' = v + h\Sigma(B q' + b)", _volume_preserving),
    "hamiltonian": (r"q' = q + h K^\top\Sigma(K p + a),\ p' = p - h U^\top\Sigma(U q' + b)", _hamiltonian),
    "mass_rk": (r"y = \Psi^h_{\mathrm{RK}}(x),\ \dot x = (M(x) - M(x)^\top)\mathbf 1,\ "
                r"\mathrm{vec}\,M = \Sigma(U x + u)", _mass_rk),
}


def _preactivations(cache):
    """Every pre-activation (a cache entry whose key starts with "z"), nested caches included."""
    if isinstance(cache, dict):
        return [found for key, value in cache.items() for found in (
            [value] if key.startswith("z") and isinstance(value, np.ndarray) else _preactivations(value))]
    if isinstance(cache, (list, tuple)):
        return [found for item in cache for found in _preactivations(item)]
    return []


def _layer_inputs(kind, config):
    forward = LAYER_KINDS[kind][0]

    def draw(rng):
        n, half, m = dims(rng, 3, 1, 3)
        # the split and paired layers need an even width; the mass field (M − Mᵀ)1 vanishes identically at d = 1
        d = 2 * half if kind in EVEN_WIDTH_KINDS else dims(rng, 1, 1 + (kind == "mass_rk"), 3)[0]
        params = {name: uniform(rng, shape, 1.0) for name, shape in layer_param_shapes(kind, d, m).items()}
        if kind in ("cpl", "sll"):  # both divide by ‖W‖² (CPL) or ‖w_i‖² (SLL): keep every row away from 0
            params["W"] += np.sign(params["W"]) * 0.3
        step = {"h": scalar(rng, 0.05, 1.0)} if LAYER_CONFIG[kind] else {}
        width = m if kind == "linear" else d
        return {"x": uniform(rng, (n, d), 2.0), **params, **step, "dout": uniform(rng, (n, width), 1.0)}

    def preactivations(inputs):
        arrays = {name: value for name, value in inputs.items() if name != "dout"}
        h = {"h": float(arrays.pop("h"))} if "h" in arrays else {}
        return _preactivations(forward(**arrays, **h, **config)[1])

    return lambda rng: until_off_kinks(rng, draw, preactivations)


def _layer(kind, config):
    forward, backward, _ = LAYER_KINDS[kind]

    def compute(inputs):
        arrays = {name: value for name, value in inputs.items() if name != "dout"}
        h = {"h": float(arrays.pop("h"))} if "h" in arrays else {}
        out, cache = forward(**arrays, **h, **config)
        dx, *grads = backward(inputs["dout"], cache)  # the gradients in the order of the forward's arguments
        return {"value": out, "grad_x": dx, **{f"grad_{name}": g for name, g in zip(LAYER_PARAMS[kind], grads)}}

    return compute


def _layer_reference(kind, config, ops):
    return lambda **tensors: LAYERS[kind][1](ops, **tensors, **config)


def _layer_variants():
    """(name, kind, config) of every layer case: each activation, and each RK method of the mass layer."""
    for kind in sorted(kind for kind, allowed in LAYER_CONFIG.items() if not allowed):  # fixed activations
        yield f"dynsys.{kind}", kind, {}
    for kind in sorted(kind for kind, allowed in LAYER_CONFIG.items() if "activation_name" in allowed and
                       kind != "mass_rk"):
        for activation_name in ACTIVATIONS:
            yield f"dynsys.{kind}[{activation_name}]", kind, {"activation_name": activation_name}
    for method in sorted(RK_TABLEAUS):
        for activation_name in ACTIVATIONS:
            yield (f"dynsys.mass_rk[{method},{activation_name}]", "mass_rk",
                   {"method": method, "activation_name": activation_name})


for _name, _kind, _config in _layer_variants():
    register(Case(_name, TOPIC, LAYERS[_kind][0], _layer_inputs(_kind, _config), _layer(_kind, _config),
                  ("x", *layer_param_shapes(_kind, 2, 1)),
                  {framework: _layer_reference(_kind, _config, ops) for framework, ops in OPS.items()},
                  cotangent="dout"))


# ---------------------------------------------------------------------------------------------------------------
# The multi-class hinge loss
# ---------------------------------------------------------------------------------------------------------------

def _hinge_draw(rng):
    (n,) = dims(rng, 1, 1, 5)
    (k,) = dims(rng, 1, 2, 4)
    return {"logits": uniform(rng, (n, k)), "labels": labels(rng, n, k), "margin": scalar(rng, 0.05, 2.0)}


def _hinge_arguments(p):
    rows = np.arange(len(p["labels"]))
    hinge = p["margin"] - p["logits"][rows, p["labels"]][:, None] + p["logits"]
    hinge[rows, p["labels"]] = 1.0  # the true class is no hinge term
    return [hinge]


def _hinge(p):
    loss, dlogits = multiclass_hinge(p["logits"], p["labels"], float(p["margin"]))
    return {"value": loss, "grad_logits": dlogits}


def _hinge_reference(ops):
    def reference(logits, labels, margin):
        mask = ops.one_hot(labels, logits.shape[1])
        true = (logits * mask).sum(axis=1)
        return (ops.relu(margin - true[:, None] + logits) * (1.0 - mask)).sum() / len(labels)

    return reference


register(Case("dynsys.multiclass_hinge", TOPIC, r"L = \frac1n \sum_i \sum_{j \ne y_i} \max(0,\ m - z_{iy_i} + z_{ij})",
              lambda rng: until_off_kinks(rng, _hinge_draw, _hinge_arguments), _hinge, ("logits",),
              {framework: _hinge_reference(ops) for framework, ops in OPS.items()}))


# ---------------------------------------------------------------------------------------------------------------
# The attack objective's input gradient through a 1-Lipschitz network
# ---------------------------------------------------------------------------------------------------------------

ATTACK_NETWORK = {"d_in": 3, "width": 4, "n_pairs": 2, "n_classes": 3}


def _attack_network(params=None):
    """The 1-Lipschitz network of the attack case, with ``params`` (keyed ``"<layer>.<name>"``) if given."""
    network = lipschitz_network(np.random.default_rng(0), **ATTACK_NETWORK)
    for name, array in (params or {}).items():
        network.parameters()[name][...] = array
    return network


def _attack_draw(rng):
    network = lipschitz_network(rng, **ATTACK_NETWORK)
    (n,) = dims(rng, 1, 1, 5)
    X = rng.standard_normal((n, ATTACK_NETWORK["d_in"]))
    return {"X": X, "y": labels(rng, n, ATTACK_NETWORK["n_classes"]),
            **{name: p.copy() for name, p in network.parameters().items()}}


def _attack_preactivations(p):
    network = _attack_network({k: v for k, v in p.items() if k not in ("X", "y")})
    return _preactivations(network.forward(p["X"])[1])


def _attack(p):
    network = _attack_network({k: v for k, v in p.items() if k not in ("X", "y")})
    negated_margin, dx = margin_input_gradient(network, p["X"], p["y"])
    return {"value": negated_margin, "grad_X": dx}


def _attack_reference(framework):
    ops = OPS[framework]

    def reference(X, y, **params):
        x = X
        for i, layer in enumerate(_attack_network().layers):
            config = dict(layer.config)
            if layer.kind != "linear":
                config.setdefault("activation_name", theory.LIPSCHITZ_ACTIVATION)
            x = LAYERS[layer.kind][1](ops, x, **{name: params[f"{i}.{name}"] for name in layer.params}, **config)
        mask = ops.one_hot(y, x.shape[1])
        true = (x * mask).sum(axis=1)
        return ops.row_max(x - 1e9 * mask) - true  # the true class pushed out of the max

    return reference


register(Case("dynsys.margin_input_gradient", TOPIC,
              r"\phi(x) = \max_{j \ne y} \mathcal N(x)_j - \mathcal N(x)_y,\ \partial\phi/\partial x",
              lambda rng: until_off_kinks(rng, _attack_draw, _attack_preactivations), _attack, ("X",),
              {framework: _attack_reference(framework) for framework in OPS}))


# ---------------------------------------------------------------------------------------------------------------
# Vector-Jacobian products of the gradient field and the sphere field (the Presnov decomposition's pieces)
# ---------------------------------------------------------------------------------------------------------------

def _field_inputs(parameter_shapes):
    def draw(rng):
        (d,), (m,) = dims(rng, 1, 2, 3), dims(rng, 1, 1, 3)  # at d = 1 the skew field S(x) x vanishes
        shapes = parameter_shapes(d, m)
        return {"x": rng.standard_normal((3, d)), "w": rng.standard_normal((3, d)),
                **{name: rng.standard_normal(shape) for name, shape in shapes.items()}}

    return draw


def _gradient_field(p):
    return {"value": gradient_field(p["x"], p["A"], p["b"]),
            "grad_x": gradient_field_vjp(p["x"], p["w"], p["A"], p["b"])}


def _sphere_field(p):
    return {"value": sphere_field(p["x"], p["C"], p["c"]), "grad_x": sphere_field_vjp(p["x"], p["w"], p["C"], p["c"])}


def _gradient_reference(ops):
    return lambda x, A, b: -ops.sigma(x @ A.T + b, "tanh") @ A


def _sphere_reference(ops):
    def reference(x, C, c):
        n, d = x.shape
        M = ops.sigma(x @ C.T + c, "tanh").reshape(n, d, d)
        return ops.einsum("nij,nj->ni", M - ops.swap(M), x)

    return reference


register(Case("dynsys.gradient_field_vjp", TOPIC, r"G(x) = -A^\top \tanh(A x + b),\ J_G^\top w",
              _field_inputs(lambda d, m: {"A": (m, d), "b": (m,)}), _gradient_field, ("x",),
              {framework: _gradient_reference(ops) for framework, ops in OPS.items()},
              cotangent="w"))
register(Case("dynsys.sphere_field_vjp", TOPIC, r"X_S(x) = (M(x) - M(x)^\top) x,\ \mathrm{vec}\,M = \tanh(Cx + c)",
              _field_inputs(lambda d, m: {"C": (d * d, d), "c": (d * d,)}), _sphere_field, ("x",),
              {framework: _sphere_reference(ops) for framework, ops in OPS.items()},
              cotangent="w"))
