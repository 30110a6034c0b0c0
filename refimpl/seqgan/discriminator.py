r"""SeqGAN's CNN discriminator (Yu et al. 2017, §4 and the public code's ``discriminator.py``), by hand, with the
plain or the plastic softmax at its output.

For sequences y (n, T):

.. math::
    x = \mathrm{emb}[y] \ (n, T, E), \qquad
    p_k = \max_t \mathrm{ReLU}(\mathrm{conv}_k(x))_t \ (n, F_k), \qquad u = [p_1, …, p_K] \ (n, F),

with filters :math:`W_k` (F_k, w_k, E) spanning the whole embedding (valid padding, :mod:`refimpl.core.conv`);
one highway layer (Srivastava et al. 2015) with a constant gate offset :math:`\beta` (SeqGAN's code: 0)

.. math::
    \tau = \sigma(u W_\tau^\top + b_\tau + \beta), \quad g = \mathrm{ReLU}(u W_g^\top + b_g), \quad
    v = \tau \odot g + (1 - \tau) \odot u;

dropout on v while training (keep 0.75; none when scoring); and a 2-way softmax, plain
:math:`a = v w + c` or plastic (:mod:`refimpl.seqgan.plastic`; the output weights are (F, 2), columns per class
as in Miconi's code). Class 1 is "real": the reward of a sequence is its :math:`P(\text{real})`. The loss is
SeqGAN's mean cross-entropy plus :math:`\lambda (\|w\|^2 + \|c\|^2)/2`, an L2 penalty (``tf.nn.l2_loss``,
λ = 0.2) on the output layer only.
"""

from dataclasses import dataclass

import numpy as np

from refimpl.core.conv import (max_over_time_backward, max_over_time_forward, temporal_conv_backward,
                               temporal_conv_forward)
from refimpl.core.unchecked import (affine_backward, affine_forward, relu_backward, relu_forward, sigmoid,
                                    softmax)  # the public functions validate params and tokens first
from refimpl.core.validate import (as_float_array, check_choice, check_finite_step, check_int, check_labels,
                                   check_positive, check_real, check_rng, check_shape)
from refimpl.seqgan.model import check_backend, check_optimiser, check_tokens, embedding_gradient
from refimpl.seqgan.plastic import RULES, plastic_softmax_backward, plastic_softmax_forward

REAL, FAKE = 1, 0

__all__ = ["REAL", "FAKE", "DiscriminatorConfig", "check_config", "parameter_shapes", "check_discriminator",
           "init_discriminator", "forward", "backward",
           "loss_and_gradients", "real_probability", "accuracy", "mixed_order", "Discriminator"]


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Architecture and regularisation; the defaults are SeqGAN's (``sequence_gan.py``), with the plain softmax.

    ``output`` is "softmax" or "plastic"; ``rule``, ``clip``, ``alpha_init`` and ``eta_init`` set the plastic
    layer (Miconi's Omniglot code starts α from 0.01·U(0, 1) and η from 0.01). ``carry_trace`` keeps the
    trace from one training batch to the next (detached) instead of resetting it every batch.
    """

    embedding_dim: int = 64
    filter_sizes: tuple = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
    filter_counts: tuple = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)
    highway_gate_bias: float = 0.0
    keep_prob: float = 0.75
    l2: float = 0.2
    output: str = "softmax"
    rule: str = "hebb"
    clip: float = 2.0
    alpha_init: float = 0.01
    eta_init: float = 0.01
    carry_trace: bool = False

    def __post_init__(self):
        check_config(self)


def check_config(config, length=None):
    """Validate a :class:`DiscriminatorConfig` (and that every filter fits in sequences of ``length``)."""
    if not isinstance(config, DiscriminatorConfig):
        raise TypeError(f"config must be a DiscriminatorConfig; got {type(config).__name__}")
    check_int("embedding_dim", config.embedding_dim, minimum=1)
    if not isinstance(config.filter_sizes, tuple) or not isinstance(config.filter_counts, tuple):
        raise TypeError(f"filter_sizes and filter_counts must be tuples of ints; got {config.filter_sizes!r} "
                        f"and {config.filter_counts!r}")
    if len(config.filter_sizes) != len(config.filter_counts) or not config.filter_sizes:
        raise ValueError(f"filter_sizes and filter_counts must be non-empty and of equal length; got "
                         f"{config.filter_sizes} and {config.filter_counts}")
    for size, count in zip(config.filter_sizes, config.filter_counts):
        check_int("filter size", size, minimum=1)
        check_int("filter count", count, minimum=1)
    if length is not None and max(config.filter_sizes) > length:
        raise ValueError(f"filter_sizes must be at most the sequence length T = {length}; got {config.filter_sizes}")
    if not 0.0 < check_real("keep_prob", config.keep_prob) <= 1.0:
        raise ValueError(f"keep_prob must be in (0, 1]; got {config.keep_prob!r}")
    check_real("highway_gate_bias", config.highway_gate_bias)
    check_positive("l2", config.l2, allow_zero=True)
    check_positive("alpha_init", config.alpha_init, allow_zero=True)
    check_choice("output", config.output, ("softmax", "plastic"))
    check_choice("rule", config.rule, RULES)
    check_positive("clip", config.clip)
    if not 0.0 <= check_real("eta_init", config.eta_init) <= 1.0:
        raise ValueError(f"eta_init must be in [0, 1]; got {config.eta_init!r}")
    return config


def parameter_shapes(vocab_size, config):
    """Shapes of the discriminator's arrays for a vocabulary of ``vocab_size`` and ``config``, by name."""
    config = check_config(config)
    E, F = config.embedding_dim, sum(config.filter_counts)
    shapes = {"emb": (check_int("vocab_size", vocab_size, minimum=2), E)}
    for k, (size, count) in enumerate(zip(config.filter_sizes, config.filter_counts)):
        shapes[f"conv{k}_W"], shapes[f"conv{k}_b"] = (count, size, E), (count,)
    for name in ("gate", "highway"):
        shapes[f"{name}_W"], shapes[f"{name}_b"] = (F, F), (F,)
    shapes["out_w"], shapes["out_b"] = (F, 2), (2,)
    if config.output == "plastic":
        shapes["alpha"], shapes["eta"] = (F, 2), ()
    return shapes


def check_discriminator(params, config):
    """Validate a discriminator's parameter dict against ``config``; return the vocabulary size V.

    Raises ``TypeError``/``ValueError`` naming the array when a key is missing, an array is not finite floating
    point, or a shape does not match the configuration.
    """
    config = check_config(config)
    if not isinstance(params, dict) or "emb" not in params:
        raise TypeError(f"params must be a dict of the discriminator's arrays (emb, conv0_W, ...); "
                        f"got {type(params).__name__}")
    V = as_float_array("params['emb']", params["emb"], ndim=2).shape[0]
    shapes = parameter_shapes(V, config)
    missing = [key for key in shapes if key not in params]
    if missing:
        raise ValueError(f"params lacks the array(s) {missing} that config (output = {config.output!r}) needs")
    for key, shape in shapes.items():
        check_shape(f"params[{key!r}]", as_float_array(f"params[{key!r}]", params[key]), shape,
                    context="to match config")
    return V


def init_discriminator(rng, vocab_size, config):
    """Parameters as SeqGAN initialises them: embedding U(−1, 1); conv and output weights truncated
    N(0, 0.1²) with biases 0.1; highway weights Glorot-uniform (TF's default) with zero biases.

    Returns a dict: ``emb`` (V, E); ``conv{k}_W`` (F_k, w_k, E), ``conv{k}_b``; ``gate_W``, ``gate_b``,
    ``highway_W``, ``highway_b`` ((F, F), (F,)); ``out_w`` (F, 2), ``out_b`` (2,); with the plastic output
    also ``alpha`` (F, 2) and ``eta`` (a 0-d array).
    """
    rng = check_rng("rng", rng)
    V = check_int("vocab_size", vocab_size, minimum=2)
    config = check_config(config)
    E, F = config.embedding_dim, sum(config.filter_counts)
    params = {"emb": rng.uniform(-1.0, 1.0, (V, E))}
    for k, (size, count) in enumerate(zip(config.filter_sizes, config.filter_counts)):
        params[f"conv{k}_W"] = _truncated_normal(rng, (count, size, E), 0.1)
        params[f"conv{k}_b"] = np.full(count, 0.1)
    limit = np.sqrt(6.0 / (F + F))
    for name in ("gate", "highway"):
        params[f"{name}_W"] = rng.uniform(-limit, limit, (F, F))
        params[f"{name}_b"] = np.zeros(F)
    params["out_w"], params["out_b"] = _truncated_normal(rng, (F, 2), 0.1), np.full(2, 0.1)
    if config.output == "plastic":
        params["alpha"] = config.alpha_init * rng.random((F, 2))
        params["eta"] = np.array(config.eta_init)
    return params


def _truncated_normal(rng, shape, std):
    """N(0, std²) redrawn outside two standard deviations (TF's ``truncated_normal``)."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return std * values


def forward(params, config, tokens, *, rng=None, trace=None, backend="numba"):
    """Logits and P(class) of sequences ``tokens`` (n, T); dropout from ``rng`` when given (training), none
    without (scoring). ``trace`` (F, 2) starts the plastic layer's episode (zeros by default).

    Returns
    -------
    logits : (n, 2)
    probabilities : (n, 2), column 1 = P(real)
    cache : what :func:`backward` needs
    """
    check_discriminator(params, config)
    tokens = _check_tokens(params, config, tokens)
    return _forward(params, config, tokens, None if rng is None else check_rng("rng", rng), trace, backend)


def _forward(params, config, tokens, rng, trace, backend):
    x = params["emb"][tokens]  # (n, T, E)
    pooled, conv_caches = [], []
    for k in range(len(config.filter_sizes)):
        response, conv_cache = temporal_conv_forward(x, params[f"conv{k}_W"], params[f"conv{k}_b"], backend=backend)
        activated, relu_cache = relu_forward(response)
        maxima, pool_cache = max_over_time_forward(activated, backend=backend)
        pooled.append(maxima)
        conv_caches.append((conv_cache, relu_cache, pool_cache))
    u = np.concatenate(pooled, axis=1)
    gate_pre, gate_cache = affine_forward(u, params["gate_W"], params["gate_b"])
    gate = sigmoid(gate_pre + config.highway_gate_bias)
    lin, lin_cache = affine_forward(u, params["highway_W"], params["highway_b"])
    g, g_cache = relu_forward(lin)
    v = gate * g + (1.0 - gate) * u
    mask = None
    if rng is not None and config.keep_prob < 1.0:
        mask = (rng.random(v.shape) < config.keep_prob) / config.keep_prob
        v = v * mask
    if config.output == "plastic":
        logits, probabilities, out_cache = plastic_softmax_forward(
            v, params["out_w"], params["out_b"], params["alpha"], float(params["eta"]), rule=config.rule,
            clip=config.clip, trace=trace, backend=backend)
    else:
        logits = v @ params["out_w"] + params["out_b"]
        probabilities, out_cache = _softmax(logits), None
    cache = {"tokens": tokens, "conv": conv_caches, "u": u, "gate": gate, "gate_cache": gate_cache, "g": g,
             "g_cache": g_cache, "lin_cache": lin_cache, "mask": mask, "v": v, "out": out_cache}
    return logits, probabilities, cache


def _softmax(logits):
    # row by row as the plastic layer evaluates it, so that plasticity off is the plain layer bit for bit
    return np.stack([softmax(row) for row in logits]) if len(logits) else logits.copy()


def loss_and_gradients(params, config, tokens, labels, *, rng=None, trace=None, backend="numba"):
    r"""SeqGAN's discriminator loss :math:`\frac1n\sum_n -\log P(\ell_n \mid y_n) + \frac{\lambda}{2}(\|w\|^2 + \|c\|^2)`
    and its gradient for every parameter.

    Parameters
    ----------
    tokens : (n, T) int, the sequences
    labels : (n,) int, 1 = real, 0 = generated
    rng : numpy.random.Generator or None, dropout (training) or none
    trace : (F, 2), optional, the plastic layer's starting trace

    Returns
    -------
    loss : float
    grads : dict, one array per parameter
    cache : the forward cache (``cache["out"]["traces"]`` holds the plastic traces)
    """
    tokens = _check_tokens(params, config, tokens)
    labels = check_labels("labels", labels, len(tokens), 2)
    logits, probabilities, cache = _forward(params, config, tokens, None if rng is None else check_rng("rng", rng), trace,
                                            backend)
    n = len(labels)
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    penalty = 0.5 * config.l2 * (np.sum(params["out_w"] ** 2) + np.sum(params["out_b"] ** 2))
    loss = float(-log_p[np.arange(n), labels].mean() + penalty)
    dlogits = (probabilities - np.eye(2)[labels]) / n
    return loss, backward(params, config, dlogits, cache), cache


def backward(params, config, dlogits, cache):
    """Gradients of every parameter from ∂L/∂logits (n, 2) of the cross-entropy; adds the L2 term."""
    dlogits = check_shape("dlogits", as_float_array("dlogits", dlogits, ndim=2), (len(cache["tokens"]), 2),
                          described="(n, 2)", context="to match the forward pass")
    grads = {}
    if config.output == "plastic":
        dv, grads["out_w"], grads["out_b"], grads["alpha"], deta = plastic_softmax_backward(dlogits, cache["out"])
        grads["eta"] = np.array(deta)
    else:
        dv, grads["out_w"], grads["out_b"] = dlogits @ params["out_w"].T, cache["v"].T @ dlogits, dlogits.sum(axis=0)
    grads["out_w"] = grads["out_w"] + config.l2 * params["out_w"]
    grads["out_b"] = grads["out_b"] + config.l2 * params["out_b"]
    if cache["mask"] is not None:
        dv = dv * cache["mask"]
    u, gate, g = cache["u"], cache["gate"], cache["g"]
    dgate_pre = dv * (g - u) * gate * (1.0 - gate)
    dlin = relu_backward(dv * gate, cache["g_cache"])
    du_gate, grads["gate_W"], grads["gate_b"] = affine_backward(dgate_pre, cache["gate_cache"])
    du_lin, grads["highway_W"], grads["highway_b"] = affine_backward(dlin, cache["lin_cache"])
    du = dv * (1.0 - gate) + du_gate + du_lin
    dx = np.zeros(cache["tokens"].shape + (params["emb"].shape[1],))
    start = 0
    for k, (conv_cache, relu_cache, pool_cache) in enumerate(cache["conv"]):
        count = config.filter_counts[k]
        dresponse = relu_backward(max_over_time_backward(du[:, start:start + count], pool_cache), relu_cache)
        dx_k, grads[f"conv{k}_W"], grads[f"conv{k}_b"] = temporal_conv_backward(dresponse, conv_cache)
        dx += dx_k
        start += count
    grads["emb"] = embedding_gradient(cache["tokens"].reshape(-1), dx.reshape(-1, dx.shape[-1]),
                                      params["emb"].shape[0])
    return grads


def _check_tokens(params, config, tokens, name="tokens"):
    tokens = check_tokens(name, tokens, params["emb"].shape[0])
    check_config(config, tokens.shape[1])
    return tokens


def real_probability(params, config, tokens, *, batch_size=64, trace=None, backend="numba"):
    """P(real) (n,) of sequences ``tokens`` (n, T), scored without dropout in batches of ``batch_size``.

    With the plastic output every batch is one episode (its samples in order, from ``trace`` or zeros).
    """
    check_discriminator(params, config)
    tokens = _check_tokens(params, config, tokens)
    return _real_probability(params, config, tokens, check_int("batch_size", batch_size, minimum=1), trace, backend)


def _real_probability(params, config, tokens, batch_size, trace, backend):
    scores = [_forward(params, config, tokens[s:s + batch_size], None, trace, backend)[1][:, REAL]
              for s in range(0, len(tokens), batch_size)]
    return np.concatenate(scores)


def accuracy(params, config, real, fake, **options):
    """Fraction of ``real`` scored P(real) > 1/2 and of ``fake`` scored ≤ 1/2, together.

    The sequences are scored in the order :func:`mixed_order` gives, real and fake spread evenly through every
    batch as in the shuffled training batches: a plastic layer's trace builds up over its episode, and
    episodes of one class only (all real, then all fake) would score it on batches it never saw in training
    (on the tiny tier its held-out accuracy was 0.584 that way, 0.629 in mixed batches). A plain
    discriminator scores each sequence alone, so the order does not change its accuracy.
    """
    check_discriminator(params, config)
    real = _check_tokens(params, config, real, "real")
    fake = _check_tokens(params, config, fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake must hold sequences of one length (they share scoring batches); got real "
                         f"{real.shape} and fake {fake.shape}")
    order = mixed_order(len(real), len(fake))
    probability = np.empty(len(order))
    probability[order] = real_probability(params, config, np.concatenate([real, fake])[order], **options)
    correct = np.concatenate([probability[:len(real)] > 0.5, probability[len(real):] <= 0.5])
    return float(np.mean(correct))


def mixed_order(n_real, n_fake):
    """An order (n_real + n_fake,) of the indices of ``[real, fake]`` that spreads each class evenly: index i of
    n sits at position (i + ½)/n of its class, and the two classes are merged by position (ties: real first)."""
    n_real, n_fake = check_int("n_real", n_real, minimum=0), check_int("n_fake", n_fake, minimum=0)
    positions = np.concatenate([(np.arange(n_real) + 0.5) / max(n_real, 1),
                                (np.arange(n_fake) + 0.5) / max(n_fake, 1)])
    return np.argsort(positions, kind="stable")


class Discriminator:
    """A trained discriminator's state: parameters, settings, its Adam optimiser and the carried trace.

    ``train_epochs`` is one SeqGAN D round's training: positives and negatives shuffled together, then
    minibatches for ``epochs`` passes; each minibatch an episode of the plastic layer.
    """

    def __init__(self, params, config, optimiser, *, backend="numba"):
        self.config = check_config(config)
        check_discriminator(params, self.config)
        self.params, self.optimiser, self.backend = params, check_optimiser(optimiser), check_backend(backend)
        self.trace = None

    def train_epochs(self, rng, positives, negatives, *, epochs=3, batch_size=64):
        """Train on ``positives`` (label 1) and ``negatives`` (label 0); returns the mean loss of the last epoch."""
        rng = check_rng("rng", rng)
        positives = _check_tokens(self.params, self.config, positives, "positives")
        negatives = check_tokens("negatives", negatives, self.params["emb"].shape[0], length=positives.shape[1])
        batch_size = check_int("batch_size", batch_size, minimum=1)
        tokens = np.concatenate([positives, negatives])
        labels = np.concatenate([np.full(len(positives), REAL), np.full(len(negatives), FAKE)])
        losses = []
        epochs = check_int("epochs", epochs, minimum=1)
        starts = range(0, len(tokens), batch_size)
        for epoch in range(epochs):
            order = rng.permutation(len(tokens))
            losses = [self._step(rng, tokens[order[s:s + batch_size]], labels[order[s:s + batch_size]],
                                 epoch * len(starts) + k + 1, epochs * len(starts))
                      for k, s in enumerate(starts)]
        return float(np.mean(losses))

    def step(self, rng, tokens, labels):
        """One Adam step on a minibatch (with dropout); η is kept in [0, 1]. Returns the loss."""
        return self._step(rng, tokens, labels)

    def _step(self, rng, tokens, labels, step=1, total=1):
        # FloatingPointError naming the step, before the update, when the loss is not finite
        start = self.trace if self.config.carry_trace else None
        loss, grads, cache = loss_and_gradients(self.params, self.config, tokens, labels, rng=rng, trace=start,
                                                backend=self.backend)
        check_finite_step(step, total, discriminator_loss=loss)
        self.optimiser.step(self.params, grads)
        if self.config.output == "plastic":
            np.clip(self.params["eta"], 0.0, 1.0, out=self.params["eta"])
            self.trace = cache["out"]["traces"][-1]
        return loss

    def real_probability(self, tokens, batch_size=64):
        """P(real) of ``tokens``, scored from the carried trace (zeros unless ``carry_trace``)."""
        # the rollouts' score, called T - 1 times per step: the parameters were checked when the discriminator
        # was built and change only through its own steps, so only the sequences are checked here
        trace = self.trace if self.config.carry_trace else None
        tokens = _check_tokens(self.params, self.config, tokens)
        return _real_probability(self.params, self.config, tokens, check_int("batch_size", batch_size, minimum=1),
                                 trace, self.backend)
