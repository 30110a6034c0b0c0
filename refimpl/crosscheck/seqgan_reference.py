"""The SeqGAN generator's MLE epoch in torch (nn.LSTM + nn.Linear + cross-entropy + Adam + clipping), the
reference of ``refimpl bench seqgan`` (imports torch; optional)."""

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
