"""The core two-layer squared-error gradient, by torch autograd (imports torch; optional)."""

import torch


def two_layer_squared_error_gradient(X, Y, U, V, scale, device="cpu"):
    """A callable returning ``(loss, dU, dV)`` of ½‖s·σ(X Uᵀ) Vᵀ − Y‖²_F by autograd, on float64 copies.

    The tensors are built once, on ``device`` ("cpu" or "cuda"), so that timing the callable measures the
    forward and backward passes (and, on a GPU, the copy of dU and dV back to host arrays).
    """
    Xt, Yt = torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device)
    Ut, Vt = (torch.tensor(a, dtype=torch.float64, device=device, requires_grad=True) for a in (U, V))

    def gradient():
        Ut.grad = Vt.grad = None
        loss = 0.5 * ((scale * torch.relu(Xt @ Ut.T) @ Vt.T - Yt) ** 2).sum()
        loss.backward()
        return float(loss.detach()), Ut.grad.cpu().numpy(), Vt.grad.cpu().numpy()

    return gradient


def cuda_available():
    """True when torch can run on a CUDA device."""
    return torch.cuda.is_available()


def three_layer_cnn_sgd_step(params, x, labels, lr):
    """A callable doing one SGD step of the tutorial's CNN by autograd: conv 5×5 (pad 2), ReLU, 2×2
    max-pool, affine, ReLU, affine, softmax cross-entropy; ``params`` as in
    ``refimpl.tutorial.model.ThreeLayerConvNet`` (K, b, M1, c1, M2, c2), ``x`` (n, 784), ``labels`` (n,)."""
    import torch.nn.functional as F

    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    images = torch.tensor(x, dtype=torch.float64).reshape(-1, 1, 28, 28)
    targets = torch.tensor(labels)

    def step():
        pooled = F.max_pool2d(torch.relu(F.conv2d(images, tensors["K"], tensors["b"], padding=2)), 2)
        hidden = torch.relu(pooled.reshape(len(images), -1) @ tensors["M1"].T + tensors["c1"])
        loss = F.cross_entropy(hidden @ tensors["M2"].T + tensors["c2"], targets)
        loss.backward()
        with torch.no_grad():
            for tensor in tensors.values():
                tensor -= lr * tensor.grad
                tensor.grad = None

    return step


def get_num_threads():
    """torch's intra-op thread count."""
    return torch.get_num_threads()


def set_num_threads(count):
    """Set torch's intra-op thread count (benchmarks time at the default and at one thread)."""
    torch.set_num_threads(count)
