"""The layers and losses of :mod:`refimpl.core` without input validation, for hot loops.

Each name here is the same mathematics as the function of that name in :mod:`refimpl.core.layers`
or :mod:`refimpl.core.losses` (whose docstrings hold the equations and shapes), minus the checks of
shapes, dtypes and finiteness. A model validates its parameters and data once, at its public entry
point, and then calls these inside its loops::

    from refimpl.core import unchecked as nn

    hidden, cache = nn.affine_forward(x, w, b)      # no validation: x, w, b were checked by the caller

Passing arrays of the wrong shape here gives NumPy's errors or silently broadcast results: use the
validated functions everywhere else.
"""

from refimpl.core.layers import (_affine_backward as affine_backward, _affine_forward as affine_forward,
                                 _leaky_relu_backward as leaky_relu_backward, _leaky_relu_forward as leaky_relu_forward,
                                 _relu_backward as relu_backward, _relu_forward as relu_forward,
                                 _sigmoid as sigmoid, _sigmoid_backward as sigmoid_backward,
                                 _sigmoid_forward as sigmoid_forward, _softmax as softmax,
                                 _softmax_backward as softmax_backward, _softmax_forward as softmax_forward,
                                 _tanh_backward as tanh_backward, _tanh_forward as tanh_forward)
from refimpl.core.losses import (_binary_cross_entropy_with_logits as binary_cross_entropy_with_logits,
                                 _softmax_cross_entropy as softmax_cross_entropy, _squared_error as squared_error)

__all__ = ["affine_forward", "affine_backward", "relu_forward", "relu_backward", "leaky_relu_forward",
           "leaky_relu_backward", "tanh_forward", "tanh_backward", "sigmoid", "sigmoid_forward", "sigmoid_backward",
           "softmax", "softmax_forward", "softmax_backward", "squared_error", "softmax_cross_entropy",
           "binary_cross_entropy_with_logits"]
