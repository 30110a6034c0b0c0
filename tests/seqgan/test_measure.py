"""Scores of the oracle benchmark: NLL_oracle, baselines, the entropy line, diversity measures."""

import numpy as np
import pytest

from refimpl.seqgan import measure, model


@pytest.fixture
def oracle(rng):
    return model.oracle_lstm(rng, 20, 6, 6)


def test_the_oracle_scores_its_own_entropy_below_the_baselines(oracle, rng):
    train = model.sample(oracle, rng, 2000, 6)
    entropy = measure.entropy_rate(oracle, rng, 2000, 6)
    unigram = measure.unigram_baseline(oracle, train, rng, 2000)
    uniform = measure.uniform_baseline(oracle, rng, 2000, 6)
    assert entropy < unigram < uniform
    assert measure.entropy_rate(oracle, rng, 2000, 6, temperature=0.7) < entropy  # cooled: more peaked


def test_nll_oracle_of_the_oracle_estimates_its_entropy_rate_exactly_on_a_tiny_case(rng):
    """V = 3, T = 2: the exact entropy rate (enumerating all 9 sequences) lies within sampling error."""
    oracle = model.oracle_lstm(rng, 3, 2, 2)
    every = np.array([[a, b] for a in range(3) for b in range(3)])
    nll = model.token_nll(oracle, every).sum(axis=1)
    exact = float(np.sum(np.exp(-nll) * nll) / 2)
    samples = model.sample(oracle, np.random.default_rng(3), 40000, 2)
    per_sequence = model.token_nll(oracle, samples).mean(axis=1)
    assert abs(measure.nll_oracle(oracle, samples) - exact) < 4 * per_sequence.std() / np.sqrt(40000)


def test_unigram_frequencies_and_diversity_measures():
    train = np.array([[0, 1, 1], [2, 1, 0]])
    np.testing.assert_allclose(measure.unigram_frequencies(train, 4), [2 / 6, 3 / 6, 1 / 6, 0])
    samples = np.array([[0, 1, 1], [0, 1, 1], [1, 1, 1], [2, 1, 0]])
    assert measure.unique_fraction(samples) == 0.75
    assert measure.copied_fraction(samples, train) == 0.75
    # bigrams: 01, 11, 01, 11, 11, 11, 21, 10 → {01, 11, 21, 10}
    assert measure.distinct_n(samples, 2) == 4 / 8
    assert measure.distinct_n(samples, 3) == 3 / 4


def test_evaluate_returns_every_score(oracle, rng):
    train, held_out = model.sample(oracle, rng, 100, 6), model.sample(oracle, rng, 50, 6)
    scores = measure.evaluate(oracle, oracle, train, held_out, rng, 200)
    assert set(scores) == {"nll_oracle", "nll_test", "unique", "copied", "distinct_2", "distinct_3", "distinct_4"}
    assert scores["nll_test"] == pytest.approx(measure.nll_oracle(oracle, held_out))


def test_bad_input_is_refused(oracle, rng):
    with pytest.raises(ValueError, match="n must be at most the sequence length T = 3"):
        measure.distinct_n(np.zeros((2, 3), dtype=int), 4)
    with pytest.raises(ValueError, match=r"train must have shape \(n, T\) = \(any, 3\)"):
        measure.copied_fraction(np.zeros((2, 3), dtype=int), np.zeros((2, 4), dtype=int))
    with pytest.raises(TypeError, match="samples must hold integer token ids"):
        measure.unique_fraction(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"samples must have shape \(n, T\) with n >= 1"):
        measure.unique_fraction(np.zeros((0, 3), dtype=int))
