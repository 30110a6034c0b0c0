"""Cross-check cases of seqgan: the LSTM's BPTT for the mean NLL and for the policy-gradient loss (both gate
twins), the discriminator (conv over time, max over time, highway, plain or plastic softmax, L2) and the plastic
softmax's episode for the Hebb, Oja and clipped rules (both twins), against torch and JAX float64 autograd.
The torch forward passes live in :mod:`refimpl.crosscheck.seqgan_reference`, the JAX ones here."""

import numpy as np

from refimpl.crosscheck.lazy import jnn, jnp
from refimpl.crosscheck.registry import Case, dims, labels, register, scalar, uniform
from refimpl.seqgan import discriminator as D
from refimpl.seqgan import model, plastic

TOPIC = "seqgan"
BACKENDS = ("numpy", "numba")
MARGIN = 1e-3  # ReLU inputs, max-over-time leads and clipped traces at least this far from their kinks


# ---------------------------------------------------------------------------------------------------------------
# The LSTM: teacher-forced weighted NLL, gradients of every parameter
# ---------------------------------------------------------------------------------------------------------------

def _lstm_inputs(with_rewards):
    def draw(rng):
        V, E, H = dims(rng, 1, 2, 7) + dims(rng, 2, 1, 4)
        n, T = dims(rng, 2, 1, 4)
        params = {name: 0.7 * rng.standard_normal(shape) for name, shape in model.lstm_shapes(V, E, H).items()}
        tokens = rng.integers(0, V, (n, T)).astype(np.int64)
        return {**params, "tokens": tokens, **({"rewards": rng.uniform(0.0, 1.0, (n, T))} if with_rewards else {})}

    return draw


def _lstm_compute(with_rewards, backend):
    def compute(inputs):
        params = {name: inputs[name] for name in model.PARAM_NAMES}
        if with_rewards:
            loss, grads = model.policy_gradient_loss_and_gradients(params, inputs["tokens"], inputs["rewards"],
                                                                   backend=backend)
        else:
            loss, grads = model.mean_nll_and_gradients(params, inputs["tokens"], backend=backend)
        return {"value": loss, **{f"grad_{name}": grads[name] for name in model.PARAM_NAMES}}

    return compute


def _torch_mean_nll(emb, W, U, b, Wo, bo, tokens):
    from refimpl.crosscheck.seqgan_reference import lstm_token_log_probabilities

    return -lstm_token_log_probabilities(emb, W, U, b, Wo, bo, tokens).mean()


def _torch_policy_gradient(emb, W, U, b, Wo, bo, tokens, rewards):
    from refimpl.crosscheck.seqgan_reference import lstm_token_log_probabilities

    return -(lstm_token_log_probabilities(emb, W, U, b, Wo, bo, tokens) * rewards).sum()


def _jax_log_probabilities(emb, W, U, b, Wo, bo, tokens):
    """log p(y_t | y_<t) (n, T) of the LSTM in JAX ops (start token 0, zero state)."""
    n, T = tokens.shape
    H = U.shape[0]
    h = c = jnp.zeros((n, H))
    previous = jnp.zeros(n, dtype=tokens.dtype)
    columns = []
    for t in range(T):
        z = emb[previous] @ W + h @ U + b
        i, f, o = jnn.sigmoid(z[:, :H]), jnn.sigmoid(z[:, H:2 * H]), jnn.sigmoid(z[:, 2 * H:3 * H])
        c = f * c + i * jnp.tanh(z[:, 3 * H:])
        h = o * jnp.tanh(c)
        columns.append(jnp.take_along_axis(jnn.log_softmax(h @ Wo + bo, axis=1), tokens[:, t:t + 1], axis=1)[:, 0])
        previous = tokens[:, t]
    return jnp.stack(columns, axis=1)


def _jax_mean_nll(emb, W, U, b, Wo, bo, tokens):
    return -_jax_log_probabilities(emb, W, U, b, Wo, bo, tokens).mean()


def _jax_policy_gradient(emb, W, U, b, Wo, bo, tokens, rewards):
    return -(_jax_log_probabilities(emb, W, U, b, Wo, bo, tokens) * rewards).sum()


for _backend in BACKENDS:
    register(Case(f"seqgan.lstm_mean_nll[{_backend}]", TOPIC,
                  r"L = -\frac{1}{nT}\sum_{n,t} \log p_\theta(y_{nt} \mid y_{n,<t})", _lstm_inputs(False),
                  _lstm_compute(False, _backend), model.PARAM_NAMES, {"torch": _torch_mean_nll, "jax": _jax_mean_nll}))
    register(Case(f"seqgan.lstm_policy_gradient[{_backend}]", TOPIC,
                  r"L = -\sum_{n,t} \log p_\theta(y_{nt} \mid y_{n,<t})\, r_{nt}", _lstm_inputs(True),
                  _lstm_compute(True, _backend), model.PARAM_NAMES,
                  {"torch": _torch_policy_gradient, "jax": _jax_policy_gradient}))


# ---------------------------------------------------------------------------------------------------------------
# The discriminator, scored without dropout (dropout's mask is a constant factor; the unit tests cover it)
# ---------------------------------------------------------------------------------------------------------------

CONFIGS = {output: D.DiscriminatorConfig(embedding_dim=3, filter_sizes=(1, 2), filter_counts=(3, 2), output=output)
           for output in ("softmax", "plastic")}
VOCABULARY, LENGTH = 6, 4


def _off_kinks(params, config, tokens):
    """Every ReLU input at least MARGIN from 0, every positive maximum over time MARGIN ahead of the next."""
    _, _, cache = D.forward(params, config, tokens, backend="numpy")
    responses = [relu_cache for _, relu_cache, _ in cache["conv"]]
    if any(np.any(np.abs(r) < MARGIN) for r in responses) or np.any(np.abs(cache["g_cache"]) < MARGIN):
        return False
    tops = [np.sort(np.maximum(r, 0.0), axis=-1)[..., -2:] for r in responses if r.shape[-1] > 1]
    return not any(np.any((top[..., 1] > 0) & (top[..., 1] - top[..., 0] < MARGIN)) for top in tops)


def _discriminator_inputs(output):
    config = CONFIGS[output]

    def draw(rng, tries=1000):
        for _ in range(tries):
            (n,) = dims(rng, 1, 2, 5)
            params = {name: uniform(rng, value.shape, 1.0)
                      for name, value in D.init_discriminator(rng, VOCABULARY, config).items()}
            if output == "plastic":
                params["eta"] = scalar(rng, 0.05, 0.95)
            tokens = rng.integers(0, VOCABULARY, (n, LENGTH)).astype(np.int64)
            if _off_kinks(params, config, tokens):
                return {**params, "tokens": tokens, "labels": labels(rng, n, 2)}
        raise RuntimeError(f"no discriminator draw in {tries} tries kept its ReLUs and maxima off their kinks")

    return draw


def _discriminator_compute(output):
    config = CONFIGS[output]
    names = tuple(D.parameter_shapes(VOCABULARY, config))

    def compute(inputs):
        params = {name: inputs[name] for name in names}
        loss, grads, _ = D.loss_and_gradients(params, config, inputs["tokens"], inputs["labels"], backend="numpy")
        return {"value": loss, **{f"grad_{name}": grads[name] for name in names}}

    return compute, names


def _torch_discriminator(output):
    config = CONFIGS[output]

    def reference(tokens, labels, **params):
        from refimpl.crosscheck.seqgan_reference import discriminator_loss

        options = None if output == "softmax" else {"rule": config.rule, "clip": config.clip}
        return discriminator_loss(params, tokens, labels, n_filters=len(config.filter_sizes),
                                  highway_gate_bias=config.highway_gate_bias, l2=config.l2, plastic=options)

    return reference


def _jax_discriminator(output):
    config = CONFIGS[output]

    def reference(tokens, labels, **p):
        x = p["emb"][tokens]  # (n, T, E)
        pooled = []
        for k, width in enumerate(config.filter_sizes):
            steps = x.shape[1] - width + 1
            windows = jnp.stack([x[:, i:i + steps] for i in range(width)], axis=2)  # (n, L, w, E)
            response = jnp.einsum("nlwe,fwe->nfl", windows, p[f"conv{k}_W"]) + p[f"conv{k}_b"][:, None]
            pooled.append(jnn.relu(response).max(axis=2))
        u = jnp.concatenate(pooled, axis=1)
        gate = jnn.sigmoid(u @ p["gate_W"].T + p["gate_b"] + config.highway_gate_bias)
        v = gate * jnn.relu(u @ p["highway_W"].T + p["highway_b"]) + (1 - gate) * u
        logits = (v @ p["out_w"] + p["out_b"] if output == "softmax" else
                  _jax_plastic_logits(v, p["out_w"], p["out_b"], p["alpha"], p["eta"], config.rule, config.clip))
        log_p = jnn.log_softmax(logits, axis=1)
        penalty = 0.5 * config.l2 * ((p["out_w"] ** 2).sum() + (p["out_b"] ** 2).sum())
        return -jnp.take_along_axis(log_p, labels[:, None], axis=1).mean() + penalty

    return reference


def _jax_plastic_logits(x, w, b, alpha, eta, rule, clip):
    """The plastic softmax's logits (N, K) over the episode ``x`` (N, d) in JAX ops."""
    trace, rows = jnp.zeros_like(w), []
    for t in range(len(x)):
        a = x[t] @ (w + alpha * trace) + b
        y = jnn.softmax(a)
        if rule == "hebb":
            trace = (1 - eta) * trace + eta * jnp.outer(x[t], y)
        elif rule == "oja":
            trace = trace + eta * y * (x[t][:, None] - y * trace)
        else:
            trace = jnp.clip(trace + eta * jnp.outer(x[t], y), -clip, clip)
        rows.append(a)
    return jnp.stack(rows)


for _output in CONFIGS:
    _compute, _names = _discriminator_compute(_output)
    register(Case(f"seqgan.discriminator[{_output}]", TOPIC,
                  r"L = \mathrm{CE}(\mathrm{softmax}(\mathrm{highway}(\max_t \mathrm{ReLU}("
                  r"\mathrm{conv}(\mathrm{emb}[y])))), \ell) + \frac{\lambda}{2}(\|w\|^2 + \|c\|^2)", _discriminator_inputs(_output), _compute, _names,
                  {"torch": _torch_discriminator(_output), "jax": _jax_discriminator(_output)}))


# ---------------------------------------------------------------------------------------------------------------
# The plastic softmax over an episode of ≥ 3 steps
# ---------------------------------------------------------------------------------------------------------------

CLIP = 0.5


def _plastic_inputs(rule):
    def draw(rng, tries=1000):
        for _ in range(tries):
            (N,) = dims(rng, 1, 3, 6)
            d, K = dims(rng, 1, 1, 4) + dims(rng, 1, 2, 3)
            inputs = {"x": uniform(rng, (N, d), 2.0), "w": uniform(rng, (d, K), 1.5), "b": uniform(rng, (K,), 1.0),
                      "alpha": uniform(rng, (d, K), 1.5), "eta": scalar(rng, 0.05, 0.95), "labels": labels(rng, N, K)}
            if rule != "clip" or _away_from_the_clip(inputs):
                return inputs
        raise RuntimeError(f"no episode in {tries} tries kept its trace {MARGIN} away from ±{CLIP}")

    return draw


def _away_from_the_clip(p):
    _, y, cache = plastic.plastic_softmax_forward(p["x"], p["w"], p["b"], p["alpha"], float(p["eta"]), rule="clip",
                                                  clip=CLIP, backend="numpy")
    unclipped = cache["traces"][:-1] + p["eta"] * p["x"][:, :, None] * y[:, None, :]
    return bool(np.all(np.abs(np.abs(unclipped) - CLIP) > MARGIN))


def _plastic_compute(rule, backend):
    def compute(p):
        N, K = len(p["x"]), p["w"].shape[1]
        logits, y, cache = plastic.plastic_softmax_forward(p["x"], p["w"], p["b"], p["alpha"], float(p["eta"]),
                                                           rule=rule, clip=CLIP, backend=backend)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_p[np.arange(N), p["labels"]].mean()
        grads = plastic.plastic_softmax_backward((y - np.eye(K)[p["labels"]]) / N, cache)
        return {"value": loss, **{f"grad_{name}": g for name, g in zip(("x", "w", "b", "alpha", "eta"), grads)}}

    return compute


def _torch_plastic(rule):
    def reference(x, w, b, alpha, eta, labels):
        import torch

        from refimpl.crosscheck.seqgan_reference import plastic_logits

        logits = plastic_logits(x, w, b, alpha, eta, rule=rule, clip=CLIP)
        return torch.nn.functional.cross_entropy(logits, labels)

    return reference


def _jax_plastic(rule):
    def reference(x, w, b, alpha, eta, labels):
        log_p = jnn.log_softmax(_jax_plastic_logits(x, w, b, alpha, eta, rule, CLIP), axis=1)
        return -jnp.take_along_axis(log_p, labels[:, None], axis=1).mean()

    return reference


for _rule in plastic.RULES:
    for _backend in BACKENDS:
        register(Case(f"seqgan.plastic_softmax[{_rule}, {_backend}]", TOPIC,
                      r"L = \frac1N\sum_t \mathrm{CE}(x_t (w + \alpha \odot H_t) + b,\ \ell_t),\ "
                      r"H_{t+1} = \mathrm{rule}(H_t, x_t, \mathrm{softmax}(\cdot), \eta)",
                      _plastic_inputs(_rule), _plastic_compute(_rule, _backend), ("x", "w", "b", "alpha", "eta"),
                      {"torch": _torch_plastic(_rule), "jax": _jax_plastic(_rule)}))
