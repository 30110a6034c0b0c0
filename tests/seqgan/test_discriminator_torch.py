"""The discriminator's gradients (plain and plastic output, dropout, L2) against torch float64 autograd."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from refimpl.seqgan import discriminator as D  # noqa: E402
from tests.seqgan.test_discriminator import _off_kinks, discriminator_cases  # noqa: E402
from tests.torch_helpers import assert_close, torch_gradients  # noqa: E402


def _torch_loss(names, config, tokens, labels, mask):
    def loss(*tensors):
        p = dict(zip(names, tensors))
        x = p["emb"][torch.as_tensor(tokens)]  # (n, T, E)
        pooled = []
        for k, width in enumerate(config.filter_sizes):
            windows = x.unfold(1, width, 1)  # (n, T - w + 1, E, w)
            response = torch.einsum("nlew,fwe->nfl", windows, p[f"conv{k}_W"]) + p[f"conv{k}_b"][:, None]
            pooled.append(torch.relu(response).max(dim=2).values)
        u = torch.cat(pooled, dim=1)
        gate = torch.sigmoid(u @ p["gate_W"].T + p["gate_b"] + config.highway_gate_bias)
        v = gate * torch.relu(u @ p["highway_W"].T + p["highway_b"]) + (1 - gate) * u
        if mask is not None:
            v = v * torch.as_tensor(mask)
        if config.output == "plastic":
            trace, rows = torch.zeros_like(p["out_w"]), []
            for t in range(len(v)):
                a = v[t] @ (p["out_w"] + p["alpha"] * trace) + p["out_b"]
                y = torch.softmax(a, dim=0)
                trace = ((1 - p["eta"]) * trace + p["eta"] * torch.outer(v[t], y) if config.rule == "hebb"
                         else trace + p["eta"] * y * (v[t][:, None] - y * trace))
                rows.append(a)
            logits = torch.stack(rows)
        else:
            logits = v @ p["out_w"] + p["out_b"]
        cross_entropy = torch.nn.functional.cross_entropy(logits, torch.as_tensor(labels))
        return cross_entropy + 0.5 * config.l2 * ((p["out_w"] ** 2).sum() + (p["out_b"] ** 2).sum())

    return loss


@settings(max_examples=10)
@pytest.mark.parametrize("output", ["softmax", "plastic"])
@given(data=st.data())
def test_discriminator_matches_torch(output, data):
    params, config, tokens, labels, seed = data.draw(discriminator_cases(output))
    assume(_off_kinks(params, config, tokens))
    assume(output == "softmax" or len(tokens) >= 2)  # one sample: the trace is never read, η has no gradient
    names = sorted(params)
    loss, grads, cache = D.loss_and_gradients(params, config, tokens, labels, rng=np.random.default_rng(seed),
                                              backend="numpy")
    value, theirs = torch_gradients(_torch_loss(names, config, tokens, labels, cache["mask"]),
                                    *[params[k] for k in names])
    assert_close([np.array(loss)] + [grads[k] for k in names], [value] + theirs)
