"""``refimpl bench seqgan``: one MLE epoch of the generator, ours (NumPy BLAS + the numba gate pass) against a
torch CPU ``nn.LSTM`` + ``nn.Linear`` + cross-entropy + Adam + clipping doing the same epoch.

SeqGAN's sizes: 9,984 sequences (156 batches of 64), V = 5000, T = 20, E = H = 32, Adam 0.01, global-norm
clipping 5. Ours in float32 and float64, torch in float32, each at 1 and 2 threads (BLAS pinned with
threadpoolctl, torch with ``set_num_threads``). The tokens are uniform random: an epoch's cost does not depend
on them. ``--quick`` times 640 sequences (10 batches) once.
"""

import numpy as np
from threadpoolctl import threadpool_limits

from refimpl.bench import bench_row, register_bench, time_call, torch_available
from refimpl.core.optim import Adam
from refimpl.seqgan import model, training

V, T, E, H, BATCH = 5000, 20, 32, 32, 64
QUICK_SEQUENCES = 640  # --quick: 10 batches, timed once


def _ours(data, dtype):
    params = model.generator_lstm(np.random.default_rng(0), V, E, H, dtype=dtype)
    optimiser, rng = Adam(lr=0.01), np.random.default_rng(1)
    return lambda: training.mle_epoch(params, optimiser, data, rng, batch_size=BATCH, max_norm=5.0)


def _torch(data, threads):
    from refimpl.crosscheck.seqgan_reference import mle_epoch

    return mle_epoch(data, vocab_size=V, embedding_dim=E, hidden_dim=H, batch_size=BATCH, threads=threads)


@register_bench("seqgan")
def bench_seqgan(quick):
    n = QUICK_SEQUENCES if quick else 9984
    data = np.random.default_rng(2).integers(0, V, (n, T))
    case = f"MLE epoch, {n} sequences, V={V}, T={T}, E=H={E}, batch {BATCH}"
    timing_options = {"repeat": 1, "warmup": 1} if quick else {"repeat": 3, "warmup": 1}
    rows = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            for dtype in (np.float32, np.float64):
                rows.append(bench_row(case, "numpy + numba", time_call(_ours(data, dtype), **timing_options),
                                      ours=True, threads=threads, dtype=np.dtype(dtype).name, work=n * T,
                                      work_unit="tokens"))
            if torch_available():
                rows.append(bench_row(case, "torch", time_call(_torch(data, threads), **timing_options), ours=False,
                                      threads=threads, dtype="float32", work=n * T, work_unit="tokens"))
    return {"rows": rows, "notes": {"reference": "torch CPU nn.LSTM + nn.Linear + cross_entropy + Adam + "
                                                 "clip_grad_norm_, float32", "tokens": "uniform random"}}
