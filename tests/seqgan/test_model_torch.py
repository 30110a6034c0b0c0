"""The LSTM's BPTT (mean NLL and policy-gradient loss) against torch float64 autograd, the LSTM rebuilt by hand in torch ops."""

import numpy as np
import pytest
from hypothesis import given, settings

torch = pytest.importorskip("torch")

from refimpl.crosscheck.seqgan_reference import lstm_token_log_probabilities  # noqa: E402
from refimpl.seqgan import model  # noqa: E402
from tests.seqgan.strategies import lstm_cases  # noqa: E402
from tests.torch_helpers import assert_close, torch_gradients  # noqa: E402


def _torch_token_log_probabilities(tokens):
    """log p(y_t | y_<t) (n, T) as a function of the parameters, by the LSTM written out in torch ops."""
    return lambda *params: lstm_token_log_probabilities(*params, torch.as_tensor(tokens))


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
