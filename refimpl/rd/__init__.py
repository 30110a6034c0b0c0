"""Reaction-diffusion: Turing's instability (1952) and Gray-Scott patterns; NumPy, numba and numba.cuda twins
that agree to rounding (not bit for bit: the numba kernel fuses and reorders the sums).

- :mod:`refimpl.rd.model`: the models, the 5-point Laplacian, one Euler step (readable NumPy);
- :mod:`refimpl.rd.kernels`: :func:`simulate` and its twins (NumPy, temporally blocked numba, numba.cuda);
- :mod:`refimpl.rd.theory`: steady states, Jacobian, Turing conditions, continuous and lattice dispersion;
- :mod:`refimpl.rd.measure`: what a simulation measures (the growth rate of a perturbation), for the experiments
  to set beside the theory.

:func:`simulate` raises ``FloatingPointError`` naming the step and the field when a run blows up.
"""

from refimpl.rd.kernels import simulate
from refimpl.rd.model import (BOUNDARIES, GRAY_SCOTT_PRESETS, ReactionDiffusion, brusselator, check_time_step,
                              euler_step, gray_scott, gray_scott_preset, laplacian, linear, max_stable_dt,
                              noisy_steady_state, pearson_seed, schnakenberg)

__all__ = ["BOUNDARIES", "GRAY_SCOTT_PRESETS", "ReactionDiffusion", "brusselator", "check_time_step", "euler_step",
           "gray_scott", "gray_scott_preset", "laplacian", "linear", "max_stable_dt", "noisy_steady_state",
           "pearson_seed", "schnakenberg", "simulate"]
