"""Every flow-map layer, the hinge loss and the attack's input gradient against torch float64 autograd."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refimpl.dynsys import model, splitting, theory, training
from refimpl.dynsys.model import RK_TABLEAUS
from tests.dynsys.cases import hand_derived, hinge_cases, layer_cases, preactivations
from tests.helpers import off_kinks

torch = pytest.importorskip("torch", exc_type=ImportError)
from tests.torch_helpers import assert_close, torch_gradients  # noqa: E402  (needs torch)

pytestmark = pytest.mark.torch


def sigma(z, name):
    return torch.nn.functional.leaky_relu(z, model.SLOPE) if name == "leaky_relu" else torch.tanh(z)


def _split(x):
    k = x.shape[1] // 2
    return x[:, :k], x[:, k:]


def torch_mass_field(x, U, u, activation_name):
    n, d = x.shape
    M = sigma(x @ U.T + u, activation_name).reshape(n, d, d)
    return M.sum(dim=2) - M.sum(dim=1)


def torch_mass_rk(x, U, u, h, method, activation_name):
    a, b = RK_TABLEAUS[method]
    stages = []
    for i in range(len(b)):
        stage_input = x + h * sum((float(a[i, j]) * stages[j] for j in range(i)), torch.zeros_like(x))
        stages.append(torch_mass_field(stage_input, U, u, activation_name))
    return x + h * sum(float(w) * k for w, k in zip(b, stages))


def torch_volume_preserving(x, A, a, B, b, h, activation_name):
    q, v = _split(x)
    q1 = q + h * sigma(v @ A.T + a, activation_name)
    return torch.cat([q1, v + h * sigma(q1 @ B.T + b, activation_name)], dim=1)


def torch_hamiltonian(x, K, a, U, b, h, activation_name):
    q, p = _split(x)
    q1 = q + h * sigma(p @ K.T + a, activation_name) @ K
    return torch.cat([q1, p - h * sigma(q1 @ U.T + b, activation_name) @ U], dim=1)


def torch_lipschitz_pair(x, W, v, A, b, theta):
    h_C = 2.0 * torch.sigmoid(theta[0])
    c = torch.maximum(torch.abs(1.0 - h_C), torch.abs(1.0 - model.SLOPE * h_C))
    mid = x + (1.0 / c - 1.0) * sigma(x @ W.T + v, "leaky_relu")
    return mid - h_C * sigma(mid @ A.T + b, "leaky_relu") @ A


def torch_cpl(x, W, b):
    return x - 2.0 / torch.linalg.matrix_norm(W, 2) ** 2 * torch.relu(x @ W.T + b) @ W


def torch_sll(x, W, b, q):
    t = (torch.abs(W @ W.T) @ torch.exp(q)) / torch.exp(q)
    return x - 2.0 * (torch.relu(x @ W.T + b) / t) @ W


def torch_groupsort(x, Q, b):
    z = (x @ Q.T + b).reshape(x.shape[0], -1, 2)
    return torch.stack([z.max(dim=2).values, z.min(dim=2).values], dim=2).reshape(x.shape)


TORCH_LAYERS = {
    "lipschitz_pair": torch_lipschitz_pair,
    "cpl": torch_cpl,
    "sll": torch_sll,
    "groupsort": torch_groupsort,
    "linear": lambda x, W, b: x @ W.T + b,
    "resnet": lambda x, A, B, b, h, activation_name: x + h * sigma(x @ A.T + b, activation_name) @ B.T,
    "contractive": lambda x, A, b, h, activation_name: x - h * sigma(x @ A.T + b, activation_name) @ A,
    "expansive": lambda x, W, v, h, activation_name: x + h * sigma(x @ W.T + v, activation_name),
    "volume_preserving": torch_volume_preserving,
    "hamiltonian": torch_hamiltonian,
    "mass_rk": torch_mass_rk,
}


@settings(max_examples=60)
@given(layer_cases())
def test_layers_match_torch(case):
    kind, x, params, config, dout = case
    out, dx, grads = hand_derived(case)
    names = list(params)
    value, torch_grads = torch_gradients(
        lambda x, *values: TORCH_LAYERS[kind](x, **dict(zip(names, values)), **config), x, *params.values(), dout=dout)
    assert_close([out, dx, *grads], [value, *torch_grads])


@given(hinge_cases())
def test_multiclass_hinge_matches_torch(case):
    logits, labels, margin = case
    n = len(labels)
    loss, dlogits = training.multiclass_hinge(logits, labels, margin)

    def reference(z):
        true = z[torch.arange(n), torch.tensor(labels)][:, None]
        mask = torch.ones_like(z)
        mask[torch.arange(n), torch.tensor(labels)] = 0.0
        return (torch.relu(margin - true + z) * mask).sum() / n

    value, (grad,) = torch_gradients(reference, logits, dout=np.array(1.0))
    assert_close([np.array(loss), dlogits], [value, grad])


@settings(max_examples=15)
@given(st.integers(0, 2**32 - 1))
def test_attack_input_gradient_matches_torch(seed):
    rng = np.random.default_rng(seed)
    net = model.lipschitz_network(rng, 3, 4, 2, 3)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    _, caches = net.forward(X)
    assume(off_kinks(*preactivations(caches)))
    negated_margin, dx = training.margin_input_gradient(net, X, y)
    tensors = {name: torch.tensor(p) for name, p in net.parameters().items()}

    def torch_net(x):
        for i, layer in enumerate(net.layers):
            params = {name: tensors[f"{i}.{name}"] for name in layer.params}
            x = TORCH_LAYERS[layer.kind](x, **params, **{**layer.config, **(
                {"activation_name": "leaky_relu"} if layer.kind in ("contractive", "expansive") else {})})
        return x

    Xt = torch.tensor(X, requires_grad=True)
    logits = torch_net(Xt)
    true = logits[torch.arange(5), torch.tensor(y)]
    others = logits.clone()
    others[torch.arange(5), torch.tensor(y)] = -torch.inf
    value = others.max(dim=1).values - true
    value.sum().backward()
    assert_close([negated_margin, dx], [value.detach().numpy(), Xt.grad.numpy()])


@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_gradient_and_sphere_field_vjps_match_torch(d, m, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((3, d)), rng.standard_normal((3, d))
    A, b, C, c = rng.standard_normal((m, d)), rng.standard_normal(m), rng.standard_normal((d * d, d)), rng.standard_normal(d * d)

    def torch_sphere(x):
        M = torch.tanh(x @ torch.tensor(C).T + torch.tensor(c)).reshape(3, d, d)
        return torch.einsum("nij,nj->ni", M - M.transpose(1, 2), x)

    def torch_gradient(x):
        return -torch.tanh(x @ torch.tensor(A).T + torch.tensor(b)) @ torch.tensor(A)

    for ours, reference, field in ((splitting.gradient_field_vjp(x, w, A, b), torch_gradient, splitting.gradient_field),
                                   (splitting.sphere_field_vjp(x, w, C, c), torch_sphere, splitting.sphere_field)):
        value, (grad,) = torch_gradients(reference, x, dout=w)
        assert_close([field(x, *((A, b) if field is splitting.gradient_field else (C, c))), ours], [value, grad])


@given(st.integers(1, 5), st.integers(2, 4), st.integers(1, 4), st.floats(0.0, 2.0), st.floats(0.2, 5.0),
       st.integers(0, 2**32 - 1))
def test_certified_loss_and_head_gradient_match_torch(n, k, m, eps, temperature, seed):
    """The certified cross-entropy with K = ‖c_i − c_j‖ computed from the head C: dlogits and dC."""
    rng = np.random.default_rng(seed)
    logits, C, labels = rng.standard_normal((n, k)), rng.standard_normal((k, m)), rng.integers(0, k, n)
    K = theory.head_pair_norms(C)[0]
    loss, dlogits, dK = training.certified_cross_entropy(logits, labels, K, eps, temperature)
    dC = training.head_pair_norms_backward(dK, C)

    def reference(z, C):
        differences = C[:, None, :] - C[None, :, :]
        norms = torch.sqrt((differences**2).sum(dim=2) + torch.eye(k, dtype=torch.float64)) * (1 - torch.eye(k))
        shifted = temperature * (z + eps * norms[torch.tensor(labels)])
        return torch.nn.functional.cross_entropy(shifted, torch.tensor(labels))

    value, grads = torch_gradients(reference, logits, C, dout=np.array(1.0))
    assert_close([np.array(loss), dlogits, dC], [value, *grads])
