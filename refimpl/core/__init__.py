r"""Shared building blocks with no topic knowledge: layers, convolution and pooling, losses, optimisers,
classifiers and their training loop, the kernel registry, finite-difference gradient checks, fits and
input validation.

Topics import from here (and from :mod:`refimpl.data`), never from one another.

The layer convention (every topic keeps it)
-------------------------------------------
A layer is a pair of pure functions::

    out, cache = name_forward(x, w, b, ..., backend=...)   # arrays first, then settings
    dx, dw, db = name_backward(dout, cache)                # dout = ∂L/∂out, same shape as out

- the forward pass returns ``(out, cache)``: the output and whatever the backward pass needs;
- the backward pass takes ``(dout, cache)`` and returns ∂L/∂(each array argument of the forward pass),
  **in the order of those arguments**: a tuple, or a single array when the forward pass has one array
  argument (``relu_backward``, ``max_pool_backward``); settings (``pad``, ``size``, ``backend``) get none;
- a gradient that is not wanted may be skipped by a keyword and returned as ``None`` in its place
  (``conv2d_backward(dout, cache, input_gradient=False)`` for a first layer, whose input is data);
- the gradient of a parameter ``w`` is named ``dw`` wherever it is bound to a name.

A *network* (an object holding an architecture; its parameters in a dict) composes layers and follows
the same shape one level up: ``logits, cache = network.forward(params, x)`` and
``grads = network.backward(dlogits, cache)`` with ``grads`` a dict with the keys of ``params``
(:class:`refimpl.core.classifier.Classifier`); a network that also returns the input gradient returns
``(dx, grads)`` (a network whose input gradient is needed, by an attack or a power iteration).

Modules: :mod:`~refimpl.core.layers` (affine, activations, softmax), :mod:`~refimpl.core.conv` (2-D
convolution, convolution over time, max-pool, max over time), :mod:`~refimpl.core.losses`,
:mod:`~refimpl.core.optim`, :mod:`~refimpl.core.classifier` (``Classifier``, ``ConvNet``, ``lenet``,
``train_classifier``), :mod:`~refimpl.core.backend`, :mod:`~refimpl.core.gradcheck`,
:mod:`~refimpl.core.fitting`, :mod:`~refimpl.core.validate`, and :mod:`~refimpl.core.unchecked` (the layers and
losses without their checks, for models' inner loops).
"""

from refimpl.core import backend, classifier, conv, fitting, gradcheck, layers, losses, optim, unchecked, validate
from refimpl.core.kernels import two_layer_squared_error_gradient

__all__ = ["backend", "classifier", "conv", "fitting", "gradcheck", "layers", "losses", "optim", "unchecked",
           "validate", "two_layer_squared_error_gradient"]
