"""SeqGAN step by step: an LSTM oracle, MLE pretraining, a plastic discriminator, policy-gradient steps.

    python examples/seqgan.py            # V = 500, T = 20; figure in figures/examples/seqgan.png
    python examples/seqgan.py --smoke    # V = 60, T = 8, seconds
    NUMBA_DISABLE_JIT=1 python -m pdb examples/seqgan.py --smoke   # step into the gate kernel
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from refimpl.core.optim import Adam
from refimpl.seqgan import discriminator as D
from refimpl.seqgan import measure, model, training

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--smoke", action="store_true", help="smallest setting")
parser.add_argument("--out", type=Path, default=Path("figures/examples"))
args = parser.parse_args()
V, T, width, epochs, iterations = (60, 8, 16, 4, 3) if args.smoke else (500, 20, 32, 10, 10)
rng = np.random.default_rng(0)

# 1. The oracle: an LSTM with N(0, 1) parameters; its samples are the "real" data, its entropy rate the floor.
oracle = model.oracle_lstm(rng, V, width, width)
train, held_out = model.sample(oracle, rng, 2000, T), model.sample(oracle, rng, 500, T)
entropy = measure.entropy_rate(oracle, rng, 2000, T)
unigram = measure.unigram_baseline(oracle, train, rng, 2000)
print(f"oracle entropy rate {entropy:.3f} nats/token; unigram baseline {unigram:.3f}")

# 2. MLE pretraining of the generator (N(0, 0.1²) init, Adam 0.01, global-norm clipping 5).
generator = model.generator_lstm(rng, V, width, width)
optimiser, curve = Adam(lr=0.01), []
for epoch in range(epochs):
    training.mle_epoch(generator, optimiser, train, rng)
    curve.append(measure.nll_oracle(oracle, model.sample(generator, rng, 1000, T)))
    print(f"MLE epoch {epoch + 1}: NLL_oracle {curve[-1]:.3f}, NLL_test {measure.nll_test(generator, held_out):.3f}")

# 3. A discriminator whose softmax is plastic: w + α ⊙ Hebb, the trace learning within each minibatch. Each D
#    round sees fresh oracle samples as positives (on the fixed training set it memorises the positives).
config = D.DiscriminatorConfig(embedding_dim=32, filter_sizes=(1, 2, 3, 4, 5), filter_counts=(48,) * 5,
                               output="plastic", rule="hebb", keep_prob=1.0)
critic = D.Discriminator(D.init_discriminator(rng, V, config), config, Adam(lr=3e-3), backend="numpy")
for _ in range(3 if args.smoke else 10):
    training.discriminator_round(critic, generator, model.sample(oracle, rng, 1000, T), rng, n_samples=1000, epochs=1)
fake = model.sample(generator, rng, 500, T)
print(f"D accuracy on held-out real vs fresh samples: {D.accuracy(critic.params, config, held_out, fake):.3f} "
      f"(likelihood-ratio classifier: {measure.likelihood_ratio_accuracy(oracle, generator, held_out, fake):.3f})")

# 4. Adversarial iterations: rewards from 4 rollouts per prefix, one PG step, one D round.
pg_optimiser = Adam(lr=0.01)
for iteration in range(iterations):
    loss, reward = training.policy_gradient_step(generator, pg_optimiser, generator, critic.real_probability, rng,
                                                 length=T, n_rollouts=4)
    training.discriminator_round(critic, generator, model.sample(oracle, rng, 256, T), rng, n_samples=256, epochs=1)
    curve.append(measure.nll_oracle(oracle, model.sample(generator, rng, 1000, T)))
    print(f"iteration {iteration + 1}: mean reward {reward:.3f}, NLL_oracle {curve[-1]:.3f}")

figure, axis = plt.subplots(figsize=(6, 4))
axis.plot(range(1, len(curve) + 1), curve, marker="o", label="generator")
axis.axhline(entropy, color="black", ls="--", label="oracle entropy rate")
axis.axhline(unigram, color="grey", ls=":", label="unigram baseline")
axis.axvline(epochs + 0.5, color="grey", lw=0.8)
axis.set(xlabel="MLE epoch, then adversarial iteration", ylabel="NLL_oracle (nats/token)",
         title=f"SeqGAN with a plastic discriminator, V = {V}, T = {T}")
axis.legend()
args.out.mkdir(parents=True, exist_ok=True)
figure.savefig(args.out / "seqgan.png", dpi=150, bbox_inches="tight")
print(f"wrote {args.out / 'seqgan.png'}")
