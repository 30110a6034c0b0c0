"""The core two-layer squared-error gradient, by torch autograd (imports torch; optional)."""

import torch


def two_layer_squared_error_gradient(X, Y, U, V, scale):
    """A callable returning ``(loss, dU, dV)`` of ½‖s·σ(X Uᵀ) Vᵀ − Y‖²_F by autograd, on float64 copies.

    The tensors are built once, so that timing the callable measures the forward and backward passes.
    """
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    Ut, Vt = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (U, V))

    def gradient():
        Ut.grad = Vt.grad = None
        loss = 0.5 * ((scale * torch.relu(Xt @ Ut.T) @ Vt.T - Yt) ** 2).sum()
        loss.backward()
        return float(loss.detach()), Ut.grad.numpy(), Vt.grad.numpy()

    return gradient
