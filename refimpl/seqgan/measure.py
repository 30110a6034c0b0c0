r"""How a generator is scored on the synthetic-oracle benchmark (Yu et al. 2017, §4), and the reference lines.

- NLL_oracle: the mean per-token NLL (nats) of generator samples under the oracle,
  :math:`-\frac{1}{nT}\sum_{n,t} \log p_O(y_{nt} \mid y_{n,<t})`, :math:`y \sim G` (quality, blind to diversity);
- NLL_test: the generator's mean per-token NLL of held-out oracle samples (coverage);
- the oracle's entropy rate, NLL_oracle of the oracle's own samples: a generator scoring below it is more
  peaked than the oracle (collapse or memorisation), not a better fit;
- baselines scored like a generator: uniform tokens, and a unigram fitted on the training samples;
- the oracle sampled at temperature τ < 1, the score of a too-peaked but otherwise perfect generator;
- diversity: the unique and copied fractions, distinct-n.
"""

import numpy as np

from refimpl.core.validate import check_int, check_positive, check_rng
from refimpl.seqgan.model import check_lstm, check_tokens, mean_nll, sample, token_nll

__all__ = ["nll_oracle", "nll_test", "entropy_rate", "unigram_frequencies", "unigram_baseline", "uniform_baseline",
           "unique_fraction", "copied_fraction", "distinct_n", "likelihood_ratio_accuracy", "evaluate"]


def nll_oracle(oracle, samples):
    r"""Mean per-token NLL of ``samples`` (n, T) under the ``oracle``: :math:`-\frac{1}{nT}\sum \log p_O(y_{nt} \mid y_{n,<t})`."""
    check_tokens("samples", samples, check_lstm(oracle, name="oracle")[0])
    return mean_nll(oracle, samples)


def nll_test(generator, held_out):
    """The generator's mean per-token NLL of held-out oracle samples (n, T)."""
    check_tokens("held_out", held_out, check_lstm(generator, name="generator")[0])
    return mean_nll(generator, held_out)


def entropy_rate(oracle, rng, n, length, *, temperature=1.0):
    r"""Per-token entropy rate of the oracle estimated from ``n`` of its own samples,
    :math:`\hat H = \mathrm{NLL}_{oracle}(y \sim p_O)`; with ``temperature`` τ ≠ 1, NLL_oracle of the tempered
    oracle's samples (what a perfect but too peaked generator scores)."""
    return nll_oracle(oracle, sample(oracle, rng, n, length, temperature=temperature))


def unigram_frequencies(train, vocab_size):
    """Token frequencies (V,) of the training samples (n, T), each token counted once per occurrence."""
    train = check_tokens("train", train, check_int("vocab_size", vocab_size, minimum=2))
    return np.bincount(train.reshape(-1), minlength=vocab_size) / train.size


def unigram_baseline(oracle, train, rng, n):
    """NLL_oracle of ``n`` sequences of i.i.d. tokens from the unigram fitted on ``train`` (n_train, T)."""
    V, _, _ = check_lstm(oracle, name="oracle")
    frequencies = unigram_frequencies(train, V)
    rng = check_rng("rng", rng)
    samples = rng.choice(V, size=(check_int("n", n, minimum=1), train.shape[1]), p=frequencies)
    return nll_oracle(oracle, samples)


def uniform_baseline(oracle, rng, n, length):
    """NLL_oracle of ``n`` sequences of uniformly random tokens of ``length``."""
    V, _, _ = check_lstm(oracle, name="oracle")
    samples = check_rng("rng", rng).integers(0, V, size=(check_int("n", n, minimum=1),
                                                   check_int("length", length, minimum=1)))
    return nll_oracle(oracle, samples)


def unique_fraction(samples):
    """Fraction of the rows of ``samples`` (n, T) that are distinct sequences."""
    samples = _tokens(samples)
    return len(np.unique(samples, axis=0)) / len(samples)


def copied_fraction(samples, train):
    """Fraction of the rows of ``samples`` that occur verbatim in ``train`` (same length T)."""
    samples = _tokens(samples)
    train = check_tokens("train", train, np.iinfo(np.int64).max, length=samples.shape[1])
    seen = {row.tobytes() for row in train}
    return sum(row.tobytes() in seen for row in samples) / len(samples)


def distinct_n(samples, n):
    """distinct-n (Li et al. 2016): distinct n-grams over all n-grams of ``samples`` (rows of length T ≥ n)."""
    samples = _tokens(samples)
    n = check_int("n", n, minimum=1)
    if n > samples.shape[1]:
        raise ValueError(f"n must be at most the sequence length T = {samples.shape[1]}; got {n}")
    grams = np.lib.stride_tricks.sliding_window_view(samples, n, axis=1).reshape(-1, n)
    return len(np.unique(grams, axis=0)) / len(grams)


def _tokens(samples):
    return check_tokens("samples", samples, np.iinfo(np.int64).max)


def likelihood_ratio_accuracy(oracle, generator, real, fake):
    r"""Accuracy of the Bayes-optimal discriminator between the oracle and the generator (equal priors) on
    ``real`` (oracle samples) and ``fake`` (generator samples), each (n, T): a sequence is called real when

    .. math:: \log p_O(y) - \log p_G(y) > 0,

    the ceiling that a trained discriminator's held-out accuracy can be compared with.
    """
    V, _, _ = check_lstm(oracle, name="oracle")
    if check_lstm(generator, name="generator")[0] != V:
        raise ValueError(f"generator must have the vocabulary V = {V} of oracle; got V = {generator['emb'].shape[0]}")
    real = check_tokens("real", real, V)
    fake = check_tokens("fake", fake, V, length=real.shape[1])

    def log_ratio(tokens):
        return token_nll(generator, tokens).sum(axis=1) - token_nll(oracle, tokens).sum(axis=1)

    return float(np.mean(np.concatenate([log_ratio(real) > 0.0, log_ratio(fake) <= 0.0])))


def evaluate(generator, oracle, train, held_out, rng, n, *, temperature=1.0):
    """Every score of one generator: NLL_oracle of ``n`` samples, NLL_test, unique, copied, distinct-2/3/4.

    Returns a dict of floats.
    """
    T = check_tokens("held_out", held_out, check_lstm(oracle, name="oracle")[0]).shape[1]
    samples = sample(generator, rng, n, T, temperature=check_positive("temperature", temperature))
    scores = {"nll_oracle": nll_oracle(oracle, samples), "nll_test": nll_test(generator, held_out),
              "unique": unique_fraction(samples), "copied": copied_fraction(samples, train)}
    scores.update({f"distinct_{k}": distinct_n(samples, k) for k in (2, 3, 4) if k <= T})
    return scores
