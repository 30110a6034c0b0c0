"""The LSTM of SeqGAN: BPTT against finite differences, the twins, sampling, NLL, clipping, the pickle layout, bad input."""

import pickle

import numpy as np
import pytest
from hypothesis import given, note

from refimpl.core.gradcheck import assert_gradients
from refimpl.core.optim import Adam
from refimpl.seqgan import kernels, model
from tests.seqgan.strategies import lstm_cases


def _as_function(loss_of, names=model.PARAM_NAMES):
    """The loss as a function of the parameter arrays in ``names`` order (what gradcheck differentiates)."""
    return lambda *arrays: loss_of(dict(zip(names, arrays)))


@given(lstm_cases())
def test_mean_nll_gradients_match_finite_differences(case):
    params, tokens, _ = case
    loss, grads = model.mean_nll_and_gradients(params, tokens, backend="numpy")
    comparison = assert_gradients(_as_function(lambda p: model.mean_nll_and_gradients(p, tokens, backend="numpy")[0]),
                                  [params[k] for k in model.PARAM_NAMES], [grads[k] for k in model.PARAM_NAMES])
    note(f"worst: {comparison}")
    assert loss == pytest.approx(model.mean_nll(params, tokens), rel=1e-12)


@given(lstm_cases())
def test_policy_gradient_gradients_match_finite_differences(case):
    params, tokens, rewards = case
    for baseline in ("none", "mean"):
        def loss_of(p):
            return model.policy_gradient_loss_and_gradients(p, tokens, rewards, baseline=baseline, backend="numpy")[0]

        _, grads = model.policy_gradient_loss_and_gradients(params, tokens, rewards, baseline=baseline,
                                                            backend="numpy")
        comparison = assert_gradients(_as_function(loss_of), [params[k] for k in model.PARAM_NAMES],
                                      [grads[k] for k in model.PARAM_NAMES])
        note(f"{baseline}: {comparison}")


def test_policy_gradient_loss_is_the_reward_weighted_sum_of_log_probabilities(rng):
    params = model.oracle_lstm(rng, 6, 3, 4)
    tokens = rng.integers(0, 6, (5, 4))
    rewards = rng.random((5, 4))
    loss, _ = model.policy_gradient_loss_and_gradients(params, tokens, rewards)
    log_p = -model.token_nll(params, tokens)
    assert loss == pytest.approx(-np.sum(log_p * rewards), rel=1e-12)
    centred, _ = model.policy_gradient_loss_and_gradients(params, tokens, rewards, baseline="mean")
    assert centred == pytest.approx(-np.sum(log_p * (rewards - rewards.mean(axis=0))), rel=1e-12)


@given(lstm_cases())
def test_numpy_and_numba_twins_agree(case):
    params, tokens, weights = case
    loss_numpy, grads_numpy = model.weighted_nll_and_gradients(params, tokens, weights, backend="numpy")
    loss_numba, grads_numba = model.weighted_nll_and_gradients(params, tokens, weights, backend="numba")
    assert loss_numba == pytest.approx(loss_numpy, rel=1e-13, abs=1e-14)
    for name in model.PARAM_NAMES:
        np.testing.assert_allclose(grads_numba[name], grads_numpy[name], rtol=1e-12, atol=1e-14)


def test_gate_kernels_agree_in_float32(rng):
    z = rng.standard_normal((5, 12)).astype(np.float32) * 3
    c_prev = rng.standard_normal((5, 3)).astype(np.float32)
    outputs = {}
    for backend in ("numpy", "numba"):
        forward, backward = kernels.gate_kernels(backend)
        gates, c, tanh_c, h = (np.empty((5, 12), np.float32),) + tuple(np.empty((5, 3), np.float32) for _ in range(3))
        forward(z, c_prev, gates, c, tanh_c, h)
        dc, dz = np.ones((5, 3), np.float32), np.empty((5, 12), np.float32)
        backward(np.full((5, 3), 0.5, np.float32), dc, gates, c_prev, tanh_c, dz)
        outputs[backend] = (gates, c, h, dz, dc)
    for ours, reference in zip(outputs["numba"], outputs["numpy"]):
        np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6)


def test_sampled_sequences_follow_the_model(rng):
    """Two-token vocabulary: the fraction of 1s after the start token is the model's p(y_0 = 1)."""
    params = model.oracle_lstm(rng, 2, 2, 2)
    tokens = model.sample(params, np.random.default_rng(1), 40000, 1)
    p_one = np.exp(-model.token_nll(params, np.ones((1, 1), dtype=np.int64)))[0, 0]
    assert abs(tokens.mean() - p_one) < 4 * np.sqrt(p_one * (1 - p_one) / 40000)


def test_a_fixed_seed_gives_identical_samples(rng):
    params = model.oracle_lstm(rng, 20, 4, 5)
    first = model.sample(params, np.random.default_rng(7), 50, 6, batch_size=16)
    again = model.sample(params, np.random.default_rng(7), 50, 6, batch_size=16)
    other = model.sample(params, np.random.default_rng(8), 50, 6, batch_size=16)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.dtype == np.int64 and first.shape == (50, 6) and first.min() >= 0 and first.max() < 20


def test_mean_nll_is_the_mean_of_the_per_token_nll(rng):
    params = model.oracle_lstm(rng, 9, 3, 4)
    tokens = rng.integers(0, 9, (11, 5))
    per_token = model.token_nll(params, tokens, batch_size=4)
    assert model.mean_nll(params, tokens) == pytest.approx(per_token.sum() / tokens.size, rel=1e-14)
    # the first token's NLL depends on nothing but the start state: log-softmax of Wo·h_0 + bo
    z = params["emb"][0] @ params["W"] + params["b"]
    H = 4
    i, f, o, g = 1 / (1 + np.exp(-z[:H])), 1 / (1 + np.exp(-z[H:2 * H])), 1 / (1 + np.exp(-z[2 * H:3 * H])), np.tanh(z[3 * H:])
    logits = (o * np.tanh(i * g)) @ params["Wo"] + params["bo"]
    log_p = logits - np.log(np.exp(logits).sum())
    np.testing.assert_allclose(per_token[:, 0], -log_p[tokens[:, 0]], rtol=1e-12)


def test_clip_by_global_norm_scales_only_above_the_bound():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert model.clip_by_global_norm(grads, 10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(grads["a"], [3.0, 0.0])
    assert model.clip_by_global_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(np.sqrt(grads["a"] @ grads["a"] + grads["b"][0, 0] ** 2), 1.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])


def test_mle_steps_lower_the_training_nll_in_float32(rng):
    oracle = model.oracle_lstm(rng, 30, 8, 8)
    data = model.sample(oracle, rng, 256, 8)
    params = model.generator_lstm(rng, 30, 8, 8, dtype=np.float32)
    before = model.mean_nll(params, data)
    optimiser = Adam(lr=0.01)
    for _ in range(30):
        model.train_step(params, optimiser, lambda p: model.mean_nll_and_gradients(p, data))
    assert all(params[k].dtype == np.float32 for k in model.PARAM_NAMES)
    assert model.mean_nll(params, data) < before - 0.3


def test_seqgan_pickle_layout_round_trips(rng, tmp_path):
    params = model.oracle_lstm(rng, 11, 3, 5)
    path = tmp_path / "target_params_py3.pkl"
    model.save_seqgan_oracle(params, path)
    with open(path, "rb") as handle:
        raw = pickle.load(handle)
    assert [a.shape for a in raw] == [(11, 3)] + [(3, 5), (5, 5), (5,)] * 4 + [(5, 11), (11,)]
    np.testing.assert_array_equal(raw[4], params["W"][:, 5:10].astype(np.float32))  # Wf: the second gate
    loaded = model.load_seqgan_oracle(path)
    for name in model.PARAM_NAMES:
        np.testing.assert_array_equal(loaded[name], params[name].astype(np.float32).astype(np.float64))


@pytest.mark.parametrize("arrays, message", [
    (lambda raw: raw[:14], "must be a list of 15 arrays"),
    (lambda raw: {"emb": raw[0]}, "must be a list of 15 arrays"),
    (lambda raw: raw[:4] + [raw[4][:, :2]] + raw[5:], r"\[4\] \(Wf\) must have shape \(3, 5\)"),
    (lambda raw: raw[:13] + [raw[13].T] + raw[14:], r"\[13\] \(Wo\) must have shape"),
])
def test_a_pickle_with_wrong_arrays_is_refused(rng, tmp_path, arrays, message):
    raw = model.seqgan_arrays(model.oracle_lstm(rng, 11, 3, 5))
    path = tmp_path / "bad.pkl"
    with open(path, "wb") as handle:
        pickle.dump(arrays(raw), handle)
    with pytest.raises(ValueError, match=message):
        model.load_seqgan_oracle(path)


def test_bad_input_is_refused_with_the_parameter_named(rng):
    params = model.oracle_lstm(rng, 5, 2, 3)
    good = np.zeros((2, 3), dtype=np.int64)
    with pytest.raises(ValueError, match=r"tokens must hold token ids in 0 \.\. 4"):
        model.mean_nll(params, good + 5)
    with pytest.raises(ValueError, match="tokens must hold token ids"):
        model.mean_nll(params, good - 1)
    with pytest.raises(TypeError, match="tokens must hold integer token ids; got dtype float64"):
        model.mean_nll(params, good.astype(float))
    with pytest.raises(ValueError, match=r"rewards must have shape \(n, T\) = \(2, 3\)"):
        model.policy_gradient_loss_and_gradients(params, good, np.ones((2, 4)))
    with pytest.raises(ValueError, match="vocab_size must be >= 2"):
        model.oracle_lstm(rng, 1, 2, 3)
    with pytest.raises(ValueError, match="length must be >= 1"):
        model.sample(params, rng, 4, 0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.sample(params, rng, 4, 2, temperature=0.0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator or an int seed"):
        model.sample(params, "3", 4, 2)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        model.generator_lstm(rng, 5, 2, 3, dtype=None)
    with pytest.raises(ValueError, match="dtype must be one of 'float32', 'float64'"):
        model.generator_lstm(rng, 5, 2, 3, dtype="float16")
    assert model.generator_lstm(rng, 5, 2, 3, dtype=np.float32)["W"].dtype == np.float32
    with pytest.raises(TypeError, match="optimiser must be a refimpl.core.optim.Optimizer"):
        model.train_step(params, None, lambda p: model.mean_nll_and_gradients(p, good))
    # an int seeds a new Generator (refimpl.core.validate.check_rng)
    np.testing.assert_array_equal(model.sample(params, 3, 4, 2), model.sample(params, np.random.default_rng(3), 4, 2))
    with pytest.raises(ValueError, match=r"params\['Wo'\] must have shape \(3, 5\)"):
        model.mean_nll({**params, "Wo": params["Wo"][:, :4]}, good)
    with pytest.raises(ValueError, match=r"params lacks the array\(s\) \['bo'\]"):
        model.mean_nll({k: v for k, v in params.items() if k != "bo"}, good)
    with pytest.raises(ValueError, match="baseline must be one of"):
        model.policy_gradient_loss_and_gradients(params, good, np.ones((2, 3)), baseline="ema")
