"""SeqGAN in torch (imports torch; optional): the generator's MLE epoch (nn.LSTM + nn.Linear + cross-entropy +
Adam + clipping) and the discriminator's forward and backward pass, the references of ``refimpl bench seqgan``;
the discriminator's loss and the plastic softmax, the forward passes of the seqgan cross-check cases."""

import torch


def mle_epoch(data, *, vocab_size, embedding_dim, hidden_dim, batch_size, threads, lr=0.01, max_norm=5.0):
    """A callable running one MLE epoch over ``data`` (n, T) int in float32 on ``threads`` CPU threads.

    The model and optimiser are built once, so that timing the callable measures the epoch.
    """
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    embedding = torch.nn.Embedding(vocab_size, embedding_dim)
    lstm = torch.nn.LSTM(embedding_dim, hidden_dim, batch_first=True)
    output = torch.nn.Linear(hidden_dim, vocab_size)
    parameters = [*embedding.parameters(), *lstm.parameters(), *output.parameters()]
    optimiser = torch.optim.Adam(parameters, lr=lr)
    tokens = torch.as_tensor(data)
    inputs = torch.cat([torch.zeros(len(data), 1, dtype=torch.long), tokens[:, :-1]], dim=1)  # start token 0

    def epoch():
        for start in range(0, len(data) - batch_size + 1, batch_size):
            hidden, _ = lstm(embedding(inputs[start:start + batch_size]))
            logits = output(hidden).reshape(-1, vocab_size)
            loss = torch.nn.functional.cross_entropy(logits, tokens[start:start + batch_size].reshape(-1))
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, max_norm)
            optimiser.step()

    return epoch


def plastic_logits(x, w, b, alpha, eta, *, rule="hebb", clip=2.0, trace=None):
    """The plastic softmax's logits a_t (N, K) over the episode ``x`` (N, d) (tensors), the trace updated after
    every step by ``rule`` ("hebb", "oja" or "clip") from the softmax probabilities, as
    :mod:`refimpl.seqgan.plastic` defines it."""
    trace = torch.zeros_like(w) if trace is None else trace
    rows = []
    for t in range(len(x)):
        a = x[t] @ (w + alpha * trace) + b
        y = torch.softmax(a, dim=0)
        if rule == "hebb":
            trace = (1 - eta) * trace + eta * torch.outer(x[t], y)
        elif rule == "oja":
            trace = trace + eta * y * (x[t][:, None] - y * trace)
        else:
            trace = torch.clamp(trace + eta * torch.outer(x[t], y), -clip, clip)
        rows.append(a)
    return torch.stack(rows)


def discriminator_loss(p, tokens, labels, *, n_filters, highway_gate_bias=0.0, l2=0.2, mask=None, plastic=None):
    """SeqGAN's discriminator loss in torch: embedding, ``conv1d`` over time with filters spanning the embedding,
    ReLU, max over time, highway, optional dropout ``mask``, the plain (or, with ``plastic`` = dict of
    :func:`plastic_logits` options, the plastic) 2-way softmax, cross-entropy + L2 on the output layer.

    ``p`` holds tensors named as :func:`refimpl.seqgan.discriminator.init_discriminator` names the arrays
    (``conv{k}_W`` (F_k, w_k, E)); ``n_filters`` is the number of filter widths.
    """
    x = p["emb"][tokens].transpose(1, 2)  # (n, E, T): channels = the embedding
    u = torch.cat([torch.relu(torch.nn.functional.conv1d(x, p[f"conv{k}_W"].transpose(1, 2), p[f"conv{k}_b"]))
                   .amax(dim=2) for k in range(n_filters)], dim=1)
    gate = torch.sigmoid(u @ p["gate_W"].T + p["gate_b"] + highway_gate_bias)
    v = gate * torch.relu(u @ p["highway_W"].T + p["highway_b"]) + (1 - gate) * u
    if mask is not None:
        v = v * mask
    if plastic is None:
        logits = v @ p["out_w"] + p["out_b"]
    else:
        logits = plastic_logits(v, p["out_w"], p["out_b"], p["alpha"], p["eta"], **plastic)
    penalty = 0.5 * l2 * ((p["out_w"] ** 2).sum() + (p["out_b"] ** 2).sum())
    return torch.nn.functional.cross_entropy(logits, labels) + penalty


def discriminator_step(params, tokens, labels, *, n_filters, keep_prob=0.75, l2=0.2, threads, dtype="float32"):
    """A callable running the discriminator's forward and backward pass on one batch in torch (dropout drawn
    each call, as in training), from NumPy ``params``, ``tokens`` (n, T) and ``labels`` (n,)."""
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    p = {name: torch.tensor(value, dtype=getattr(torch, dtype), requires_grad=True) for name, value in params.items()}
    tokens, labels = torch.as_tensor(tokens), torch.as_tensor(labels)
    width = p["out_w"].shape[0]

    def step():
        mask = (torch.rand(len(tokens), width, dtype=p["out_w"].dtype) < keep_prob) / keep_prob
        for tensor in p.values():
            tensor.grad = None
        discriminator_loss(p, tokens, labels, n_filters=n_filters, l2=l2, mask=mask).backward()

    return step


def lstm_token_log_probabilities(emb, W, U, b, Wo, bo, tokens):
    """log p(y_t | y_<t) (n, T) of the peephole-free LSTM (gates i, f, o, c̃; start token 0, zero state) in
    torch ops, the reference of the LSTM cross-check cases."""
    n, T = tokens.shape
    H = U.shape[0]
    h = torch.zeros(n, H, dtype=W.dtype)
    c = torch.zeros(n, H, dtype=W.dtype)
    previous = torch.zeros(n, dtype=torch.long)
    columns = []
    for t in range(T):
        z = emb[previous] @ W + h @ U + b
        i, f, o = torch.sigmoid(z[:, :H]), torch.sigmoid(z[:, H:2 * H]), torch.sigmoid(z[:, 2 * H:3 * H])
        c = f * c + i * torch.tanh(z[:, 3 * H:])
        h = o * torch.tanh(c)
        columns.append(torch.log_softmax(h @ Wo + bo, dim=1).gather(1, tokens[:, t:t + 1])[:, 0])
        previous = tokens[:, t]
    return torch.stack(columns, dim=1)
