"""Rollout rewards, the EMA rollout policy, MLE epochs, the PG step and D rounds."""

import numpy as np
import pytest

from refimpl.core.optim import Adam
from refimpl.seqgan import discriminator as D
from refimpl.seqgan import model, training


@pytest.fixture
def policy(rng):
    return model.oracle_lstm(rng, 12, 4, 5)


def test_rewards_have_shape_n_by_t_and_the_last_column_is_the_score_of_the_sequence(policy, rng):
    tokens = rng.integers(0, 12, (5, 6))
    calls = []

    def score(sequences):
        calls.append(sequences.copy())
        return sequences[:, -1] / 11.0 + sequences[:, 0] / 100.0  # depends on the completion and the prefix

    rewards = training.rollout_rewards(policy, score, tokens, rng, n_rollouts=3)
    assert rewards.shape == (5, 6)
    completions = calls[:-1]
    assert len(calls) == 6 and all(c.shape == (15, 6) for c in completions)
    np.testing.assert_array_equal(rewards[:, -1], score(tokens))
    for given, completed in enumerate(completions, start=1):  # every completion keeps its prefix
        np.testing.assert_array_equal(completed[:, :given], np.tile(tokens[:, :given], (3, 1)))
        np.testing.assert_allclose(rewards[:, given - 1], score(completed).reshape(3, 5).mean(axis=0))


def test_rollouts_follow_the_policy(rng):
    """The completion of a prefix of length T − 1 is a draw of the last token from p(y_{T-1} | y_{<T-1})."""
    policy = model.oracle_lstm(rng, 3, 2, 3)
    tokens = np.array([[1, 2, 0]])
    rewards = training.rollout_rewards(policy, lambda s: (s[:, -1] == 2).astype(float), tokens,
                                       np.random.default_rng(0), n_rollouts=20000)
    p_two = np.exp(-model.token_nll(policy, np.array([[1, 2, 2]]))[0, 2])
    assert abs(rewards[0, 1] - p_two) < 4 * np.sqrt(p_two * (1 - p_two) / 20000)


def test_a_fixed_seed_gives_identical_rewards(policy, rng):
    tokens = rng.integers(0, 12, (4, 5))
    score = lambda s: s.mean(axis=1) / 12.0  # noqa: E731
    first = training.rollout_rewards(policy, score, tokens, np.random.default_rng(3), n_rollouts=2)
    np.testing.assert_array_equal(first, training.rollout_rewards(policy, score, tokens, np.random.default_rng(3),
                                                                  n_rollouts=2))


def test_ema_update_moves_the_rollout_policy_towards_the_generator(policy, rng):
    generator = model.oracle_lstm(rng, 12, 4, 5)
    rollout = {k: v.copy() for k, v in policy.items()}
    training.ema_update(rollout, generator, 0.8)
    for name in model.PARAM_NAMES:
        np.testing.assert_allclose(rollout[name], 0.8 * policy[name] + 0.2 * generator[name])


def test_mle_epochs_lower_the_held_out_nll(rng):
    oracle = model.oracle_lstm(rng, 20, 8, 8)
    train, held_out = model.sample(oracle, rng, 640, 6), model.sample(oracle, rng, 200, 6)
    generator = model.generator_lstm(rng, 20, 8, 8)
    before = model.mean_nll(generator, held_out)
    optimiser = Adam(lr=0.01)
    for _ in range(3):
        training.mle_epoch(generator, optimiser, train, rng)
    assert optimiser.t == 30  # 640 / 64 full batches per epoch
    assert model.mean_nll(generator, held_out) < before - 0.2


def test_policy_gradient_step_raises_the_reward_it_is_trained_on(rng):
    """With D replaced by a fixed score (the fraction of token 0), PG steps make the generator emit more 0s."""
    generator = model.generator_lstm(rng, 5, 4, 4)
    optimiser = Adam(lr=0.01)
    score = lambda s: (s == 0).mean(axis=1)  # noqa: E731
    start = score(model.sample(generator, rng, 2000, 4)).mean()
    for _ in range(25):
        training.policy_gradient_step(generator, optimiser, generator, score, rng, batch_size=32, length=4,
                                      n_rollouts=2)
    assert score(model.sample(generator, rng, 2000, 4)).mean() > start + 0.1


def test_discriminator_round_trains_on_fresh_negatives(rng):
    oracle = model.oracle_lstm(rng, 10, 4, 4)
    train = model.sample(oracle, rng, 200, 5)
    config = D.DiscriminatorConfig(embedding_dim=4, filter_sizes=(1, 2), filter_counts=(4, 4))
    critic = D.Discriminator(D.init_discriminator(rng, 10, config), config, Adam(lr=1e-3), backend="numpy")
    loss = training.discriminator_round(critic, model.generator_lstm(rng, 10, 4, 4), train, rng, n_samples=100,
                                        epochs=2, batch_size=32)
    assert np.isfinite(loss) and critic.optimiser.t == 2 * 7  # 200 sequences in batches of 32


def test_bad_input_is_refused(policy, rng):
    with pytest.raises(ValueError, match="n_rollouts must be >= 1"):
        training.rollout_rewards(policy, lambda s: s[:, 0], np.zeros((2, 3), dtype=int), rng, n_rollouts=0)
    with pytest.raises(ValueError, match="rate must be in"):
        training.ema_update(policy, policy, 1.5)
    with pytest.raises(ValueError, match="data must hold at least batch_size = 64"):
        training.mle_epoch(policy, Adam(), np.zeros((10, 3), dtype=int), rng)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_diverging_mle_epoch_stops_naming_the_step(rng, backend):
    generator = model.generator_lstm(rng, 5, 3, 4)
    data = rng.integers(0, 5, (12, 4))
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=r"loss became nan at step \d of 3"):
        for _ in range(5):  # a step of 1e308 overflows the logits within two steps
            training.mle_epoch(generator, Adam(lr=1e308), data, rng, batch_size=4, max_norm=1e308, backend=backend)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_nan_reward_stops_the_policy_gradient_step_before_the_update(rng, backend):
    generator = model.generator_lstm(rng, 5, 3, 4)
    before = {name: value.copy() for name, value in generator.items()}
    with pytest.raises(FloatingPointError, match="rewards became nan at step 1 of 1"):
        training.policy_gradient_step(generator, Adam(lr=0.01), generator, lambda s: np.full(len(s), np.nan), rng,
                                      batch_size=3, length=4, n_rollouts=2, backend=backend)
    for name, value in before.items():
        np.testing.assert_array_equal(generator[name], value)


def test_an_overflowing_discriminator_loss_stops_before_the_update(rng):
    config = D.DiscriminatorConfig(embedding_dim=4, filter_sizes=(1, 2), filter_counts=(4, 4), keep_prob=1.0)
    params = D.init_discriminator(rng, 5, config)
    params["out_w"][:] = 1e308  # finite, but the logits v w overflow to inf
    critic = D.Discriminator(params, config, Adam(lr=0.01), backend="numpy")
    tokens = rng.integers(0, 5, (8, 4))
    with np.errstate(all="ignore"), \
            pytest.raises(FloatingPointError, match=r"discriminator_loss became (nan|inf) at step 1 of 8"):
        critic.train_epochs(rng, tokens, tokens[::-1], epochs=2, batch_size=4)
    assert critic.optimiser.t == 0
