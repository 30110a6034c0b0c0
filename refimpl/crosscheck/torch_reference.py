"""Torch autograd twins of refimpl computations, for tests and benchmarks (imports torch; optional):
the core two-layer squared-error gradient, the PRD adversarial loss's gradient and a training step of core's
ConvNet."""

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


def adversarial_gradient(X, U, V, W, a, scale, critic_scale, device="cpu"):
    r"""A callable returning ``(L_adv, dU, dV, dW, da)`` by autograd, on float64 copies built once on ``device``:

    .. math:: L_{adv} = c \, \mathbf 1^\top \sigma(Z W^\top) a, \qquad Z = s \, \sigma(X U^\top) V^\top

    (``scale`` = s, ``critic_scale`` = c), as ``refimpl.prd.adversarial_gradient`` computes it.
    """
    Xt = torch.from_numpy(X).to(device)
    params = [torch.tensor(p, dtype=torch.float64, device=device, requires_grad=True) for p in (U, V, W, a)]
    Ut, Vt, Wt, at = params

    def gradient():
        for p in params:
            p.grad = None
        Z = scale * torch.relu(Xt @ Ut.T) @ Vt.T
        loss = critic_scale * (torch.relu(Z @ Wt.T) @ at).sum()
        loss.backward()
        return (float(loss.detach()), *(p.grad.cpu().numpy() for p in params))

    return gradient


def cuda_available():
    """True when torch can run on a CUDA device."""
    return torch.cuda.is_available()


def conv_net_logits(network, tensors, images):
    """Logits of ``refimpl.core.classifier.ConvNet`` ``network`` by torch: per block conv (padding ``pad``),
    ReLU, max-pool, then affine, ReLU, affine; ``tensors`` holds K1, b1, …, M1, c1, M2, c2 as float64 tensors,
    ``images`` is (n, channels, image_size, image_size)."""
    import torch.nn.functional as F

    h = images
    for k, (_, _, pad) in enumerate(network.blocks, start=1):
        h = F.max_pool2d(torch.relu(F.conv2d(h, tensors[f"K{k}"], tensors[f"b{k}"], padding=pad)), network.pool)
    hidden = torch.relu(h.reshape(len(images), -1) @ tensors["M1"].T + tensors["c1"])
    return hidden @ tensors["M2"].T + tensors["c2"]


def conv_net_sgd_step(network, params, x, labels, lr):
    """A callable doing one SGD step of ``network`` (a ``ConvNet``) by autograd, softmax cross-entropy,
    on float64 copies of ``params``; ``x`` (n, channels · image_size²), ``labels`` (n,)."""
    import torch.nn.functional as F

    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    images = torch.tensor(x, dtype=torch.float64).reshape(-1, network.channels, network.image_size, network.image_size)
    targets = torch.tensor(labels)

    def step():
        loss = F.cross_entropy(conv_net_logits(network, tensors, images), targets)
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
