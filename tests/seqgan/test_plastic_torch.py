"""The plastic softmax layer's BPTT through the episode against torch float64 autograd (Hebb, Oja, clipped)."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from refimpl.crosscheck.seqgan_reference import plastic_logits  # noqa: E402
from refimpl.seqgan import plastic  # noqa: E402
from tests.seqgan.test_plastic import CLIP, away_from_the_clip, episodes  # noqa: E402
from tests.torch_helpers import assert_close, torch_gradients  # noqa: E402


def _torch_episode(rule, labels, trace, clip):
    def loss(x, w, b, alpha, eta):
        start = None if trace is None else torch.tensor(trace)
        logits = plastic_logits(x, w, b, alpha, eta, rule=rule, clip=clip, trace=start)
        return torch.nn.functional.cross_entropy(logits, torch.as_tensor(labels))

    return loss


@settings(max_examples=10)
@pytest.mark.parametrize("rule", plastic.RULES)
@given(data=st.data())
def test_plastic_layer_matches_torch(rule, data):
    case = data.draw(episodes(rule))
    assume(rule != "clip" or away_from_the_clip(case))
    x, w, b, alpha, eta, labels, trace = case
    clip = CLIP
    logits, probabilities, cache = plastic.plastic_softmax_forward(x, w, b, alpha, eta, rule=rule, clip=clip,
                                                                   trace=trace)
    dlogits = (probabilities - np.eye(w.shape[1])[labels]) / len(labels)
    ours = plastic.plastic_softmax_backward(dlogits, cache)
    _, theirs = torch_gradients(_torch_episode(rule, labels, trace, clip), x, w, b, alpha, np.array(eta))
    assert_close([ours[0], ours[1], ours[2], ours[3], np.array(ours[4])], theirs)
