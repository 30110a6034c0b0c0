"""The coevo cell step (one generator and one discriminator Adam step) in torch, for the benchmark (imports torch).

The same networks as :mod:`refimpl.coevo.networks` (affine layers, leaky ReLU 0.2, tanh / logit), the same
losses (non-saturating BCE for G, the BCE sum for D, on logits) and torch's Adam, written as a careful torch
user would: the discriminator's parameters are frozen during the generator's step.
"""

import torch
import torch.nn.functional as F

SLOPE = 0.2


def _network(params):
    layers = len(params) // 2
    return [(torch.tensor(params[f"w{i}"], requires_grad=True), torch.tensor(params[f"b{i}"], requires_grad=True))
            for i in range(1, layers + 1)]


def _forward(weights, x, output):
    for i, (w, b) in enumerate(weights):
        x = F.linear(x, w, b)
        if i < len(weights) - 1:
            x = F.leaky_relu(x, SLOPE)
    return torch.tanh(x) if output == "tanh" else x[:, 0]


def gan_cell_step(generator, discriminator, z, z_discriminator, real, lr=2e-4, betas=(0.5, 0.999)):
    """A closure doing one G step then one D step on copies of the parameter dicts, and a getter of them.

    Returns
    -------
    step : callable, no arguments
    parameters : callable returning ``(generator, discriminator)`` as dicts of NumPy arrays
    """
    g, d = _network(generator), _network(discriminator)
    g_params, d_params = [p for pair in g for p in pair], [p for pair in d for p in pair]
    g_opt, d_opt = torch.optim.Adam(g_params, lr=lr, betas=betas), torch.optim.Adam(d_params, lr=lr, betas=betas)
    z, z_discriminator, real = (torch.from_numpy(a) for a in (z, z_discriminator, real))
    ones, zeros = torch.ones(len(z), dtype=z.dtype), torch.zeros(len(z), dtype=z.dtype)

    def step():
        for p in d_params:
            p.requires_grad_(False)
        g_opt.zero_grad()
        F.binary_cross_entropy_with_logits(_forward(d, _forward(g, z, "tanh"), "logit"), ones).backward()
        g_opt.step()
        for p in d_params:
            p.requires_grad_(True)
        d_opt.zero_grad()
        with torch.no_grad():
            fake = _forward(g, z_discriminator, "tanh")
        loss = (F.binary_cross_entropy_with_logits(_forward(d, real, "logit"), ones)
                + F.binary_cross_entropy_with_logits(_forward(d, fake, "logit"), zeros))
        loss.backward()
        d_opt.step()

    def parameters():
        def as_dict(pairs):
            return {f"{kind}{i}": t.detach().numpy().copy() for i, pair in enumerate(pairs, start=1)
                    for kind, t in zip("wb", pair)}
        return as_dict(g), as_dict(d)

    return step, parameters
