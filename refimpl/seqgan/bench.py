"""``refimpl bench seqgan``: the generator's MLE epoch and the discriminator's forward and backward pass, ours
against torch CPU; the Monte-Carlo rollouts per second; the plastic softmax's episode, numba against our NumPy
reference.

SeqGAN's sizes: V = 5000, T = 20, E = H = 32, batch 64.

- MLE epoch: 9,984 sequences (156 batches), Adam 0.01, global-norm clipping 5; ours in float32 and float64,
  torch (``nn.LSTM`` + ``nn.Linear`` + cross-entropy + Adam + ``clip_grad_norm_``) in float32.
- discriminator: forward and backward (loss and every gradient, dropout 0.75, L2 0.2) of one batch of 64
  sequences through the experiment's small discriminator (filters 1–5, 10, 15, 20, 190 in all, highway 190),
  ours float64 with the NumPy and the numba convolutions, torch (``conv1d``, autograd) in float64 and float32.
- rollouts: the rewards of one batch of 64 generator samples by 16 rollouts (64 × 16 × 19 completions, each
  scored by the discriminator).
- plastic episode: forward and backward of the Hebbian softmax over an episode of 64 steps (d = 190, K = 2).

Each case at 1 and 2 threads (BLAS pinned with threadpoolctl, torch with ``set_num_threads``). The tokens are
uniform random: the cost does not depend on them. ``--quick`` times 640 sequences (10 batches) per MLE epoch
and every case once.
"""

import numpy as np
from threadpoolctl import threadpool_limits

from refimpl.bench import bench_row, register_bench, time_call, torch_available
from refimpl.core.optim import Adam
from refimpl.seqgan import discriminator as D
from refimpl.seqgan import model, plastic, training
from refimpl.seqgan.experiment import SMALL_DISCRIMINATOR as SMALL

V, T, E, H, BATCH = 5000, 20, 32, 32, 64
QUICK_SEQUENCES = 640  # --quick: 10 batches, timed once
N_ROLLOUTS = 16


def _ours(data, dtype):
    params = model.generator_lstm(np.random.default_rng(0), V, E, H, dtype=dtype)
    optimiser, rng = Adam(lr=0.01), np.random.default_rng(1)
    return lambda: training.mle_epoch(params, optimiser, data, rng, batch_size=BATCH, max_norm=5.0)


def _torch(data, threads):
    from refimpl.crosscheck.seqgan_reference import mle_epoch

    return mle_epoch(data, vocab_size=V, embedding_dim=E, hidden_dim=H, batch_size=BATCH, threads=threads)


def _mle_rows(quick, options):
    n = QUICK_SEQUENCES if quick else 9984
    data = np.random.default_rng(2).integers(0, V, (n, T))
    case = f"MLE epoch, {n} sequences, V={V}, T={T}, E=H={E}, batch {BATCH}"
    rows = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            for dtype in (np.float32, np.float64):
                rows.append(bench_row(case, "numpy + numba", time_call(_ours(data, dtype), **options), ours=True,
                                      threads=threads, dtype=np.dtype(dtype).name, work=n * T, work_unit="tokens"))
            if torch_available():
                rows.append(bench_row(case, "torch", time_call(_torch(data, threads), **options), ours=False,
                                      threads=threads, dtype="float32", work=n * T, work_unit="tokens"))
    return rows


def _discriminator_rows(options):
    rng = np.random.default_rng(3)
    params = D.init_discriminator(rng, V, SMALL)
    tokens, labels = rng.integers(0, V, (BATCH, T)), rng.integers(0, 2, BATCH)
    case = f"discriminator forward + backward, batch {BATCH}, V={V}, T={T}, {sum(SMALL.filter_counts)} filters"
    rows = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            for backend in ("numpy", "numba"):
                step = (lambda b: lambda: D.loss_and_gradients(params, SMALL, tokens, labels, rng=rng, backend=b))(backend)
                rows.append(bench_row(case, f"ours ({backend} convolutions)", time_call(step, **options), ours=True,
                                      threads=threads, dtype="float64", work=BATCH, work_unit="sequences"))
            if torch_available():
                from refimpl.crosscheck.seqgan_reference import discriminator_step

                for dtype in ("float64", "float32"):
                    step = discriminator_step(params, tokens, labels, n_filters=len(SMALL.filter_sizes),
                                              threads=threads, dtype=dtype)
                    rows.append(bench_row(case, "torch", time_call(step, **options), ours=False, threads=threads,
                                          dtype=dtype, work=BATCH, work_unit="sequences"))
    return rows


def _rollout_rows(options):
    rng = np.random.default_rng(4)
    generator = model.generator_lstm(rng, V, E, H)
    critic = D.Discriminator(D.init_discriminator(rng, V, SMALL), SMALL, Adam(lr=1e-3), backend="numpy")
    samples = model.sample(generator, rng, BATCH, T)
    case = f"rollout rewards, {BATCH} samples x {N_ROLLOUTS} rollouts, V={V}, T={T}, scored by the discriminator"
    rows = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            timing = time_call(lambda: training.rollout_rewards(generator, critic.real_probability, samples, rng,
                                                                n_rollouts=N_ROLLOUTS), **options)
            rows.append(bench_row(case, "numpy + numba", timing, ours=True, threads=threads, dtype="float64",
                                  work=BATCH * N_ROLLOUTS * (T - 1), work_unit="rollouts"))
    return rows


def _plastic_rows(options):
    rng = np.random.default_rng(5)
    F = sum(SMALL.filter_counts)
    x, w, b, alpha = rng.standard_normal((BATCH, F)), rng.standard_normal((F, 2)), rng.standard_normal(2), \
        0.01 * rng.random((F, 2))
    dlogits = rng.standard_normal((BATCH, 2)) / BATCH
    case = f"plastic softmax episode forward + backward, N={BATCH}, d={F}, K=2, Hebb"

    def episode(backend):
        def run():
            _, _, cache = plastic.plastic_softmax_forward(x, w, b, alpha, 0.01, backend=backend)
            plastic.plastic_softmax_backward(dlogits, cache)
        return run

    rows = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            for backend, ours, name in (("numpy", False, "numpy reference"), ("numba", True, "numba")):
                rows.append(bench_row(case, name, time_call(episode(backend), **options), ours=ours,
                                      threads=threads, dtype="float64", work=BATCH, work_unit="steps"))
    return rows


@register_bench("seqgan")
def bench_seqgan(quick):
    options = {"repeat": 1, "warmup": 1} if quick else {"repeat": 3, "warmup": 1, "min_seconds": 1.0}
    rows = (_mle_rows(quick, {"repeat": 1, "warmup": 1} if quick else {"repeat": 3, "warmup": 1})
            + _discriminator_rows(options) + _rollout_rows(options) + _plastic_rows(options))
    return {"rows": rows, "notes": {"reference": "torch CPU nn.LSTM + nn.Linear + cross_entropy + Adam + "
                                                 "clip_grad_norm_ (float32); the discriminator in torch with "
                                                 "conv1d and autograd", "tokens": "uniform random"}}
