"""SeqGAN (Yu et al. 2017) with a Miconi-style plastic discriminator softmax (seed 002), every gradient by hand.

::

    from refimpl.seqgan import model, measure, discriminator, plastic, training

- :mod:`~refimpl.seqgan.model`: the LSTM oracle/generator, sampling, teacher-forced NLL, BPTT of the mean NLL
  and of the policy-gradient loss, global-norm clipping, SeqGAN's oracle pickle layout;
- :mod:`~refimpl.seqgan.kernels`: the per-step gate pass, NumPy reference and numba twin;
- :mod:`~refimpl.seqgan.measure`: NLL_oracle, NLL_test, the entropy rate, baselines, diversity;
- :mod:`~refimpl.seqgan.plastic`: the plastic softmax layer (Hebb, Oja, clipped) and its BPTT;
- :mod:`~refimpl.seqgan.discriminator`: the CNN + highway discriminator with the plain or plastic softmax;
- :mod:`~refimpl.seqgan.training`: rollout rewards, MLE epochs, the PG step, D rounds;
- :mod:`~refimpl.seqgan.experiment`, :mod:`~refimpl.seqgan.figures`, :mod:`~refimpl.seqgan.bench`.
"""

from refimpl.seqgan import discriminator, measure, model, plastic, training

__all__ = ["discriminator", "measure", "model", "plastic", "training"]
