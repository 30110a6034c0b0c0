"""Experiment ``seqgan``: SeqGAN with a plain and a Hebbian-plastic discriminator on a synthetic LSTM oracle, scored
beside the oracle's entropy rate, the baselines and the diversity of the samples (seed 002's Table 1, measured).

Tiers (every count a setting, :class:`SeqGANSettings`):

- ``TINY`` (tests, seconds): V = 100, T = 10, E = H = 16, one seed, a few adversarial iterations;
- ``--quick`` (minutes): V = 500, T = 20, E = H = 32, 3 seeds, the small discriminator
  (filters 1–5, 10, 15, 20 × 25/20, highway 190), 20 adversarial iterations with 4 rollouts;
- full: SeqGAN's sizes V = 5000, T = 20, E = H = 32 and its 9,984 training sequences, one seed, with a lighter
  schedule than the paper's, sized to finish in about 45 minutes on this 2-core machine while other jobs share
  it: 15 MLE epochs (evaluation every 5); the small discriminator; D pretraining 5 rounds × 1 epoch over
  9,984 + 9,984 sequences; 12 adversarial iterations, each 1 generator step with 8 rollouts and 1 D round of
  1 epoch over 1,024 + 1,024 sequences (Texygen-like: a few minibatches per round instead of SeqGAN's 5 × 3
  epochs over 19,968); evaluation on 5,000 samples (NLL_test on 2,000 held-out sequences) every 6
  iterations; the oracle at τ = 0.94 only. Budget, from unit costs measured at V = 5000 on the shared
  machine (load ≈ 4): sampling 9,984 sequences ≈ 21 s, an MLE epoch ≈ 15 s, an evaluation ≈ 13 s, a D
  pretraining round ≈ 45–55 s (fresh positives and negatives, one epoch), an adversarial iteration ≈ 15 s
  (the rollouts' sampling dominates; plastic slower) → reference lines ≈ 1 min, MLE ≈ 5 min, each of the
  3 variants ≈ 8 min: ≈ 30 min at load 4. Measured at load ≈ 10 with 2 pretraining rounds: 32.6 min
  (reference lines 0.8 min, MLE 8 min, each variant 8 min, a pretraining round ≈ 1 min), with D still at
  chance (held-out accuracy 0.50–0.53) after pretraining, hence the 5 rounds: a run took 37.1 min at load
  ≈ 10 (reference lines 1.4 min, MLE 5.5 min, the variants 11.6, 9.6 and 8.9 min); the committed rerun (the same
  scores, D accuracies in mixed batches) 20.3 min beside one other job (its ``timings`` block). A first
  sizing (20 MLE epochs, 3 pretraining rounds, 20 iterations with 16 rollouts, 9,984 evaluation samples:
  ≈ 47 min at load 4) ran an MLE epoch in 40 s instead of 15 s at load 10 and was stopped. The adversarial phase is 6 % of SeqGAN's 200 iterations.
- :data:`FAITHFUL` (documented, ≈ 1 day on 2 cores, run with ``settings=FAITHFUL``): SeqGAN master's schedule —
  120 MLE epochs, the full discriminator (12 filter widths, 1,720 filters), 50 × 3 D pretraining epochs over
  all 19,968 sequences, 200 iterations of 1 G step (16 rollouts) and 5 × 3 D epochs.

The discriminator schedule (every tier but :data:`FAITHFUL`): Adam 3e-3 and **fresh oracle samples as the
positives of every D round** (``d_positives = "oracle"``, as LeakGAN's synthetic-data code does), SeqGAN's
dropout 0.75 and L2 0.2 kept. Measured at the quick tier, SeqGAN's own schedule does not train here: with
Adam 1e-4 the few hundred pretraining steps a tier affords (SeqGAN: ≈ 47,000) leave D at chance, and with a
larger rate and the fixed 5,000 training sequences as positives D memorises them (training accuracy 0.99,
held-out accuracy 0.52, the held-out real scored ever more fake) — its widest filters span the whole sequence.
With fresh positives the held-out accuracy rises slowly (≈ 0.6 after 12 rounds), far below the
likelihood-ratio classifier's (≈ 0.95–1.0, recorded as ``d_accuracy.<variant>.bayes``): this CNN's filters add
the scores of the tokens they span, so an interaction between neighbouring tokens costs many filters.

The oracle is an N(0, 1) LSTM of seed ``oracle_seed`` (SeqGAN's own pickle can be loaded with
:func:`refimpl.seqgan.model.load_seqgan_oracle`; it is not bundled). Every generator is scored by
:func:`refimpl.seqgan.measure.evaluate` on ``n_eval`` samples.
"""

import copy
import time
from dataclasses import dataclass, replace

import numpy as np
from threadpoolctl import threadpool_limits

from refimpl.core.optim import Adam
from refimpl.core.validate import check_choice, check_int
from refimpl.experiments import Claim, atomic_write, register_experiment
from refimpl.seqgan import discriminator as D
from refimpl.seqgan import measure, model, training

SMALL_DISCRIMINATOR = D.DiscriminatorConfig(embedding_dim=32, filter_sizes=(1, 2, 3, 4, 5, 10, 15, 20),
                                            filter_counts=(25, 25, 25, 25, 25, 25, 20, 20))
VARIANTS = {"seqgan": {"output": "softmax"}, "hebb": {"output": "plastic", "rule": "hebb"},
            "oja": {"output": "plastic", "rule": "oja"}}
SCORES = ("nll_oracle", "nll_test", "unique", "copied", "distinct_2", "distinct_3", "distinct_4")


@dataclass(frozen=True)
class SeqGANSettings:
    vocab_size: int = 5000
    length: int = 20
    embedding_dim: int = 32
    hidden_dim: int = 32
    oracle_seed: int = 0
    n_train: int = 9984  # SeqGAN: 156 batches of 64
    n_test: int = 2000
    n_eval: int = 5000  # samples behind every NLL_oracle (SeqGAN: 9,984)
    seeds: int = 1
    batch_size: int = 64
    mle_epochs: int = 15
    g_lr: float = 0.01
    max_norm: float = 5.0
    discriminator: D.DiscriminatorConfig = SMALL_DISCRIMINATOR
    plastic_keep_prob: float = 1.0  # the seed omits dropout in the plastic discriminator
    d_lr: float = 3e-3  # SeqGAN: 1e-4 over ≈ 47,000 pretraining steps; here a few thousand (see the docstring)
    d_positives: str = "oracle"  # fresh oracle samples every D round; "train": the training set (SeqGAN)
    d_pretrain_rounds: int = 5
    d_pretrain_samples: int = 9984
    d_pretrain_epochs: int = 1
    adversarial_iterations: int = 12
    g_steps: int = 1
    n_rollouts: int = 8  # SeqGAN: 16
    rollout_policy: str = "current"  # or "ema" (rate rollout_rate)
    rollout_rate: float = 0.8
    pg_baseline: str = "none"
    d_rounds: int = 1
    d_samples: int = 1024
    d_epochs: int = 1
    eval_every_epochs: int = 5
    eval_every_iterations: int = 6
    variants: tuple = ("seqgan", "hebb", "oja")
    temperatures: tuple = (0.94,)  # the oracle sampled cooler than itself
    d_accuracy_samples: int = 1000
    backend: str = "numba"  # LSTM gate pass
    d_backend: str = "numpy"  # discriminator convolutions (numba's parallel loops lose on a busy 2-core machine)
    blas_threads: int = 1


QUICK = SeqGANSettings(vocab_size=500, n_train=5000, n_test=2000, n_eval=2000, seeds=3, mle_epochs=15,
                       temperatures=(0.9, 0.94, 0.97),
                       d_pretrain_rounds=12, d_pretrain_samples=2000, d_pretrain_epochs=1, adversarial_iterations=20,
                       n_rollouts=4, d_samples=512, eval_every_epochs=5, eval_every_iterations=5)
# tiny: narrow filters, 48 each (at 16 per width up to 10, D reached only ≈ 0.6 after 20 rounds, 0.7 after 45)
TINY = SeqGANSettings(vocab_size=100, length=10, embedding_dim=16, hidden_dim=16, n_train=2000, n_test=500,
                      n_eval=1000, mle_epochs=10, d_pretrain_rounds=30, d_pretrain_samples=2000,
                      d_pretrain_epochs=1, adversarial_iterations=3, n_rollouts=4, d_samples=256,
                      eval_every_epochs=5, eval_every_iterations=3, variants=("seqgan", "hebb"),
                      temperatures=(0.94,), d_accuracy_samples=500,
                      discriminator=D.DiscriminatorConfig(embedding_dim=32, filter_sizes=(1, 2, 3, 4, 5),
                                                          filter_counts=(48, 48, 48, 48, 48)))
FAITHFUL = SeqGANSettings(n_test=5000, n_eval=9984, n_rollouts=16, mle_epochs=120,
                          discriminator=D.DiscriminatorConfig(), d_lr=1e-4, d_positives="train",
                          d_pretrain_rounds=50, d_pretrain_epochs=3, adversarial_iterations=200, d_rounds=5,
                          d_samples=9984, d_epochs=3, eval_every_iterations=5, temperatures=(0.9, 0.94, 0.97))

_SEED_DOCUMENT = "Ravichandran & Deepshikha (seed document 002), Table 1 and abstract"
_YU = "Yu et al. 2017, SeqGAN, Table 1 (synthetic data)"
CLAIMS = [
    Claim("table.mle.nll_oracle.mean", "MLE generator: NLL_oracle = 9.038 on SeqGAN's V = 5000, T = 20 oracle",
          f"{_YU}; copied into the seed document's Table 1", expected=(8.938, 9.138)),
    Claim("table.seqgan.nll_oracle.mean", "SeqGAN: NLL_oracle = 8.736", f"{_YU}; seed document, Table 1",
          expected=(8.636, 8.836)),
    Claim("table.hebb.nll_oracle.mean", "SeqGAN with a Hebbian plastic softmax in the discriminator: "
          "NLL_oracle = 5.476", _SEED_DOCUMENT, expected=(5.376, 5.576)),
    Claim("gain.hebb_vs_seqgan_percent", "plasticity lowers NLL_oracle by 37 % relative to SeqGAN (8.736 → 5.476)",
          _SEED_DOCUMENT, expected=(32.3, 42.3)),
    Claim("gain.seqgan_vs_mle", "SeqGAN lowers NLL_oracle by 0.302 nats relative to MLE (9.038 → 8.736)",
          _YU, expected=(0.15, 0.45)),
]


@register_experiment("seqgan", quick=QUICK, full=SeqGANSettings(), claims=CLAIMS)
def seqgan_experiment(run, settings):
    """SeqGAN with a plain and a Hebbian-plastic discriminator: NLL_oracle beside entropy, baselines and diversity."""
    from refimpl.seqgan import figures

    check_settings(settings)
    with threadpool_limits(settings.blas_threads):
        start = time.perf_counter()
        oracle, train, held_out = _oracle_and_data(run, settings)
        run.record_timing("reference_lines", time.perf_counter() - start)
        per_seed = [_train_seed(run, settings, oracle, train, held_out, k) for k in range(settings.seeds)]
    _record_table(run, settings, per_seed)
    curves = [row for seed in per_seed for row in seed["curves"]]
    run.write_metrics({key: [row[key] for row in curves] for key in curves[0]})
    atomic_write(run.folder / "table.md", table_markdown(run.results, settings))
    run.save_figure(figures.nll_curves(curves, run.lookup("oracle.entropy_rate"), settings), "nll_curves")
    plastic = [name for name in settings.variants if VARIANTS[name]["output"] == "plastic"]
    if plastic:
        layer = per_seed[-1]["plastic_layers"][plastic[0]]
        run.save_figure(figures.plastic_heatmaps(layer["trace"], layer["alpha"], plastic[0]), "plastic_layer")


def check_settings(settings):
    """Refuse settings the loop cannot run, naming the field (counts < 1, unknown variants or options)."""
    for name in ("vocab_size", "length", "n_train", "n_test", "n_eval", "seeds", "batch_size", "n_rollouts",
                 "d_pretrain_samples", "d_samples", "eval_every_epochs", "eval_every_iterations", "blas_threads"):
        check_int(name, getattr(settings, name), minimum=1)
    for name in ("mle_epochs", "d_pretrain_rounds", "adversarial_iterations", "g_steps", "d_rounds"):
        check_int(name, getattr(settings, name), minimum=0)
    if settings.n_train < settings.batch_size:
        raise ValueError(f"n_train = {settings.n_train} must be at least batch_size = {settings.batch_size}")
    for name in settings.variants:
        check_choice("variants entry", name, tuple(VARIANTS))
    check_choice("rollout_policy", settings.rollout_policy, ("current", "ema"))
    check_choice("pg_baseline", settings.pg_baseline, ("none", "mean"))
    check_choice("d_positives", settings.d_positives, ("oracle", "train"))
    D.check_config(settings.discriminator, settings.length)
    return settings


def _oracle_and_data(run, settings):
    """The oracle, its training and held-out samples, and the reference lines (entropy, tempered, baselines)."""
    rng = np.random.default_rng(settings.oracle_seed)
    oracle = model.oracle_lstm(rng, settings.vocab_size, settings.embedding_dim, settings.hidden_dim)
    train = model.sample(oracle, rng, settings.n_train, settings.length, backend=settings.backend)
    held_out = model.sample(oracle, rng, settings.n_test, settings.length, backend=settings.backend)
    n, T = settings.n_eval, settings.length
    run.record("oracle.entropy_rate", measure.entropy_rate(oracle, run.rng, n, T))
    run.record("oracle.temperatures", list(settings.temperatures))
    run.record("oracle.tempered_nll_oracle", [measure.entropy_rate(oracle, run.rng, n, T, temperature=tau)
                                              for tau in settings.temperatures])
    run.record("baselines.uniform", measure.uniform_baseline(oracle, run.rng, n, T))
    run.record("baselines.unigram", measure.unigram_baseline(oracle, train, run.rng, n))
    return oracle, train, held_out


def _seed_rng(run, k):
    return np.random.default_rng(np.random.SeedSequence([run.seed, k]))


def _train_seed(run, settings, oracle, train, held_out, k):
    """MLE pretraining, then each adversarial variant from the same pretrained generator; scores and curves."""
    rng = _seed_rng(run, k)
    generator = model.generator_lstm(rng, settings.vocab_size, settings.embedding_dim, settings.hidden_dim)
    curves = []

    def checkpoint(params, name, phase, step):
        samples = model.sample(params, rng, settings.n_eval, settings.length, backend=settings.backend)
        curves.append({"seed": k, "generator": name, "phase": phase, "step": step,
                       "nll_oracle": measure.nll_oracle(oracle, samples),
                       "nll_test": measure.nll_test(params, held_out)})
        run.check_finite(step, k, nll_oracle=curves[-1]["nll_oracle"])

    optimiser = Adam(lr=settings.g_lr)
    start = time.perf_counter()
    checkpoint(generator, "mle", "mle", 0)
    for epoch in run.progress(range(1, settings.mle_epochs + 1), desc=f"seqgan seed {k}: MLE"):
        training.mle_epoch(generator, optimiser, train, rng, batch_size=settings.batch_size,
                           max_norm=settings.max_norm, backend=settings.backend)
        if epoch % settings.eval_every_epochs == 0 or epoch == settings.mle_epochs:
            checkpoint(generator, "mle", "mle", epoch)
    scores = {"mle": measure.evaluate(generator, oracle, train, held_out, rng, settings.n_eval)}
    run.record_timing(f"seed{k}.mle", time.perf_counter() - start)
    d_accuracy, plastic_layers = {}, {}
    for name in settings.variants:
        start = time.perf_counter()
        trained, critic, d_accuracy[name] = _adversarial(run, settings, copy.deepcopy(generator), oracle, train,
                                                         held_out, rng, name, checkpoint)
        scores[name] = measure.evaluate(trained, oracle, train, held_out, rng, settings.n_eval)
        if critic.config.output == "plastic":
            plastic_layers[name] = _plastic_state(critic, trained, held_out, rng, settings)
        run.record_timing(f"seed{k}.{name}", time.perf_counter() - start)
    return {"scores": scores, "curves": curves, "d_accuracy": d_accuracy, "plastic_layers": plastic_layers}


def _adversarial(run, settings, generator, oracle, train, held_out, rng, name, checkpoint):
    """D pretraining and the adversarial iterations of one variant; returns (generator, critic, D accuracies on
    held-out real against fresh samples: {"pretrained", "final"})."""
    config = replace(settings.discriminator, **VARIANTS[name])
    if config.output == "plastic":
        config = replace(config, keep_prob=settings.plastic_keep_prob)
    critic = D.Discriminator(D.init_discriminator(rng, settings.vocab_size, config), config,
                             Adam(lr=settings.d_lr), backend=settings.d_backend)

    def d_round(n_samples, epochs):
        positives = train if settings.d_positives == "train" else model.sample(
            oracle, rng, n_samples, settings.length, backend=settings.backend)
        training.discriminator_round(critic, generator, positives, rng, n_samples=n_samples, epochs=epochs,
                                     batch_size=settings.batch_size, backend=settings.backend)

    for _ in range(settings.d_pretrain_rounds):
        d_round(settings.d_pretrain_samples, settings.d_pretrain_epochs)
    accuracy = dict(zip(("pretrained", "bayes"), _d_accuracy(critic, generator, oracle, held_out, rng, settings)))
    optimiser = Adam(lr=settings.g_lr)
    rollout_policy = generator if settings.rollout_policy == "current" else copy.deepcopy(generator)
    for iteration in run.progress(range(1, settings.adversarial_iterations + 1), desc=f"seqgan: {name}"):
        for _ in range(settings.g_steps):
            training.policy_gradient_step(generator, optimiser, rollout_policy, critic.real_probability, rng,
                                          batch_size=settings.batch_size, length=settings.length,
                                          n_rollouts=settings.n_rollouts, baseline=settings.pg_baseline,
                                          max_norm=settings.max_norm, backend=settings.backend)
        if settings.rollout_policy == "ema":
            training.ema_update(rollout_policy, generator, settings.rollout_rate)
        for _ in range(settings.d_rounds):
            d_round(settings.d_samples, settings.d_epochs)
        if iteration % settings.eval_every_iterations == 0 or iteration == settings.adversarial_iterations:
            checkpoint(generator, name, "adversarial", iteration)
    accuracy["final"], accuracy["bayes_final"] = _d_accuracy(critic, generator, oracle, held_out, rng, settings)
    return generator, critic, accuracy


def _d_accuracy(critic, generator, oracle, held_out, rng, settings):
    """Held-out accuracy of the critic on the first ``d_accuracy_samples`` held-out oracle sequences against as
    many fresh samples of the generator (neither seen in training), and of the likelihood-ratio classifier on
    the same sequences (the ceiling)."""
    m = min(settings.d_accuracy_samples, len(held_out))
    fake = model.sample(generator, rng, m, settings.length, backend=settings.backend)
    return (D.accuracy(critic.params, critic.config, held_out[:m], fake, backend=settings.d_backend),
            measure.likelihood_ratio_accuracy(oracle, generator, held_out[:m], fake))


def _plastic_state(critic, generator, held_out, rng, settings):
    """α and the trace at the end of one scoring episode: half held-out real, half generated, interleaved."""
    half = settings.batch_size // 2
    fake = model.sample(generator, rng, half, settings.length, backend=settings.backend)
    episode = np.empty((2 * half, settings.length), dtype=np.int64)
    episode[0::2], episode[1::2] = held_out[:half], fake
    _, _, cache = D.forward(critic.params, critic.config, episode, trace=critic.trace if critic.config.carry_trace
                            else None, backend=settings.d_backend)
    return {"trace": cache["out"]["traces"][-1], "alpha": critic.params["alpha"].copy(),
            "eta": float(critic.params["eta"])}


def _record_table(run, settings, per_seed):
    """Mean ± sd over seeds of every score, the gains the claims compare, D accuracies and the plastic layers."""
    generators = ["mle", *settings.variants]
    for name in generators:
        for score in SCORES:
            values = [seed["scores"][name][score] for seed in per_seed if score in seed["scores"][name]]
            if values:
                run.record(f"table.{name}.{score}", {"mean": float(np.mean(values)), "sd": float(np.std(values)),
                                                     "values": values})
    mean = {name: run.lookup(f"table.{name}.nll_oracle.mean") for name in generators}
    if "seqgan" in mean:
        run.record("gain.seqgan_vs_mle", mean["mle"] - mean["seqgan"])
        for name in settings.variants:
            if name != "seqgan":
                run.record(f"gain.{name}_vs_seqgan_percent", 100.0 * (mean["seqgan"] - mean[name]) / mean["seqgan"])
    for name in generators:
        run.record(f"below_entropy.{name}", mean[name] - run.lookup("oracle.entropy_rate"))
    for name in settings.variants:
        for when in ("pretrained", "final", "bayes", "bayes_final"):
            values = [seed["d_accuracy"][name][when] for seed in per_seed]
            run.record(f"d_accuracy.{name}.{when}", {"mean": float(np.mean(values)), "sd": float(np.std(values)),
                                                     "values": values})
        layers = [seed["plastic_layers"][name] for seed in per_seed if name in seed["plastic_layers"]]
        if layers:
            run.record(f"plastic.{name}.eta", [layer["eta"] for layer in layers])
            run.record(f"plastic.{name}.alpha_abs_mean", [float(np.abs(layer["alpha"]).mean()) for layer in layers])
            run.record(f"plastic.{name}.trace_abs_max", [float(np.abs(layer["trace"]).max()) for layer in layers])


def table_markdown(results, settings):
    """Table 1 of the seed, measured: NLL_oracle, NLL_test and diversity, mean ± sd over seeds, with the lines."""
    head = "| generator | " + " | ".join(SCORES) + " |"
    lines = [f"NLL in nats per token; V = {settings.vocab_size}, T = {settings.length}, {settings.seeds} seed(s).\n",
             head, "|" + "---|" * (len(SCORES) + 1)]
    reference = {"uniform random": results["baselines"]["uniform"], "unigram": results["baselines"]["unigram"],
                 "oracle (entropy rate)": results["oracle"]["entropy_rate"]}
    reference.update({f"oracle at τ = {tau:g}": value for tau, value in
                      zip(results["oracle"]["temperatures"], results["oracle"]["tempered_nll_oracle"])})
    for name, value in reference.items():
        lines.append(f"| {name} | {value:.3f} |" + " |" * (len(SCORES) - 1))
    for name, row in results["table"].items():
        cells = [f"{row[s]['mean']:.3f} ± {row[s]['sd']:.3f}" if s in row else "—" for s in SCORES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
