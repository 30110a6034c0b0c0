"""Seed 000: adversarial interaction and the pseudo-reaction-diffusion model (Rout, AAAI-21).

``model`` (generator, critic, L_sup, L_aug, the PRD split of eqs. 52-55), ``kernels`` (NumPy/numba twins,
CUDA twins in ``cuda_kernels``), ``flow`` (Euler GDA and ``solve_ivp``), ``theory`` (H∞, Theorems 1-2,
Bernoulli fit, Jacobian spectrum), ``experiment`` (settings, claims and the registered experiments
``prd-theory`` and ``prd-mnist``), ``measure`` (their training runs and recorded numbers), ``figures``
(their plots), ``bench`` (``refimpl bench prd``).
"""

from refimpl.prd import kernels  # noqa: F401  (registers the twins)
from refimpl.prd.flow import (
                               CriticSettings,
                               Trajectory,
                               flat_field,
                               integrate_flow,
                               joint_field,
                               train,
)
from refimpl.prd.model import (
                               AugmentedParts,
                               PrdSplit,
                               adversarial_gradient,
                               adversarial_term,
                               augmented_gradient,
                               augmented_parts,
                               critic_backward,
                               critic_forward,
                               critic_objective,
                               generator_forward,
                               generator_scale,
                               gradient_penalty,
                               init_critic,
                               init_generator,
                               interpolates,
                               normalise_inputs,
                               prd_split,
                               project_critic,
                               supervised_gradient,
)
from refimpl.prd.theory import (
                               fit_bernoulli,
                               gram_finite,
                               gram_infinity,
                               gram_monte_carlo,
                               jacobian_spectrum,
                               lambda0,
                               theorem1_bound,
                               theorem2_bound,
)

__all__ = [
                               "AugmentedParts",
                               "CriticSettings",
                               "PrdSplit",
                               "Trajectory",
                               "adversarial_gradient",
                               "adversarial_term",
                               "augmented_gradient",
                               "augmented_parts",
                               "critic_backward",
                               "critic_forward",
                               "critic_objective",
                               "fit_bernoulli",
                               "flat_field",
                               "generator_forward",
                               "generator_scale",
                               "gradient_penalty",
                               "gram_finite",
                               "gram_infinity",
                               "gram_monte_carlo",
                               "init_critic",
                               "init_generator",
                               "integrate_flow",
                               "interpolates",
                               "jacobian_spectrum",
                               "joint_field",
                               "lambda0",
                               "normalise_inputs",
                               "prd_split",
                               "project_critic",
                               "supervised_gradient",
                               "theorem1_bound",
                               "theorem2_bound",
                               "train",
]
