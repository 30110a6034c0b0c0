"""The stability game's hand-derived Jacobian against torch float64 autograd (skipped without torch)."""

import numpy as np
import pytest
from hypothesis import given, settings

from refimpl.prd import stability
from tests.prd.strategies import problems

torch = pytest.importorskip("torch", exc_type=ImportError)
pytestmark = pytest.mark.torch


def torch_field(X, Y, a, shapes, weight, rate):
    """The game's flow written from the model's equations, on a flat torch state."""
    X, Y, a = torch.tensor(X), torch.tensor(Y), torch.tensor(a)
    sizes = [int(np.prod(s)) for s in shapes]

    def field(state):
        U, V, W = (part.reshape(shape) for part, shape in zip(torch.split(state, sizes), shapes, strict=True))
        m, d_out, m_c = U.shape[0], V.shape[0], W.shape[0]

        def g(y):
            return torch.relu(y @ W.T) @ a / np.sqrt(m_c)

        def generator_loss(U, V):
            Z = torch.relu(X @ U.T) @ V.T / np.sqrt(d_out * m)
            return 0.5 * ((Z - Y) ** 2).sum() - weight * g(Z).sum()

        U_dot, V_dot = torch.autograd.grad(generator_loss(U, V), (U, V), create_graph=True)
        Z = torch.relu(X @ U.T) @ V.T / np.sqrt(d_out * m)
        (G,) = torch.autograd.grad(g(Y).mean() - g(Z).mean(), W, create_graph=True)
        W_dot = rate * (G - (W * G).sum() / (W * W).sum() * W)
        return torch.cat([-U_dot.reshape(-1), -V_dot.reshape(-1), W_dot.reshape(-1)])

    return field


@settings(max_examples=20, deadline=None)
@given(problems(max_m=4))
def test_jacobian_matches_torch_autograd(problem):
    X, Y, U, V, W, a = problem
    state = torch.tensor(np.concatenate([U.ravel(), V.ravel(), W.ravel()]), requires_grad=True)
    expected = torch.autograd.functional.jacobian(torch_field(X, Y, a, [U.shape, V.shape, W.shape], 0.8, 1.7),
                                                  state).numpy()
    J = stability.game_jacobian(X, Y, a, U, V, W, weight=0.8, rate=1.7)
    np.testing.assert_allclose(J, expected, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(expected).max()))
