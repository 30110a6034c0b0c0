"""The PRD gradients against torch float64 autograd (skipped when torch is not installed)."""

import numpy as np
import pytest
from hypothesis import given, settings

from refimpl.prd import model
from tests.prd.strategies import problems

torch = pytest.importorskip("torch", exc_type=ImportError)
pytestmark = pytest.mark.torch

from tests.torch_helpers import assert_close, torch_gradients


def torch_losses(X, Y, U, V, W, a):
    """L_sup and L_adv exactly as eqs. 1-2 print them."""
    m, d_out, m_c = U.shape[0], V.shape[0], W.shape[0]
    hidden = torch.relu(torch.tensor(X) @ U.T)
    loss_sup = 0.5 * ((hidden @ V.T / np.sqrt(d_out * m) - torch.tensor(Y)) ** 2).sum()
    loss_adv = (torch.relu(hidden @ V.T @ W.T) @ a).sum() / (np.sqrt(m * m_c) * np.sqrt(d_out))
    return loss_sup, loss_adv


@settings(max_examples=20)
@given(problems())
def test_supervised_adversarial_and_augmented_gradients_match_torch(problem):
    X, Y, U, V, W, a = problem
    W_t, a_t = torch.tensor(W), torch.tensor(a)
    value, grads = torch_gradients(lambda U, V: torch_losses(X, Y, U, V, W_t, a_t)[0], U, V)
    assert_close(model.supervised_gradient(X, Y, U, V, backend="numpy"), [value, *grads])
    value, grads = torch_gradients(lambda *p: torch_losses(X, Y, *p)[1], U, V, W, a)
    assert_close(model.adversarial_gradient(X, U, V, W, a, backend="numpy"), [value, *grads])
    value, grads = torch_gradients(lambda *p: torch_losses(X, Y, *p)[0] - torch_losses(X, Y, *p)[1], U, V, W, a)
    assert_close(model.augmented_gradient(X, Y, U, V, W, a, backend="numpy"), [value, *grads])


@settings(max_examples=20)
@given(problems())
def test_critic_objective_with_gradient_penalty_matches_torch_double_backward(problem):
    X, Y, U, V, W, a = problem
    Z = model.generator_forward(X, U, V)
    Y_hat = 0.3 * Y + 0.7 * Z

    def objective(W, a):
        def g(y):
            return torch.relu(y @ W.T) @ a / np.sqrt(W.shape[0])

        points = torch.tensor(Y_hat, requires_grad=True)
        (input_gradient,) = torch.autograd.grad(g(points).sum(), points, create_graph=True)
        penalty = ((input_gradient.norm(dim=1) - 1.0) ** 2).mean()
        return g(torch.tensor(Y)).mean() - g(torch.tensor(Z)).mean() - 10.0 * penalty

    value, grads = torch_gradients(objective, W, a)
    assert_close(model.critic_objective(Y, Z, W, a, penalty=10.0, Y_hat=Y_hat), [value, *grads])


@settings(max_examples=20)
@given(problems())
def test_critic_layer_pair_matches_torch(problem):
    """critic_forward/critic_backward against torch autograd for an upstream gradient that is not all ones."""
    _, Y, _, _, W, a = problem
    dout = np.linspace(-1.0, 2.0, Y.shape[0])
    value, grads = torch_gradients(lambda Y, W, a: torch.relu(Y @ W.T) @ a / np.sqrt(W.shape[0]), Y, W, a, dout=dout)
    scores, cache = model.critic_forward(Y, W, a)
    assert_close([scores, *model.critic_backward(dout, cache)], [value, *grads])
