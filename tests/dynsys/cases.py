"""Hypothesis strategies shared by the dynsys tests: one random layer of any kind, with its input and dout."""

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from refimpl.dynsys.model import LAYER_CONFIG, LAYER_KINDS, LAYER_PARAMS, RK_TABLEAUS, layer_param_shapes
from tests.helpers import arrays, floats, off_kinks

EVEN_WIDTH_KINDS = ("volume_preserving", "hamiltonian", "groupsort")  # split or paired coordinates


def output_width(kind, d, m):
    return m if kind == "linear" else d


@st.composite
def layer_cases(draw, kinds=tuple(sorted(LAYER_KINDS)), activations=("leaky_relu", "tanh")):
    """(kind, x, params, config, dout) for a small random layer."""
    kind = draw(st.sampled_from(kinds))
    n, k, m = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    d = 2 * k if kind in EVEN_WIDTH_KINDS else draw(st.integers(1, 3))
    params = {name: draw(arrays(shape, -1.0, 1.0)) for name, shape in layer_param_shapes(kind, d, m).items()}
    if kind == "cpl":  # the step 2/σ₁² of a nearly zero W is huge: finite differences lose every digit
        assume(np.linalg.norm(params["W"], 2) > 0.3)
    if kind == "sll":  # t_i >= ‖w_i‖², and the layer blows up like w_i/‖w_i‖² as a row w_i -> 0
        assume(np.linalg.norm(params["W"], axis=1).min() > 0.3)
    config = {}
    if LAYER_CONFIG[kind]:
        config = {"h": draw(floats(0.05, 1.0)), "activation_name": draw(st.sampled_from(activations))}
    if kind == "mass_rk":
        config["method"] = draw(st.sampled_from(sorted(RK_TABLEAUS)))
    x = draw(arrays((n, d), -2.0, 2.0))
    dout = draw(arrays((n, output_width(kind, d, m)), -1.0, 1.0))
    return kind, x, params, config, dout


def preactivations(cache):
    """Every pre-activation array (keys starting with "z") in a cache, nested caches included."""
    found = []
    if isinstance(cache, dict):
        for key, value in cache.items():
            if key.startswith("z") and isinstance(value, np.ndarray):
                found.append(value)
            elif isinstance(value, (dict, list)):
                found += preactivations(value)
    elif isinstance(cache, list):
        for item in cache:
            found += preactivations(item)
    return found


@st.composite
def hinge_cases(draw):
    """(logits (n, k), labels (n,), margin) with every hinge argument clear of its kink at 0."""
    n, k, margin = draw(st.integers(1, 5)), draw(st.integers(2, 4)), draw(st.floats(0.05, 2.0))
    logits = draw(arrays((n, k)))
    labels = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    hinge = margin - logits[np.arange(n), labels][:, None] + logits
    hinge[np.arange(n), labels] = 1.0
    assume(off_kinks(hinge))
    return logits, labels, margin


def hand_derived(case):
    """Forward and hand-derived backward of a drawn layer case, rejecting draws near a kink:
    ``(out, dx, grads)`` with ``grads`` in the order of ``params``."""
    kind, x, params, config, dout = case
    forward, backward, _ = LAYER_KINDS[kind]
    out, cache = forward(x, **params, **config)
    assume(off_kinks(*preactivations(cache)))
    dx, *grads = backward(dout, cache)  # the gradients in the order of the forward's array arguments
    assert tuple(params) == LAYER_PARAMS[kind]
    return out, dx, grads
