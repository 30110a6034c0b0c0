"""Adversarial interaction as a pseudo-reaction-diffusion (PRD) model (Rout, AAAI-21), step by step.

A two-layer ReLU generator f(x) = V σ(Ux)/√(d_out·m) is trained on unit-norm MNIST digits twice from the
same initialisation: on L_sup ("reaction" only) and on L_aug = L_sup − Σ_p g(f(x_p)) against a WGAN-GP
critic trained by ascent ("reaction + diffusion"). We print the PRD split of one neuron (eqs. 52-55),
check it against −∇L_aug, and plot the distance from initialisation (the paper's Fig. 1). Beyond the paper,
we find a homogeneous equilibrium of the descent-ascent game with a projected critic (all neurons equal:
the uniform state of a Turing analysis) and split its Jacobian into symmetric and symmetry-breaking modes::

    python examples/prd.py             # 100 digits, m = 144, 600 steps
    python examples/prd.py --smoke     # 20 digits, m = 36, 40 steps
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from refimpl import prd
from refimpl.data import load_mnist

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--smoke", action="store_true", help="smallest setting")
parser.add_argument("--out", type=Path, default=Path("figures/examples"))
args = parser.parse_args()
n, m, steps = (20, 36, 40) if args.smoke else (100, 144, 600)

rng = np.random.default_rng(0)
images, labels, _, _ = load_mnist().flat()
X = prd.normalise_inputs(images[:n])  # (n, 784), ‖x_p‖ = 1 as in the theorems
Y = np.eye(10)[labels[:n]]  # one-hot targets, (n, 10); also the critic's "real" samples
U, V = prd.init_generator(rng, 784, 10, m)  # u_j ~ N(0, I), v_ij = ±1
W, a = prd.init_critic(rng, 10, m)  # w_r ~ N(0, I), a_r = ±1

# The PRD split at initialisation: reaction (supervised) + diffusion (adversarial) = −∇L_aug.
split = prd.prd_split(X, Y, U, V, W, a)
_, dU, dV, _, _ = prd.augmented_gradient(X, Y, U, V, W, a)
error = max(np.abs(split.reaction_u + split.diffusion_u + dU).max(), np.abs(split.reaction_v + split.diffusion_v + dV).max())
print(f"neuron 0: ‖R^u‖ = {np.linalg.norm(split.reaction_u[0]):.3f}, ‖D^u‖ = {np.linalg.norm(split.diffusion_u[0]):.3f}; "
      f"max |R + D + ∇L_aug| = {error:.1e}")

dt = 1.0 / np.linalg.eigvalsh(prd.gram_infinity(X))[-1]  # below the stability limit 2/λ_max
critic = prd.CriticSettings(rate=0.05 / dt, regulariser="penalty", penalty=10.0)
# backend: the NumPy twins (both twins keep the products in BLAS; `refimpl bench prd` compares them)
without = prd.train(X, Y, U, V, dt=dt, steps=steps, adversarial=False, backend="numpy")
with_diffusion = prd.train(X, Y, U, V, dt=dt, steps=steps, adversarial=True, W=W, a=a, critic=critic, rng=rng,
                           backend="numpy")
for name, run in (("without diffusion", without), ("with diffusion", with_diffusion)):
    print(f"{name:18s}: ‖U(T) − U(0)‖_F = {run.drift_U[-1]:.2f}, ‖V(T) − V(0)‖_F = {run.drift_V[-1]:.2f}, "
          f"‖z − y‖ = {run.residual[-1]:.2f}")

# A small game: 8 unit inputs in 4 dimensions, m = 6 neurons, a critic of 5 neurons on the sphere ‖W‖_F = 1.
# Some draws settle on a ReLU kink (no Jacobian there) or converge slowly: take the first smooth one.
for draw in range(1, 31):
    Xs, Ys = prd.normalise_inputs(rng.standard_normal((8, 4))), rng.standard_normal((8, 1))
    Ws = rng.standard_normal((5, 1))
    equilibrium = prd.homogeneous_equilibrium(Xs, Ys, np.ones(5), rng.standard_normal(4), np.ones(1),
                                              Ws / np.linalg.norm(Ws), 6, weight=1.0, rate=1.0, flow_steps=20000, dt=0.02)
    if equilibrium.converged and equilibrium.kink_margin > 1e-6:
        break
print(f"homogeneous equilibrium (draw {draw}): ‖F‖ = {equilibrium.field_norm:.1e} after {equilibrium.iterations} "
      f"Newton steps, {equilibrium.kink_margin:.1e} from the nearest ReLU kink")
J = prd.game_jacobian(Xs, Ys, np.ones(5), equilibrium.U, equilibrium.V, equilibrium.W, weight=1.0, rate=1.0)
split = prd.symmetry_split(J, 6, 4, 1, 5)
print(f"growth rates: symmetric modes max Re λ = {split.max_real_symmetric:.1e}, symmetry-breaking modes "
      f"max |λ| = {np.abs(split.breaking).max():.1e} (blocks leak {split.leakage:.0e})")

figure, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for run, colour, label in ((without, "k", "without diffusion"), (with_diffusion, "r", "with diffusion")):
    axes[0].plot(run.times, run.drift_U, color=colour, label=label)
    axes[1].plot(run.times, run.drift_V, color=colour, label=label)
axes[0].set(xlabel="flow time t", ylabel="‖U(t) − U(0)‖_F", title="hidden layer")
axes[1].set(xlabel="flow time t", ylabel="‖V(t) − V(0)‖_F", title="top layer")
axes[0].legend()
args.out.mkdir(parents=True, exist_ok=True)
figure.tight_layout()
figure.savefig(args.out / "prd.png", dpi=150)
print(f"wrote {args.out / 'prd.png'}")
