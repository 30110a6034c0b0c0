r"""The LSTM language model of SeqGAN (Yu et al. 2017): the oracle and the generator, with hand-derived BPTT.

One architecture serves both. Token 0 is the start token (and an ordinary token of the vocabulary);
sequences have a fixed length T and no end token. With the embedding :math:`x_t = \mathrm{emb}[y_{t-1}]`
(:math:`y_{-1}` = start token) and zero initial state, every step is the peephole-free LSTM

.. math::
    z_t = x_t W + h_{t-1} U + b, \quad i, f, o = \sigma(z_{i,f,o}), \quad \tilde c = \tanh(z_c), \\
    c_t = f \odot c_{t-1} + i \odot \tilde c, \quad h_t = o \odot \tanh c_t, \quad
    p(y_t \mid y_{<t}) = \mathrm{softmax}(h_t W_o + b_o),

the gates stacked in the order i, f, o, c̃ of SeqGAN's code. Parameters are a dict of arrays::

    emb (V, E)   W (E, 4H)   U (H, 4H)   b (4H,)   Wo (H, V)   bo (V,)

The oracle draws every entry from N(0, 1), the generator from N(0, 0.1²) (SeqGAN's ``init_matrix``).
All losses are one weighted sum of per-token negative log-likelihoods,

.. math:: L = \sum_{n,t} w_{nt}\, \big(-\log p(y_{nt} \mid y_{n,<t})\big),

the mean NLL with :math:`w = 1/(BT)` (MLE) and the policy-gradient loss with :math:`w` = the rewards
(SeqGAN's ``g_loss``, a sum without baseline). Its gradient is backpropagated through time by hand
(:func:`weighted_nll_and_gradients`); the per-step gate pass runs in :mod:`refimpl.seqgan.kernels`.
"""

import pickle

import numpy as np

from refimpl.core.optim import Optimizer
from refimpl.core.validate import (as_float_array, check_choice, check_finite_step, check_int, check_positive,
                                   check_rng, check_shape)
from refimpl.seqgan.kernels import gate_kernels

# the validated entry points; continue_sequences and embedding_gradient are the unchecked cores that loops call
__all__ = ["lstm_shapes", "init_lstm", "oracle_lstm", "generator_lstm", "check_lstm", "check_tokens",
           "check_backend", "check_optimiser", "weighted_nll_and_gradients", "mean_nll_and_gradients",
           "policy_gradient_loss_and_gradients", "token_nll", "mean_nll", "sample", "clip_by_global_norm",
           "train_step", "seqgan_arrays", "from_seqgan_arrays", "load_seqgan_oracle", "save_seqgan_oracle"]

START_TOKEN = 0
PARAM_NAMES = ("emb", "W", "U", "b", "Wo", "bo")
SEQGAN_GATE_ORDER = ("i", "f", "o", "c")  # the pickle stores (W, U, b) per gate in this order


def lstm_shapes(vocab_size, embedding_dim, hidden_dim):
    """Shapes of the parameter arrays for vocabulary V, embedding E and hidden size H, by name."""
    V = check_int("vocab_size", vocab_size, minimum=2)
    E = check_int("embedding_dim", embedding_dim, minimum=1)
    H = check_int("hidden_dim", hidden_dim, minimum=1)
    return {"emb": (V, E), "W": (E, 4 * H), "U": (H, 4 * H), "b": (4 * H,), "Wo": (H, V), "bo": (V,)}


def init_lstm(rng, vocab_size, embedding_dim, hidden_dim, *, std, dtype=np.float64):
    r"""Parameters with every entry drawn from :math:`\mathcal N(0, \mathrm{std}^2)`, biases included.

    Parameters
    ----------
    rng : numpy.random.Generator
    vocab_size, embedding_dim, hidden_dim : int, V ≥ 2, E ≥ 1, H ≥ 1
    std : float > 0
    dtype : float32 or float64
    """
    shapes = lstm_shapes(vocab_size, embedding_dim, hidden_dim)
    std = check_positive("std", std)
    dtype = _check_dtype(dtype)
    rng = check_rng("rng", rng)
    return {name: (std * rng.standard_normal(shape)).astype(dtype) for name, shape in shapes.items()}


def _check_dtype(dtype):
    """The name "float32" or "float64" of ``dtype`` (a name, a NumPy type or dtype), or raise naming dtype."""
    if isinstance(dtype, str):
        return check_choice("dtype", dtype, ("float32", "float64"))
    if isinstance(dtype, np.dtype) or dtype in (np.float32, np.float64):  # (None == a dtype compares True)
        return check_choice("dtype", np.dtype(dtype).name, ("float32", "float64"))
    raise TypeError(f"dtype must be float32 or float64 (a name or a NumPy type); got {dtype!r}")


def check_backend(backend):
    """Return ``backend`` if it is "numpy" or "numba" (the gate kernels' twins), or raise naming backend."""
    return check_choice("backend", backend, ("numpy", "numba"))


def check_optimiser(optimiser):
    """Return ``optimiser`` if it is a :class:`refimpl.core.optim.Optimizer`, or raise naming optimiser."""
    if not isinstance(optimiser, Optimizer):
        raise TypeError(f"optimiser must be a refimpl.core.optim.Optimizer (Adam, say); got {type(optimiser).__name__}")
    return optimiser


def oracle_lstm(rng, vocab_size=5000, embedding_dim=32, hidden_dim=32):
    """A synthetic-data oracle as in SeqGAN: N(0, 1) parameters, float64 (defaults: SeqGAN's sizes)."""
    return init_lstm(rng, vocab_size, embedding_dim, hidden_dim, std=1.0)


def generator_lstm(rng, vocab_size=5000, embedding_dim=32, hidden_dim=32, dtype=np.float64):
    """A generator to train, initialised from N(0, 0.1²) as SeqGAN's ``init_matrix``."""
    return init_lstm(rng, vocab_size, embedding_dim, hidden_dim, std=0.1, dtype=dtype)


def check_lstm(params, name="params"):
    """Validate an LSTM parameter dict; return (V, E, H).

    Raises ``TypeError``/``ValueError`` naming the array when a key is missing, a shape does not match the
    others, an array is not floating point and finite, or the arrays mix float32 and float64.
    """
    if not isinstance(params, dict):
        raise TypeError(f"{name} must be a dict of arrays with keys {PARAM_NAMES}; got {type(params).__name__}")
    missing = [key for key in PARAM_NAMES if key not in params]
    if missing:
        raise ValueError(f"{name} lacks the array(s) {missing}; an LSTM needs {PARAM_NAMES}")
    dtypes = {np.asarray(params[key]).dtype for key in PARAM_NAMES}
    if len(dtypes) != 1 or dtypes.pop() not in (np.float32, np.float64):
        raise TypeError(f"{name} arrays must all be float32 or all float64; got "
                        f"{ {key: str(np.asarray(params[key]).dtype) for key in PARAM_NAMES} }")
    V, E = as_float_array(f"{name}['emb']", params["emb"], ndim=2, dtype=None).shape
    H = as_float_array(f"{name}['U']", params["U"], ndim=2, dtype=None).shape[0]
    if V < 2 or H < 1:
        raise ValueError(f"{name} must have a vocabulary V >= 2 (rows of emb) and H >= 1 (rows of U); "
                         f"got V = {V}, H = {H}")
    for key, shape in lstm_shapes(V, E, H).items():
        check_shape(f"{name}[{key!r}]", as_float_array(f"{name}[{key!r}]", params[key], dtype=None), shape,
                    context=f"for V = {V}, E = {E}, H = {H}")
    return V, E, H


def check_tokens(name, tokens, vocab_size, length=None):
    """Return ``tokens`` as an int64 array (n, T) of ids in 0 .. V − 1, or raise naming ``name``.

    Parameters
    ----------
    tokens : (n, T) integer array
    vocab_size : int, V
    length : int, optional, the required sequence length T
    """
    array = np.asarray(tokens)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer token ids; got dtype {array.dtype}")
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n, T) with n >= 1 sequences of T >= 1 tokens; got {array.shape}")
    if length is not None:
        check_shape(name, array, (None, length), described="(n, T)", context=f"for sequences of length T = {length}")
    if array.size and (array.min() < 0 or array.max() >= vocab_size):
        raise ValueError(f"{name} must hold token ids in 0 .. {vocab_size - 1} (V = {vocab_size}); "
                         f"got values from {array.min()} to {array.max()}")
    return array.astype(np.int64, copy=False)


def _inputs(tokens):
    """Time-major input ids (T, n): the start token, then the sequence shifted right by one."""
    inputs = np.empty(tokens.shape[::-1], dtype=np.int64)
    inputs[0] = START_TOKEN
    inputs[1:] = tokens[:, :-1].T
    return inputs


def _recurrence(params, inputs, h0, c0, gates_forward):
    """Run the LSTM over time-major input ids (T, n) from the state (h0, c0); keep what BPTT needs.

    Returns a dict: x (T, n, E) embedded inputs, gates (T, n, 4H), c and h (T + 1, n, H) with the initial
    state at index 0, tanh_c (T, n, H).
    """
    T, n = inputs.shape
    H = h0.shape[1]
    x = params["emb"][inputs]
    xW = (x.reshape(T * n, -1) @ params["W"] + params["b"]).reshape(T, n, 4 * H)
    dtype = params["W"].dtype
    gates = np.empty((T, n, 4 * H), dtype)
    c, h = np.empty((T + 1, n, H), dtype), np.empty((T + 1, n, H), dtype)
    tanh_c = np.empty((T, n, H), dtype)
    c[0], h[0] = c0, h0
    for t in range(T):
        gates_forward(xW[t] + h[t] @ params["U"], c[t], gates[t], c[t + 1], tanh_c[t], h[t + 1])
    return {"inputs": inputs, "x": x, "gates": gates, "c": c, "h": h, "tanh_c": tanh_c}


def _zero_state(params, n):
    H = params["U"].shape[0]
    return np.zeros((n, H), params["U"].dtype), np.zeros((n, H), params["U"].dtype)


def _logits(params, states, workspace=None):
    """Output logits (T n, V) of the hidden states (T + 1, n, H), initial state excluded.

    With a ``workspace`` dict the (T n, V) array is kept there and reused by the next call of the same shape:
    at V = 5000 a fresh array per batch costs more in page faults than the product that fills it.
    """
    hidden = states["h"][1:]
    hidden = hidden.reshape(-1, hidden.shape[-1])
    shape, dtype = (len(hidden), params["Wo"].shape[1]), params["Wo"].dtype
    out = None if workspace is None else workspace.get("logits")
    if out is None or out.shape != shape or out.dtype != dtype:
        out = np.empty(shape, dtype)
        if workspace is not None:
            workspace["logits"] = out
    np.matmul(hidden, params["Wo"], out=out)
    out += params["bo"]
    return out


def softmax_nll_(logits, targets):
    r"""Per-row NLL (N,) of ``targets`` under softmax(``logits``) (N, V),
    :math:`\ell_r = \log\sum_v e^{a_{rv}} - a_{r y_r}`, and the row sums (N,) of the shifted exponentials
    that ``logits`` holds on return: :math:`p = ` logits / sums, from which the gradient
    :math:`w_r (p_{rv} - [v = y_r])` of :math:`\sum_r w_r \ell_r` is formed in place. In place because at
    V = 5000 every pass over (N, V) counts."""
    logits -= logits.max(axis=1, keepdims=True)
    target_logit = logits[np.arange(len(targets)), targets]
    np.exp(logits, out=logits)
    total = logits.sum(axis=1)
    return np.log(total) - target_logit, total


def _backward(params, states, dlogits, gates_backward):
    """BPTT: gradients of every parameter from ∂L/∂logits (T n, V), given the states of :func:`_recurrence`."""
    T, n, H = states["tanh_c"].shape
    hidden = states["h"][1:].reshape(T * n, H)
    grads = {"Wo": hidden.T @ dlogits, "bo": dlogits.sum(axis=0)}
    dh_out = (dlogits @ params["Wo"].T).reshape(T, n, H)
    dz = np.empty_like(states["gates"])
    dc = np.zeros((n, H), dlogits.dtype)
    dh_next = np.zeros((n, H), dlogits.dtype)
    dU = np.zeros_like(params["U"])
    for t in range(T - 1, -1, -1):
        gates_backward(dh_out[t] + dh_next, dc, states["gates"][t], states["c"][t], states["tanh_c"][t], dz[t])
        dU += states["h"][t].T @ dz[t]
        dh_next = dz[t] @ params["U"].T
    dz = dz.reshape(T * n, 4 * H)
    grads["W"] = states["x"].reshape(T * n, -1).T @ dz
    grads["U"], grads["b"] = dU, dz.sum(axis=0)
    grads["emb"] = embedding_gradient(states["inputs"].reshape(-1), dz @ params["W"].T, params["emb"].shape[0])
    return grads


def embedding_gradient(ids, rows, vocab_size):
    r"""∂L/∂emb (V, E) from the gradients ``rows`` (N, E) of the embedded inputs ``ids`` (N,):
    :math:`\sum_{r: \mathrm{ids}_r = v} \mathrm{rows}_r`, summed per id by ``np.add.reduceat`` over the rows
    sorted by id (``np.add.at`` takes half as long again). The unchecked core of the LSTM's and the
    discriminator's backward passes."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_ids[1:] != sorted_ids[:-1]]))
    grad = np.zeros((vocab_size, rows.shape[1]), rows.dtype)
    grad[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return grad


def weighted_nll_and_gradients(params, tokens, weights, *, backend="numba", workspace=None):
    r"""Loss :math:`L = \sum_{n,t} w_{nt}\,(-\log p(y_{nt} \mid y_{n,<t}))` (teacher forced) and ∂L/∂params.

    Parameters
    ----------
    params : dict of the LSTM's arrays (see the module docstring)
    tokens : (n, T) int, the sequences y
    weights : (n, T) float, the per-token weights w
    backend : "numpy" or "numba", for the gate pass
    workspace : dict, optional, keeps the (nT, V) logits buffer for the next call (a training loop passes one)

    Returns
    -------
    loss : float
    grads : dict, one array per parameter, of its shape
    """
    V, _, _ = check_lstm(params)
    tokens = check_tokens("tokens", tokens, V)
    weights = check_shape("weights", as_float_array("weights", weights, ndim=2), tokens.shape,
                          described="(n, T)", context="to match tokens")
    return _weighted_nll_and_gradients(params, tokens, weights, backend, workspace)


def _weighted_nll_and_gradients(params, tokens, weights, backend, workspace=None):
    gates_forward, gates_backward = gate_kernels(backend)
    states = _recurrence(params, _inputs(tokens), *_zero_state(params, len(tokens)), gates_forward)
    dlogits = _logits(params, states, workspace)
    time_major_weights = weights.T.reshape(-1).astype(dlogits.dtype)
    targets = tokens.T.reshape(-1)
    nll, total = softmax_nll_(dlogits, targets)
    dlogits *= (time_major_weights / total)[:, None]  # ∂L/∂a = w (p − onehot)
    dlogits[np.arange(len(targets)), targets] -= time_major_weights
    loss = float(np.dot(nll.astype(np.float64), time_major_weights))
    return loss, _backward(params, states, dlogits, gates_backward)


def mean_nll_and_gradients(params, tokens, *, backend="numba", workspace=None):
    r"""MLE loss, the mean per-token NLL :math:`\frac{1}{nT}\sum_{n,t} -\log p(y_{nt} \mid y_{n,<t})`, and its gradients."""
    V, _, _ = check_lstm(params)
    tokens = check_tokens("tokens", tokens, V)
    weights = np.full(tokens.shape, 1.0 / tokens.size)
    return _weighted_nll_and_gradients(params, tokens, weights, backend, workspace)


def policy_gradient_loss_and_gradients(params, tokens, rewards, *, baseline="none", backend="numba", workspace=None):
    r"""SeqGAN's generator loss :math:`L = -\sum_{n,t} \log p(y_{nt} \mid y_{n,<t})\,(r_{nt} - \bar r_t)` and its gradients.

    Parameters
    ----------
    tokens : (n, T) int, sampled sequences
    rewards : (n, T) float, Q(y_{<t}, y_t) estimated by rollouts
    baseline : "none" (:math:`\bar r = 0`, the public code) or "mean" (:math:`\bar r_t` = the batch mean of
        column t, a variance-reducing option)
    """
    V, _, _ = check_lstm(params)
    tokens = check_tokens("tokens", tokens, V)
    rewards = check_shape("rewards", as_float_array("rewards", rewards, ndim=2), tokens.shape,
                          described="(n, T)", context="to match tokens")
    if check_choice("baseline", baseline, ("none", "mean")) == "mean":
        rewards = rewards - rewards.mean(axis=0)
    return _weighted_nll_and_gradients(params, tokens, rewards, backend, workspace)


def token_nll(params, tokens, *, batch_size=256, backend="numba"):
    """Teacher-forced per-token NLL (nats) of ``tokens`` (n, T) under ``params``: an (n, T) array, in batches."""
    V, _, _ = check_lstm(params)
    tokens = check_tokens("tokens", tokens, V)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    gates_forward, _ = gate_kernels(backend)
    out, workspace = np.empty(tokens.shape), {}
    for start in range(0, len(tokens), batch_size):
        chunk = tokens[start:start + batch_size]
        states = _recurrence(params, _inputs(chunk), *_zero_state(params, len(chunk)), gates_forward)
        nll, _ = softmax_nll_(_logits(params, states, workspace), chunk.T.reshape(-1))
        out[start:start + batch_size] = nll.reshape(chunk.shape[::-1]).T
    return out


def mean_nll(params, tokens, **options):
    """Mean per-token NLL (nats) of ``tokens`` under ``params``: SeqGAN's ``pretrain_loss``, batched."""
    return float(token_nll(params, tokens, **options).mean())


def sample(params, rng, n, length, *, temperature=1.0, batch_size=512, backend="numba"):
    r"""Draw ``n`` sequences of ``length`` tokens, :math:`y_t \sim \mathrm{softmax}((h_t W_o + b_o)/\tau)`.

    Parameters
    ----------
    rng : numpy.random.Generator, the only source of randomness (a fixed seed gives identical samples)
    n, length : int ≥ 1
    temperature : float > 0, τ (1 samples the model itself)

    Returns
    -------
    tokens : (n, length) int64
    """
    check_lstm(params)
    rng = check_rng("rng", rng)
    n = check_int("n", n, minimum=1)
    length = check_int("length", length, minimum=1)
    temperature = check_positive("temperature", temperature)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    gates_forward, _ = gate_kernels(backend)
    chunks = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        first = np.full(m, START_TOKEN, dtype=np.int64)
        chunks.append(continue_sequences(params, rng, *_zero_state(params, m), first, length, temperature,
                                         gates_forward))
    return np.concatenate(chunks)


def continue_sequences(params, rng, h, c, next_input, steps, temperature, gates_forward):
    """Sample ``steps`` tokens from the state (h, c) (m, H) whose next input is ``next_input`` (m,).

    The unvalidated core of :func:`sample` and of the Monte-Carlo rollouts. Returns (m, steps) int64.
    """
    m, H = h.shape
    gates = np.empty((m, 4 * H), h.dtype)
    tanh_c = np.empty_like(h)
    tokens = np.empty((m, steps), dtype=np.int64)
    x = next_input
    for t in range(steps):
        z = params["emb"][x] @ params["W"] + h @ params["U"] + params["b"]
        h, c_new = np.empty_like(h), np.empty_like(c)
        gates_forward(z, c, gates, c_new, tanh_c, h)
        c = c_new
        x = tokens[:, t] = _draw(rng, h @ params["Wo"] + params["bo"], temperature)
    return tokens


def _draw(rng, logits, temperature=1.0):
    """One token per row of ``logits`` (m, V), overwritten, by the inverse CDF of softmax(logits / τ), from one
    uniform per row. In place: in the rollouts this runs once per sampled token over (m, V)."""
    logits = logits.astype(np.float64, copy=False)
    if temperature != 1.0:
        logits /= temperature
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    cdf = np.cumsum(logits, axis=1, out=logits)
    u = rng.random(len(cdf))[:, None] * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=1), cdf.shape[1] - 1)


def clip_by_global_norm(grads, max_norm):
    r"""Scale every gradient in place by :math:`\min(1, c/\|g\|)`, :math:`\|g\|^2 = \sum_k \|g_k\|^2` (TF's rule).

    Parameters
    ----------
    grads : dict of arrays
    max_norm : float > 0, c (SeqGAN's ``grad_clip`` = 5)

    Returns
    -------
    float, the global norm before clipping
    """
    if not isinstance(grads, dict):
        raise TypeError(f"grads must be a dict of arrays; got {type(grads).__name__}")
    max_norm = check_positive("max_norm", max_norm)
    return _clip_by_global_norm(grads, max_norm)


def _clip_by_global_norm(grads, max_norm):
    norm = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())))
    if norm > max_norm:
        for gradient in grads.values():
            gradient *= max_norm / norm
    return norm


def train_step(params, optimiser, loss_and_gradients, *, max_norm=5.0):
    """One optimiser step on ``params`` from ``(loss, grads) = loss_and_gradients(params)``, the gradients
    clipped to global norm ``max_norm`` first. Returns (loss, global norm before clipping)."""
    check_lstm(params)
    check_optimiser(optimiser)
    max_norm = check_positive("max_norm", max_norm)
    if not callable(loss_and_gradients):
        raise TypeError(f"loss_and_gradients must be a function params -> (loss, grads); "
                        f"got {type(loss_and_gradients).__name__}")
    return _train_step(params, optimiser, loss_and_gradients, max_norm)


def _train_step(params, optimiser, loss_and_gradients, max_norm, step=1, total=1):
    """The unchecked core of :func:`train_step`, which the training loops call once per batch (step of total).

    Raises ``FloatingPointError`` naming the step, before the update, when the loss or the gradient norm is not
    finite (a NaN gradient would otherwise turn every parameter into NaN).
    """
    loss, grads = loss_and_gradients(params)
    norm = _clip_by_global_norm(grads, max_norm)
    check_finite_step(step, total, loss=loss, gradient_norm=norm)
    optimiser.step(params, grads)
    return loss, norm


def seqgan_arrays(params):
    """The 15 arrays of SeqGAN's oracle pickle: emb, (W, U, b) for the gates i, f, o, c, then Wo, bo."""
    V, E, H = check_lstm(params)
    per_gate = [[params[key][..., k * H:(k + 1) * H] for key in ("W", "U", "b")] for k in range(4)]
    return [params["emb"]] + [array for gate in per_gate for array in gate] + [params["Wo"], params["bo"]]


def from_seqgan_arrays(arrays, name="arrays"):
    """LSTM parameters (float64 dict) from the 15 arrays of SeqGAN's pickle layout (:func:`seqgan_arrays`)."""
    if not isinstance(arrays, (list, tuple)) or len(arrays) != 15:
        count = f"{len(arrays)} arrays" if isinstance(arrays, (list, tuple)) else type(arrays).__name__
        raise ValueError(f"{name} must be a list of 15 arrays (emb, (W, U, b) for the gates i, f, o, c, Wo, bo); "
                         f"got {count}")
    labels = ["emb"] + [f"{key}{gate}" for gate in SEQGAN_GATE_ORDER for key in ("W", "U", "b")] + ["Wo", "bo"]
    arrays = [as_float_array(f"{name}[{k}] ({label})", a) for k, (a, label) in enumerate(zip(arrays, labels))]
    V, E = check_shape(f"{name}[0] (emb)", arrays[0], (None, None), described="(V, E)").shape
    H = check_shape(f"{name}[13] (Wo)", arrays[13], (None, V), described="(H, V)", context="to match emb").shape[0]
    expected = [(V, E)] + [(E, H), (H, H), (H,)] * 4 + [(H, V), (V,)]
    for k, (array, shape, label) in enumerate(zip(arrays, expected, labels)):
        check_shape(f"{name}[{k}] ({label})", array, shape, context=f"for V = {V}, E = {E}, H = {H}")
    stacked = {key: np.concatenate(arrays[1 + position:13:3], axis=-1) for position, key in enumerate("WUb")}
    params = {"emb": arrays[0], **stacked, "Wo": arrays[13], "bo": arrays[14]}
    check_lstm(params, name=name)
    return params


def load_seqgan_oracle(path):
    """Load an oracle from a pickle in the layout of SeqGAN's ``save/target_params_py3.pkl`` (or the
    Python 2 ``target_params.pkl``): a list of 15 float arrays, see :func:`seqgan_arrays`.

    The file is not bundled (its repository has no licence). Unpickling runs code from the file: load
    only files you trust.
    """
    with open(path, "rb") as handle:
        arrays = pickle.load(handle, encoding="latin1")
    return from_seqgan_arrays(arrays, name=f"the pickle {path}")


def save_seqgan_oracle(params, path):
    """Write ``params`` as a pickle in SeqGAN's 15-array layout (float32, as the original file)."""
    with open(path, "wb") as handle:
        pickle.dump([np.asarray(a, dtype=np.float32) for a in seqgan_arrays(params)], handle)
