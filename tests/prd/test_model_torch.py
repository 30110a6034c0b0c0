"""The PRD gradients against torch float64 autograd (skipped when torch is not installed)."""

import numpy as np
import pytest
from hypothesis import given, settings

from refimpl.prd import model
from tests.prd.strategies import problems

torch = pytest.importorskip("torch", exc_type=ImportError)
pytestmark = pytest.mark.torch

RTOL = 1e-10


def tensors(*arrays):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


def assert_close(ours, theirs):
    for a, b in zip(ours, theirs):
        b = b.detach().numpy() if hasattr(b, "detach") else b
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-12 * max(1.0, float(np.max(np.abs(b)))))


def torch_losses(X, Y, U, V, W, a):
    """L_sup and L_adv exactly as eqs. 1-2 print them."""
    m, d_out, m_c = U.shape[0], V.shape[0], W.shape[0]
    hidden = torch.relu(X @ U.T)
    Z = hidden @ V.T / np.sqrt(d_out * m)
    loss_sup = 0.5 * ((Z - Y) ** 2).sum()
    loss_adv = (torch.relu(hidden @ V.T @ W.T) @ a).sum() / (np.sqrt(m * m_c) * np.sqrt(d_out))
    return loss_sup, loss_adv


@settings(max_examples=20)
@given(problems())
def test_supervised_adversarial_and_augmented_gradients_match_torch(problem):
    X, Y, U, V, W, a = problem
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for name in ("sup", "adv", "aug"):
        Ut, Vt, Wt, at = tensors(U, V, W, a)
        loss_sup, loss_adv = torch_losses(Xt, Yt, Ut, Vt, Wt, at)
        if name == "sup":
            loss, params = loss_sup, [Ut, Vt]
            ours = model.supervised_gradient(X, Y, U, V, backend="numpy")
        elif name == "adv":
            loss, params = loss_adv, [Ut, Vt, Wt, at]
            ours = model.adversarial_gradient(X, U, V, W, a, backend="numpy")
        else:
            loss, params = loss_sup - loss_adv, [Ut, Vt, Wt, at]
            ours = model.augmented_gradient(X, Y, U, V, W, a, backend="numpy")
        grads = torch.autograd.grad(loss, params)
        assert_close([np.array(ours[0])], [loss.detach().numpy()])
        assert_close(ours[1:], grads)


@settings(max_examples=20)
@given(problems())
def test_critic_objective_with_gradient_penalty_matches_torch_double_backward(problem):
    X, Y, U, V, W, a = problem
    Z = model.generator_forward(X, U, V)
    Y_hat = 0.3 * Y + 0.7 * Z
    ours = model.critic_objective(Y, Z, W, a, penalty=10.0, Y_hat=Y_hat)
    Wt, at = tensors(W, a)
    Y_hat_t = torch.tensor(Y_hat, requires_grad=True)

    def g(y):
        return torch.relu(y @ Wt.T) @ at / np.sqrt(W.shape[0])

    (input_gradient,) = torch.autograd.grad(g(Y_hat_t).sum(), Y_hat_t, create_graph=True)
    penalty = ((input_gradient.norm(dim=1) - 1.0) ** 2).mean()
    objective = g(torch.tensor(Y)).mean() - g(torch.tensor(Z)).mean() - 10.0 * penalty
    grads = torch.autograd.grad(objective, [Wt, at])
    assert_close([np.array(ours[0])], [objective.detach().numpy()])
    assert_close(ours[1:], grads)
