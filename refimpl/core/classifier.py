r"""Classifiers and the one training loop every topic uses.

A *classifier* is a small object that knows its architecture and its loss; the parameters live in a
plain dict, so that the same forward and backward passes serve training, gradient checks and loss
surfaces. The protocol :func:`train_classifier` needs:

- ``d_out``: the number of classes, which the labels are checked against;
- ``loss(params, x, labels) -> (loss, grads)``: the minibatch loss and its gradient, ``grads`` with the
  keys and shapes of ``params``;
- ``project(params)``: restores constraints after an update (a no-op unless the model has some).

:class:`Classifier` gives softmax cross-entropy on top of ``forward``/``backward``, plus prediction and
evaluation in batches; a model with another loss (a hinge loss, say) overrides :meth:`Classifier.loss`.
:class:`ConvNet` is the small MNIST CNN: blocks of convolution, 2 × 2 max-pool and ReLU, then a hidden
affine layer and the logits. :func:`lenet` is its LeNet-style configuration (LeCun et al. 1998: two
5 × 5 convolution and pooling blocks), whose logits serve as features of the Fréchet distance on MNIST.
"""

from dataclasses import dataclass

import numpy as np

from refimpl.core import conv, optim
from refimpl.core import unchecked as nn
from refimpl.core.validate import (as_float_array, as_real_array, check_choice, check_finite_step, check_int,
                                   check_labels, check_positive, check_rng, check_shape)


class Classifier:
    """An architecture: ``init_params(rng)``, ``forward(params, x) -> (logits, cache)``,
    ``backward(dlogits, cache) -> grads``; subclasses set ``d_out``, the number of classes."""

    d_out = None

    def init_params(self, rng):
        raise NotImplementedError

    def forward(self, params, x):
        raise NotImplementedError

    def backward(self, dlogits, cache):
        raise NotImplementedError

    def loss(self, params, x, labels):
        r"""Mean softmax cross-entropy and its gradient with respect to every parameter.

        .. math:: L = -\frac1n \sum_i \log \mathrm{softmax}(f(x_i))_{y_i}

        Returns
        -------
        loss : float
        grads : dict, same keys and shapes as ``params``
        """
        logits, cache = self.forward(params, x)
        loss, dlogits = nn.softmax_cross_entropy(logits, check_labels("labels", labels, len(logits), self.d_out))
        return loss, self.backward(dlogits, cache)

    def project(self, params):
        """Restore the constraints of ``params`` after an update; unconstrained models have none."""

    def logits(self, params, x, batch_size=500):
        """Logits (n, d_out) of every row of ``x``, evaluated in batches to bound memory."""
        x = _samples("x", x)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        return np.concatenate([self.forward(params, x[i:i + batch_size])[0] for i in range(0, len(x), batch_size)])

    def predict(self, params, x, batch_size=500):
        """Predicted classes (n,)."""
        return self.logits(params, x, batch_size).argmax(axis=1)

    def accuracy(self, params, x, labels):
        """Fraction of ``x`` classified as ``labels``."""
        x = _samples("x", x)
        return float(np.mean(self.predict(params, x) == check_labels("labels", labels, len(x), self.d_out)))

    def mean_loss(self, params, x, labels, batch_size=500):
        """The mean cross-entropy over all of ``x`` (no gradients)."""
        logits = self.logits(params, x, batch_size)
        return nn.softmax_cross_entropy(logits, check_labels("labels", labels, len(logits), self.d_out))[0]


def _samples(name, x, ndim=None):
    """A finite array of at least one sample (rows along the first axis); its shape is the network's to check."""
    x = as_float_array(name, x, ndim=ndim)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"{name} must hold at least one sample; got shape {x.shape}")
    return x


def _check_params(params):
    """``params`` as a dict of arrays by name, or a TypeError saying so."""
    if not isinstance(params, dict) or not all(isinstance(p, np.ndarray) for p in params.values()):
        raise TypeError(f"params must be a dict of numpy arrays by name; got {type(params).__name__}")
    return params


def count_params(params):
    """Total number of trainable numbers in a parameter dict."""
    return int(sum(p.size for p in _check_params(params).values()))


def he_normal(rng, shape, fan_in, gain=2.0):
    """Normal weights of variance gain/fan_in (He et al. 2015: gain 2 keeps ReLU activations at unit scale)."""
    rng = check_rng("rng", rng)
    fan_in, gain = check_int("fan_in", fan_in, minimum=1), check_positive("gain", gain)
    return rng.standard_normal(shape) * np.sqrt(gain / fan_in)


@dataclass(frozen=True)
class History:
    """What :func:`train_classifier` measured.

    Attributes
    ----------
    step_losses : (steps,)
        The minibatch loss of every update (before it).
    epoch_losses : (epochs,)
        The mean minibatch loss of each epoch, weighted by batch size; empty when training ran for a
        number of ``steps``.
    """

    step_losses: np.ndarray
    epoch_losses: np.ndarray


def train_classifier(network, params, x, labels, rng, *, epochs=None, steps=None, batch_size=64,
                     optimizer="momentum", lr=0.05, on_step=None, progress=None):
    """Minibatch training of ``network`` from ``params`` (updated in place) on (x, labels).

    Give exactly one of ``epochs`` (each a pass over a fresh permutation of the data, the last batch
    possibly smaller) or ``steps`` (each on ``batch_size`` rows drawn without replacement).

    Parameters
    ----------
    network : object with ``d_out``, ``loss(params, x, labels) -> (loss, grads)`` and ``project(params)``
        (see the module docstring; :class:`Classifier` has all three)
    params : dict of arrays, updated in place
    x : (n, d_in), labels : (n,) int in 0 .. d_out − 1
    rng : numpy.random.Generator, draws the minibatches
    epochs, steps, batch_size : int
    optimizer : "sgd", "momentum" or "adam" (:data:`refimpl.core.optim.OPTIMISERS`), with learning rate ``lr``
    on_step : callable ``on_step(step, total, loss=loss)``, optional. Called at every step with its 0-based
        index, the number of steps and the minibatch loss, after the gradient and before the update (so
        it can stop training before a non-finite loss reaches the parameters). Default:
        :func:`refimpl.core.validate.check_finite_step`, which raises ``FloatingPointError`` naming the step.
    progress : callable wrapping the loop over epochs (or steps), e.g. a progress bar; optional

    Returns
    -------
    History
    """
    _check_network(network)
    _check_params(params)
    x = _samples("x", x, ndim=2)
    labels = check_labels("labels", labels, len(x), network.d_out)
    rng = check_rng("rng", rng)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    for name, function in (("on_step", on_step), ("progress", progress)):
        if function is not None and not callable(function):
            raise TypeError(f"{name} must be callable or None; got {type(function).__name__}")
    opt = optim.OPTIMISERS[check_choice("optimizer", optimizer, tuple(optim.OPTIMISERS))](lr=lr)
    batches = _batches(len(x), rng, epochs, steps, batch_size)
    on_step = on_step or check_finite_step
    step_losses, epoch_losses = [], []
    for epoch_batches in (progress or iter)(batches):
        running = 0.0
        for batch in epoch_batches():
            loss, grads = network.loss(params, x[batch], labels[batch])
            on_step(len(step_losses), batches.total, loss=loss)
            opt.step(params, grads)
            network.project(params)
            step_losses.append(loss)
            running += loss * len(batch)
        if epochs is not None:
            epoch_losses.append(running / len(x))
    return History(np.array(step_losses), np.array(epoch_losses))


def _check_network(network):
    missing = [name for name in ("d_out", "loss", "project") if not hasattr(network, name)]
    if missing:
        raise TypeError(f"network must be a refimpl.core.classifier.Classifier (or have d_out, loss and project); "
                        f"got {type(network).__name__}, which lacks {', '.join(missing)}")


class _Batches:
    """The minibatch indices, grouped by epoch (one group per step in ``steps`` mode)."""

    def __init__(self, groups, total):
        self.groups, self.total = groups, total

    def __len__(self):
        return len(self.groups)

    def __iter__(self):
        return iter(self.groups)


def _batches(n, rng, epochs, steps, batch_size):
    if (epochs is None) == (steps is None):
        raise ValueError(f"give exactly one of epochs or steps; got epochs = {epochs!r}, steps = {steps!r}")
    if steps is not None:
        steps = check_int("steps", steps, minimum=1)
        size = min(batch_size, n)
        return _Batches([lambda: [rng.choice(n, size=size, replace=False)]] * steps, steps)
    epochs = check_int("epochs", epochs, minimum=1)

    def epoch():
        order = rng.permutation(n)
        return (order[start:start + batch_size] for start in range(0, n, batch_size))

    return _Batches([epoch] * epochs, epochs * -(-n // batch_size))


class ConvNet(Classifier):
    r"""A small CNN on square images: convolution blocks, then a hidden ReLU layer and the logits.

    .. math:: h_k = \sigma\big(\mathrm{pool}(K_k * h_{k-1} + b_k)\big), \qquad
              f(x) = M_2\,\sigma(M_1 h_B + c_1) + c_2

    Each block is a convolution (stride 1, zero padding ``pad``), a ``pool`` × ``pool`` max-pool and a
    ReLU. ReLU and max-pooling commute (both are monotone: :math:`\max_i \sigma(z_i) = \sigma(\max_i z_i)`),
    so the block equals the usual conv → ReLU → pool and applies the ReLU to the pooled map, a quarter
    of the size; the gradients agree too (the maximum of a window receives the gradient in both orders,
    and it is 0 when the window's maximum is ≤ 0).

    Parameters: K1 (F_1, C, k_1, k_1), b1 (F_1,), K2, b2, … per block, then M1 (hidden, features),
    c1 (hidden,), M2 (d_out, hidden), c2 (d_out,). ``blocks`` lists (filters, filter_size, pad) per block;
    ``backend`` picks the convolution and pooling kernels ("numpy" or "numba"). The network keeps a
    :class:`refimpl.core.conv.Workspace` per block, so a cache is valid until its next forward pass.
    """

    def __init__(self, image_size=28, channels=1, blocks=((8, 5, 2),), pool=2, hidden=100, d_out=10,
                 backend="numba"):
        self.image_size = check_int("image_size", image_size, minimum=1)
        self.channels = check_int("channels", channels, minimum=1)
        self.pool = check_int("pool", pool, minimum=1)
        self.blocks = tuple(self._check_block(index, block) for index, block in enumerate(blocks))
        if not self.blocks:
            raise ValueError("blocks must list at least one (filters, filter_size, pad) block")
        self.hidden = check_int("hidden", hidden, minimum=1)
        self.d_out = check_int("d_out", d_out, minimum=2)
        self.backend = check_choice("backend", backend, conv.LAYER_BACKENDS)
        size = self.image_size
        for index, (_, filter_size, pad) in enumerate(self.blocks):
            size = size + 2 * pad - filter_size + 1
            if size < 1 or size % self.pool:
                raise ValueError(f"block {index} (filter_size = {filter_size}, pad = {pad}) gives feature maps of "
                                 f"size {size}, which pool = {self.pool} must divide (and > 0)")
            size //= self.pool
        self.features = self.blocks[-1][0] * size * size
        self._workspaces = [conv.Workspace() for _ in self.blocks]

    @staticmethod
    def _check_block(index, block):
        if len(block) != 3:
            raise ValueError(f"blocks[{index}] must be (filters, filter_size, pad); got {block!r}")
        return (check_int(f"blocks[{index}] filters", block[0], minimum=1),
                check_int(f"blocks[{index}] filter_size", block[1], minimum=1),
                check_int(f"blocks[{index}] pad", block[2], minimum=0))

    def _layout(self):
        """Name -> (shape, fan_in, gain) of every parameter, in the order they are drawn; biases (fan_in
        None) start at 0."""
        layout, channels = {}, self.channels
        for k, (filters, size, _) in enumerate(self.blocks, start=1):
            layout[f"K{k}"] = ((filters, channels, size, size), channels * size * size, 2.0)
            layout[f"b{k}"] = ((filters,), None, None)
            channels = filters
        layout.update(M1=((self.hidden, self.features), self.features, 2.0), c1=((self.hidden,), None, None),
                      M2=((self.d_out, self.hidden), self.hidden, 1.0), c2=((self.d_out,), None, None))
        return layout

    def init_params(self, rng):
        """He-normal weights and zero biases, drawn from ``rng`` (a Generator or an int seed)."""
        rng = check_rng("rng", rng)
        return {name: np.zeros(shape) if fan_in is None else he_normal(rng, shape, fan_in, gain)
                for name, (shape, fan_in, gain) in self._layout().items()}

    def check_params(self, params):
        """Raise naming the parameter unless ``params`` has every array of this architecture, of its shape."""
        _check_params(params)
        for name, (shape, _, _) in self._layout().items():
            if name not in params:
                raise ValueError(f"params has no {name!r}; this ConvNet needs {sorted(self._layout())}")
            if params[name].dtype.kind != "f":
                raise TypeError(f"params[{name!r}] must be a floating-point array; got dtype {params[name].dtype}")
            check_shape(f"params[{name!r}]", params[name], shape, context="for this architecture")
        return params

    def forward(self, params, x):
        """Logits (n, d_out) of flattened images x (n, channels · image_size²).

        ``x`` and the shapes of ``params`` are checked here, once; the layers run unchecked.
        """
        self.check_params(params)
        x = check_shape("x", _samples("x", x), (None, self.channels * self.image_size**2),
                        described="(n, channels * image_size**2)", context="to hold the network's images")
        h = x.reshape(len(x), self.channels, self.image_size, self.image_size)
        block_caches = []
        for k, (_, _, pad) in enumerate(self.blocks, start=1):
            h, cache_conv = conv._conv2d_forward(h, params[f"K{k}"], params[f"b{k}"], pad, self.backend,
                                                 self._workspaces[k - 1])
            h, cache_pool = conv._max_pool_layer_forward(h, self.pool, self.backend)
            h, cache_relu = nn.relu_forward(h)
            block_caches.append((cache_conv, cache_pool, cache_relu))
        pre_hidden, cache_1 = nn.affine_forward(h.reshape(len(x), -1), params["M1"], params["c1"])
        hidden, cache_relu = nn.relu_forward(pre_hidden)
        logits, cache_2 = nn.affine_forward(hidden, params["M2"], params["c2"])
        return logits, (block_caches, h.shape, cache_1, cache_relu, cache_2)

    def backward(self, dlogits, cache):
        """Gradients (a dict with the keys of the parameters) given ``dlogits`` (n, d_out) and the cache of
        :meth:`forward`. A NaN or inf in ``dlogits`` passes: it comes from a non-finite loss, which the
        training loop reports with its step number."""
        if not isinstance(cache, tuple) or len(cache) != 5:
            raise TypeError(f"cache must be the tuple returned by ConvNet.forward; got {type(cache).__name__}")
        block_caches, pooled_shape, cache_1, cache_relu, cache_2 = cache
        dlogits = check_shape("dlogits", as_real_array("dlogits", dlogits, ndim=2), (len(cache_2[0]), self.d_out),
                              described="(n, d_out)", context="to match the forward output")
        dhidden, dM2, dc2 = nn.affine_backward(dlogits, cache_2)
        dh, dM1, dc1 = nn.affine_backward(nn.relu_backward(dhidden, cache_relu), cache_1)
        grads = {"M1": dM1, "c1": dc1, "M2": dM2, "c2": dc2}
        dh = dh.reshape(pooled_shape)
        for k in range(len(self.blocks), 0, -1):
            cache_conv, cache_pool, cache_relu_k = block_caches[k - 1]
            dconv = conv._max_pool_layer_backward(nn.relu_backward(dh, cache_relu_k), cache_pool)
            # the images need no gradient: the first block skips it
            dh, grads[f"K{k}"], grads[f"b{k}"] = conv._conv2d_backward(dconv, cache_conv, k > 1)
        return grads


def lenet(backend="numba"):
    """The LeNet-style MNIST classifier: conv 6@5×5 → pool → conv 16@5×5 → pool → 50 hidden → 10 logits.

    The filter counts are LeNet-5's (LeCun et al. 1998, layers C1 and C3), without padding
    (28 → 24 → 12 → 8 → 4, so 16·4·4 = 256 features), and a hidden layer of 50 units.
    """
    return ConvNet(blocks=((6, 5, 0), (16, 5, 0)), hidden=50, backend=backend)
