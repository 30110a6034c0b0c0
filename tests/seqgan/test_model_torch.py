"""The LSTM's BPTT (mean NLL and policy-gradient loss) against torch float64 autograd, the LSTM rebuilt by hand in torch ops."""

import numpy as np
import pytest
from hypothesis import given, settings

torch = pytest.importorskip("torch")

from refimpl.seqgan import model  # noqa: E402
from tests.seqgan.strategies import lstm_cases  # noqa: E402
from tests.torch_helpers import assert_close, torch_gradients  # noqa: E402


def _torch_token_log_probabilities(tokens):
    """log p(y_t | y_<t) (n, T) of the peephole-free LSTM, gates i, f, o, c̃, written out in torch ops."""
    def log_probabilities(emb, W, U, b, Wo, bo):
        n, T = tokens.shape
        H = U.shape[0]
        h = torch.zeros(n, H, dtype=torch.float64)
        c = torch.zeros(n, H, dtype=torch.float64)
        previous = torch.zeros(n, dtype=torch.long)
        columns = []
        for t in range(T):
            z = emb[previous] @ W + h @ U + b
            i, f, o = torch.sigmoid(z[:, :H]), torch.sigmoid(z[:, H:2 * H]), torch.sigmoid(z[:, 2 * H:3 * H])
            c = f * c + i * torch.tanh(z[:, 3 * H:])
            h = o * torch.tanh(c)
            target = torch.as_tensor(tokens[:, t])
            columns.append(torch.log_softmax(h @ Wo + bo, dim=1).gather(1, target[:, None])[:, 0])
            previous = target
        return torch.stack(columns, dim=1)

    return log_probabilities


@settings(max_examples=15)
@given(lstm_cases())
def test_mean_nll_and_policy_gradient_match_torch(case):
    params, tokens, rewards = case
    arrays = [params[k] for k in model.PARAM_NAMES]
    log_p = _torch_token_log_probabilities(tokens)
    losses = {
        "mean": (lambda *a: -log_p(*a).mean(), model.mean_nll_and_gradients(params, tokens)),
        "pg": (lambda *a: -(log_p(*a) * torch.tensor(rewards)).sum(),
               model.policy_gradient_loss_and_gradients(params, tokens, rewards)),
    }
    for function, (loss, grads) in losses.values():
        value, torch_grads = torch_gradients(function, *arrays)
        assert_close([np.array(loss)] + [grads[k] for k in model.PARAM_NAMES], [value] + torch_grads)
