"""Dynamical-systems-based networks (seed 004): layers as flow maps of structured vector fields.

ResNet (explicit Euler), volume-preserving shear steps, mass-preserving Runge-Kutta steps, symplectic
Hamiltonian steps, 1-Lipschitz (expansive, contractive) pairs with a build-time step-size rule or learned steps
under it, the 1-Lipschitz baselines CPL, SLL and MaxMin with orthogonal weights, the Presnov decomposition and the
Strang splitting; certificate-aware training, L2-PGD, the minimum-norm attack DDN and per-pair certificates.
"""

from refimpl.dynsys import theory
from refimpl.dynsys.kernels import mass_rollout
from refimpl.dynsys.model import (RK_TABLEAUS, Layer, Network, cpl_network, groupsort_network, hamiltonian_network,
                                  learned_lipschitz_network, lipschitz_network, mass_preserving_network,
                                  network_jacobian, resnet, sll_network, volume_preserving_network)
from refimpl.dynsys.splitting import (gradient_field, presnov_decomposition, sphere_cayley_step, sphere_field,
                                      strang_local_errors, strang_step)
from refimpl.dynsys.training import (accuracy, certified_cross_entropy, ddn_l2, empirical_lipschitz, multiclass_hinge,
                                     pgd_l2, train_classifier)

__all__ = ["theory", "mass_rollout", "RK_TABLEAUS", "Layer", "Network", "cpl_network", "groupsort_network",
           "hamiltonian_network", "learned_lipschitz_network", "lipschitz_network", "sll_network",
           "mass_preserving_network", "network_jacobian", "resnet", "volume_preserving_network", "gradient_field",
           "presnov_decomposition", "sphere_cayley_step", "sphere_field", "strang_local_errors", "strang_step",
           "accuracy", "certified_cross_entropy", "ddn_l2", "empirical_lipschitz", "multiclass_hinge", "pgd_l2",
           "train_classifier"]
