r"""SeqGAN's training (Yu et al. 2017, Algorithm 1): MLE pretraining, discriminator rounds, and the policy-gradient
step whose rewards come from Monte-Carlo rollouts.

The reward of token :math:`y_t` of a sampled sequence (n, T) is the discriminator's P(real) of its completions,

.. math::
    Q(y_{<t}, y_t) = \frac1R \sum_{r=1}^R D\big(y_{\le t} \oplus \tilde y^{(r)}_{t+1:T}\big), \ t < T - 1, \qquad
    Q(y_{<T-1}, y_{T-1}) = D(y),

the completions :math:`\tilde y^{(r)}` drawn from the rollout policy: the current generator (what SeqGAN's code
does: its ``update_rate`` 0.8 never reaches the sampling graph) or, as an option, an exponential moving average
:math:`\theta_\text{roll} \leftarrow 0.8\,\theta_\text{roll} + 0.2\,\theta_G` (what the paper describes).
"""

import numpy as np

from refimpl.core.validate import check_choice, check_finite_step, check_int, check_positive, check_real, check_rng
from refimpl.seqgan.discriminator import Discriminator
from refimpl.seqgan.kernels import gate_kernels
from refimpl.seqgan.model import (_inputs, _recurrence, _train_step, _zero_state, check_backend, check_lstm,
                                  check_optimiser, check_tokens, continue_sequences, mean_nll_and_gradients,
                                  policy_gradient_loss_and_gradients, sample)

__all__ = ["rollout_rewards", "ema_update", "mle_epoch", "policy_gradient_step", "discriminator_round"]


def rollout_rewards(policy, score, tokens, rng, *, n_rollouts=16, backend="numba"):
    """Rewards (n, T) of sampled sequences ``tokens`` (n, T) by ``n_rollouts`` Monte-Carlo completions each.

    Parameters
    ----------
    policy : dict, the LSTM that completes the prefixes
    score : callable, sequences (m, T) int → P(real) (m,)
    tokens : (n, T) int
    rng : numpy.random.Generator
    n_rollouts : int ≥ 1, R

    Returns
    -------
    rewards : (n, T); column t < T − 1 the mean score of the R completions of the prefix y_{≤t}, the last
    column ``score(tokens)`` itself
    """
    V, _, H = check_lstm(policy, name="policy")
    tokens = check_tokens("tokens", tokens, V)
    rng = check_rng("rng", rng)
    R = check_int("n_rollouts", n_rollouts, minimum=1)
    _check_score(score)
    return _rollout_rewards(policy, score, tokens, rng, R, check_backend(backend))


def _check_score(score):
    if not callable(score):
        raise TypeError(f"score must be a function of sequences (m, T) -> P(real) (m,); got {type(score).__name__}")


def _rollout_rewards(policy, score, tokens, rng, R, backend):
    n, T = tokens.shape
    gates_forward, _ = gate_kernels(backend)
    states = _recurrence(policy, _inputs(tokens), *_zero_state(policy, n), gates_forward)
    rewards = np.empty((n, T))
    for given in range(1, T):
        # state after reading the start token and y_0 … y_{given-2}; the next input is y_{given-1}
        h, c = (np.tile(states[key][given], (R, 1)) for key in ("h", "c"))
        completion = continue_sequences(policy, rng, h, c, np.tile(tokens[:, given - 1], R), T - given, 1.0,
                                        gates_forward)
        completed = np.concatenate([np.tile(tokens[:, :given], (R, 1)), completion], axis=1)
        rewards[:, given - 1] = np.asarray(score(completed)).reshape(R, n).mean(axis=0)
    rewards[:, T - 1] = score(tokens)
    return rewards


def ema_update(rollout_policy, generator, rate=0.8):
    r"""In place, :math:`\theta_\text{roll} \leftarrow \text{rate}\,\theta_\text{roll} + (1 - \text{rate})\,\theta_G`."""
    rate = check_real("rate", rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1]; got {rate!r}")
    sizes = check_lstm(generator, name="generator")
    if check_lstm(rollout_policy, name="rollout_policy") != sizes:
        raise ValueError(f"rollout_policy must have the sizes (V, E, H) = {sizes} of generator; "
                         f"got {check_lstm(rollout_policy, name='rollout_policy')}")
    for name, value in generator.items():
        rollout_policy[name] *= rate
        rollout_policy[name] += (1.0 - rate) * value


def mle_epoch(params, optimiser, data, rng, *, batch_size=64, max_norm=5.0, backend="numba"):
    """One MLE epoch: shuffled full minibatches of ``data`` (n, T) (SeqGAN: 156 × 64 = 9,984), Adam with
    global-norm clipping. Returns the mean training loss (nats per token)."""
    rng = check_rng("rng", rng)
    data = check_tokens("data", data, check_lstm(params)[0])
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_optimiser(optimiser)
    max_norm = check_positive("max_norm", max_norm)
    check_backend(backend)
    if len(data) < batch_size:
        raise ValueError(f"data must hold at least batch_size = {batch_size} sequences; got {len(data)}")
    order = rng.permutation(len(data))
    losses, workspace = [], {}
    n_batches = len(data) // batch_size
    for step, start in enumerate(range(0, n_batches * batch_size, batch_size), start=1):
        batch = data[order[start:start + batch_size]]
        loss, _ = _train_step(params, optimiser,
                              lambda p: mean_nll_and_gradients(p, batch, backend=backend, workspace=workspace),
                              max_norm, step, n_batches)
        losses.append(loss)
    return float(np.mean(losses))


def policy_gradient_step(generator, optimiser, rollout_policy, score, rng, *, batch_size=64, length,
                         n_rollouts=16, baseline="none", max_norm=5.0, backend="numba"):
    """SeqGAN's generator step: sample a batch, reward it by rollouts, one Adam step on the PG loss.

    Returns (loss, mean reward of the batch).
    """
    V, E, H = check_lstm(generator, name="generator")
    if check_lstm(rollout_policy, name="rollout_policy")[0] != V:
        raise ValueError(f"rollout_policy must have the vocabulary V = {V} of generator; "
                         f"got V = {check_lstm(rollout_policy, name='rollout_policy')[0]}")
    check_optimiser(optimiser)
    _check_score(score)
    rng = check_rng("rng", rng)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    length = check_int("length", length, minimum=1)
    R = check_int("n_rollouts", n_rollouts, minimum=1)
    check_choice("baseline", baseline, ("none", "mean"))
    max_norm = check_positive("max_norm", max_norm)
    backend = check_backend(backend)
    samples = sample(generator, rng, batch_size, length, backend=backend)
    rewards = _rollout_rewards(rollout_policy, score, samples, rng, R, backend)
    check_finite_step(1, 1, rewards=rewards)  # a NaN score would make every parameter NaN
    loss, _ = _train_step(generator, optimiser,
                          lambda p: policy_gradient_loss_and_gradients(p, samples, rewards, baseline=baseline,
                                                                       backend=backend), max_norm)
    return loss, float(rewards.mean())


def discriminator_round(critic, generator, train, rng, *, n_samples, epochs, batch_size=64, backend="numba"):
    """One D round: ``n_samples`` fresh negatives from the generator against as many positives (the whole
    training set when ``n_samples`` ≥ its size, else a random subset), ``epochs`` passes.
    Returns the mean loss of the last epoch."""
    if not isinstance(critic, Discriminator):
        raise TypeError(f"critic must be a refimpl.seqgan.discriminator.Discriminator; got {type(critic).__name__}")
    rng = check_rng("rng", rng)
    train = check_tokens("train", train, check_lstm(generator, name="generator")[0])
    n_samples = check_int("n_samples", n_samples, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    negatives = sample(generator, rng, n_samples, train.shape[1], backend=backend)
    positives = train if n_samples >= len(train) else train[rng.choice(len(train), n_samples, replace=False)]
    return critic.train_epochs(rng, positives, negatives, epochs=epochs, batch_size=batch_size)
