"""Bad-input cases of :mod:`refimpl.seqgan` (see :mod:`tests.api.probe`).

A vocabulary of 5 tokens, sequences of 4, an LSTM of 3 × 4 and a discriminator of two tiny filters with the
plastic output, so that every valid call runs in milliseconds. ``backend="numpy"`` keeps the examples
independent of numba's caches.
"""

import numpy as np

from refimpl.core.optim import Adam
from refimpl.seqgan import discriminator as D
from refimpl.seqgan import measure, model, plastic, training
from tests.api.probe import Case, qualified_name

V, E, H, T = 5, 3, 4, 4
SIZES = {"vocab_size": V, "embedding_dim": E, "hidden_dim": H}
# T + 1 tokens per sequence is still a valid batch of sequences (every filter still fits)
ANY_LENGTH = ("wrong size",)
TRACE = ("none",)  # None starts the plastic layer's episode from a zero trace
CONFIG = D.DiscriminatorConfig(embedding_dim=3, filter_sizes=(1, 2), filter_counts=(2, 2), output="plastic")


def _lstm(seed=1):
    return model.generator_lstm(np.random.default_rng(seed), **SIZES)


def _tokens(rng, n=6):
    return rng.integers(0, V, (n, T))


def _critic_params():
    return D.init_discriminator(np.random.default_rng(2), V, CONFIG)


def _critic():
    return D.Discriminator(_critic_params(), CONFIG, Adam(lr=0.01), backend="numpy")


def _score(tokens):
    return np.full(len(tokens), 0.5)


def _nll_example(rng, **extra):
    return {"params": _lstm(), "tokens": _tokens(rng), **extra, "backend": "numpy"}


MODEL = [
    Case(model.lstm_shapes, lambda rng: dict(SIZES)),
    Case(model.init_lstm, lambda rng: {"rng": rng, **SIZES, "std": 0.5, "dtype": "float32"}),
    Case(model.oracle_lstm, lambda rng: {"rng": rng, **SIZES}),
    Case(model.generator_lstm, lambda rng: {"rng": rng, **SIZES, "dtype": "float64"}),
    Case(model.weighted_nll_and_gradients, lambda rng: _nll_example(rng, weights=rng.random((6, T)))),
    Case(model.mean_nll_and_gradients, _nll_example, accepts={"tokens": ANY_LENGTH}),
    Case(model.policy_gradient_loss_and_gradients,
         lambda rng: _nll_example(rng, rewards=rng.random((6, T)), baseline="mean")),
    Case(model.token_nll, lambda rng: _nll_example(rng, batch_size=4), accepts={"tokens": ANY_LENGTH}),
    Case(model.mean_nll, lambda rng: _nll_example(rng, batch_size=4), accepts={"tokens": ANY_LENGTH}),
    Case(model.sample, lambda rng: {"params": _lstm(), "rng": rng, "n": 3, "length": T, "temperature": 0.8,
                                    "batch_size": 2, "backend": "numpy"}),
    Case(model.clip_by_global_norm, lambda rng: {"grads": _lstm(), "max_norm": 1.0}),
    Case(model.train_step, lambda rng: {"params": _lstm(), "optimiser": Adam(lr=0.01), "max_norm": 5.0,
                                        "loss_and_gradients": lambda p: model.mean_nll_and_gradients(
                                            p, _tokens(np.random.default_rng(3)), backend="numpy")}),
    Case(model.seqgan_arrays, lambda rng: {"params": _lstm()}),
    Case(model.from_seqgan_arrays, lambda rng: {"arrays": model.seqgan_arrays(_lstm())}),
]

MEASURE = [
    Case(measure.nll_oracle, lambda rng: {"oracle": _lstm(), "samples": _tokens(rng)},
         accepts={"samples": ANY_LENGTH}),
    Case(measure.nll_test, lambda rng: {"generator": _lstm(), "held_out": _tokens(rng)},
         accepts={"held_out": ANY_LENGTH}),
    Case(measure.entropy_rate, lambda rng: {"oracle": _lstm(), "rng": rng, "n": 3, "length": T,
                                            "temperature": 0.9}),
    Case(measure.unigram_frequencies, lambda rng: {"train": _tokens(rng), "vocab_size": V},
         accepts={"train": ANY_LENGTH}),
    Case(measure.unigram_baseline, lambda rng: {"oracle": _lstm(), "train": _tokens(rng), "rng": rng, "n": 3},
         accepts={"train": ANY_LENGTH}),
    Case(measure.uniform_baseline, lambda rng: {"oracle": _lstm(), "rng": rng, "n": 3, "length": T}),
    Case(measure.unique_fraction, lambda rng: {"samples": _tokens(rng)}, accepts={"samples": ANY_LENGTH}),
    Case(measure.copied_fraction, lambda rng: {"samples": _tokens(rng), "train": _tokens(rng)}),
    Case(measure.distinct_n, lambda rng: {"samples": _tokens(rng), "n": 2}, accepts={"samples": ANY_LENGTH}),
    Case(measure.likelihood_ratio_accuracy, lambda rng: {"oracle": _lstm(2), "generator": _lstm(1),
                                                         "real": _tokens(rng), "fake": _tokens(rng)},
         accepts={"real": ANY_LENGTH}),  # fake must match real's length; real's own length is free
    Case(measure.evaluate, lambda rng: {"generator": _lstm(1), "oracle": _lstm(2), "train": _tokens(rng),
                                        "held_out": _tokens(rng), "rng": rng, "n": 3, "temperature": 1.0}),
]


def _plastic_example(rng):
    return {"x": rng.standard_normal((3, 4)), "w": rng.standard_normal((4, 2)), "b": rng.standard_normal(2),
            "alpha": rng.standard_normal((4, 2)), "eta": 0.3, "rule": "oja", "clip": 2.0,
            "trace": rng.standard_normal((4, 2)), "backend": "numpy"}


def _plastic_backward_example(rng):
    logits, _, cache = plastic.plastic_softmax_forward(**_plastic_example(rng))
    return {"dlogits": rng.standard_normal(logits.shape), "cache": cache}


PLASTIC = [
    Case(plastic.plastic_softmax_forward, _plastic_example, accepts={"trace": TRACE}),
    Case(plastic.plastic_softmax_backward, _plastic_backward_example, skip=("cache",)),  # what forward returned
]


def _forward_example(rng):
    return {"params": _critic_params(), "config": CONFIG, "tokens": _tokens(rng), "rng": rng,
            "trace": rng.standard_normal((4, 2)), "backend": "numpy"}


def _backward_example(rng):
    example = _forward_example(rng)
    logits, _, cache = D.forward(**example)
    return {"params": example["params"], "config": CONFIG, "dlogits": rng.standard_normal(logits.shape),
            "cache": cache}


DISCRIMINATOR = [
    Case(D.DiscriminatorConfig, lambda rng: {"embedding_dim": 3, "filter_sizes": (1, 2), "filter_counts": (2, 2),
                                             "highway_gate_bias": -1.0, "keep_prob": 0.75, "l2": 0.2,
                                             "output": "plastic", "rule": "clip", "clip": 2.0, "alpha_init": 0.01,
                                             "eta_init": 0.01},
         accepts={"highway_gate_bias": ("negative",)}),  # any real offset of the gate
    Case(D.init_discriminator, lambda rng: {"rng": rng, "vocab_size": V, "config": CONFIG}),
    Case(D.parameter_shapes, lambda rng: {"vocab_size": V, "config": CONFIG}),
    Case(D.forward, _forward_example, accepts={"tokens": ANY_LENGTH, "trace": TRACE}),
    Case(D.backward, _backward_example, skip=("cache",)),  # what forward returned
    Case(D.loss_and_gradients, lambda rng: {**_forward_example(rng), "labels": rng.integers(0, 2, 6)},
         accepts={"tokens": ANY_LENGTH, "trace": TRACE}),
    Case(D.real_probability, lambda rng: {"params": _critic_params(), "config": CONFIG, "tokens": _tokens(rng),
                                          "batch_size": 4, "trace": rng.standard_normal((4, 2)),
                                          "backend": "numpy"},
         accepts={"tokens": ANY_LENGTH, "trace": TRACE}),
    # real and fake share scoring batches: a length that differs from the other's is refused
    Case(D.accuracy, lambda rng: {"params": _critic_params(), "config": CONFIG, "real": _tokens(rng),
                                  "fake": _tokens(rng), "batch_size": 4, "backend": "numpy"}),
    Case(D.mixed_order, lambda rng: {"n_real": 5, "n_fake": 3}),
    Case(D.Discriminator, lambda rng: {"params": _critic_params(), "config": CONFIG, "optimiser": Adam(lr=0.01),
                                       "backend": "numpy"}),
    Case(D.Discriminator.train_epochs, lambda rng: {"rng": rng, "positives": _tokens(rng), "negatives": _tokens(rng),
                                                    "epochs": 1, "batch_size": 4},
         call=lambda **kwargs: _critic().train_epochs(**kwargs)),
    Case(D.Discriminator.step, lambda rng: {"rng": rng, "tokens": _tokens(rng), "labels": rng.integers(0, 2, 6)},
         call=lambda **kwargs: _critic().step(**kwargs), accepts={"tokens": ANY_LENGTH}),
    Case(D.Discriminator.real_probability, lambda rng: {"tokens": _tokens(rng), "batch_size": 4},
         call=lambda **kwargs: _critic().real_probability(**kwargs), accepts={"tokens": ANY_LENGTH}),
]

TRAINING = [
    Case(training.rollout_rewards, lambda rng: {"policy": _lstm(), "score": _score, "tokens": _tokens(rng),
                                                "rng": rng, "n_rollouts": 2, "backend": "numpy"},
         accepts={"tokens": ANY_LENGTH}),
    Case(training.ema_update, lambda rng: {"rollout_policy": _lstm(1), "generator": _lstm(2), "rate": 0.8}),
    Case(training.mle_epoch, lambda rng: {"params": _lstm(), "optimiser": Adam(lr=0.01), "data": _tokens(rng),
                                          "rng": rng, "batch_size": 3, "max_norm": 5.0, "backend": "numpy"},
         accepts={"data": ANY_LENGTH}),
    Case(training.policy_gradient_step, lambda rng: {"generator": _lstm(1), "optimiser": Adam(lr=0.01),
                                                     "rollout_policy": _lstm(2), "score": _score, "rng": rng,
                                                     "batch_size": 3, "length": T, "n_rollouts": 2,
                                                     "baseline": "mean", "max_norm": 5.0, "backend": "numpy"}),
    Case(training.discriminator_round, lambda rng: {"critic": _critic(), "generator": _lstm(), "train": _tokens(rng),
                                                    "rng": rng, "n_samples": 4, "epochs": 1, "batch_size": 4,
                                                    "backend": "numpy"},
         accepts={"train": ANY_LENGTH}),
]

PACKAGES = {"refimpl.seqgan": [], "refimpl.seqgan.model": MODEL, "refimpl.seqgan.measure": MEASURE,
            "refimpl.seqgan.plastic": PLASTIC, "refimpl.seqgan.discriminator": DISCRIMINATOR,
            "refimpl.seqgan.training": TRAINING}

EXEMPT = {
    **{qualified_name(f): "a validator: its messages are tested in tests/seqgan"
       for f in (model.check_lstm, model.check_tokens, model.check_backend, model.check_optimiser,
                 plastic.check_plastic_layer, D.check_config, D.check_discriminator)},
    qualified_name(model.load_seqgan_oracle): "takes a path; bad files are tested in tests/seqgan/test_model.py",
    qualified_name(model.save_seqgan_oracle): "takes a path; the round trip is tested in tests/seqgan/test_model.py",
}
