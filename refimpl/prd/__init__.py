"""Seed 000: adversarial interaction and the pseudo-reaction-diffusion model (Rout, AAAI-21).

``model`` (generator, critic, L_sup, L_aug, the PRD split of eqs. 52-55), ``kernels`` (NumPy/numba twins,
CUDA twins in ``cuda_kernels``), ``flow`` (Euler GDA and ``solve_ivp``), ``theory`` (H∞, Theorems 1-2,
Bernoulli fit, Jacobian spectrum), ``experiment`` (registered experiments ``prd-theory`` and ``prd-mnist``).
"""

from refimpl.prd import kernels  # noqa: F401  (registers the twins)
from refimpl.prd.flow import CriticSettings, Trajectory, integrate_flow, joint_field, train
from refimpl.prd.model import (AugmentedParts, PrdSplit, adversarial_gradient, adversarial_term, augmented_gradient, augmented_parts,
                               critic_backward, critic_forward, critic_objective, generator_forward,
                               generator_scale, gradient_penalty, init_critic, init_generator, interpolates,
                               normalise_inputs, prd_split, project_critic, supervised_gradient)
from refimpl.prd.theory import (fit_bernoulli, gram_finite, gram_infinity, gram_monte_carlo, jacobian_spectrum,
                                lambda0, theorem1_bound, theorem2_bound)

__all__ = ["CriticSettings", "Trajectory", "integrate_flow", "joint_field", "train", "AugmentedParts", "PrdSplit", "augmented_parts",
           "adversarial_gradient", "adversarial_term", "augmented_gradient", "critic_backward", "critic_forward",
           "critic_objective", "generator_forward", "generator_scale", "gradient_penalty", "init_critic",
           "init_generator", "interpolates", "normalise_inputs", "prd_split", "project_critic",
           "supervised_gradient", "fit_bernoulli", "gram_finite", "gram_infinity", "gram_monte_carlo",
           "jacobian_spectrum", "lambda0", "theorem1_bound", "theorem2_bound"]
