"""Dynamical-systems networks, step by step: a ResNet and a 1-Lipschitz network on two moons, attacked.

Each layer is an integrator step of a vector field (``refimpl.dynsys.model``). The 1-Lipschitz network alternates
expansive steps x + h_E Σ(Wx + v) and contractive steps x − h_C AᵀΣ(Ax + b) under the pair rule
``max(|1 − h_C|, |1 − h_C/2|)(1 + h_E) ≤ 1``, which is checked when the network is built; the certificate of a
point is its radius min_j (z_y − z_j)/(‖c_y − c_j‖ L), with L the body's certified constant::

    python examples/dynsys.py            # 1,500 steps per model, figure in figures/examples/dynsys.png
    python examples/dynsys.py --smoke    # 60 steps
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from refimpl.data import two_moons
from refimpl.dynsys import lipschitz_network, network_jacobian, pgd_l2, resnet, theory, train_classifier

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--smoke", action="store_true", help="smallest setting")
parser.add_argument("--out", type=Path, default=Path("figures/examples"))
args = parser.parse_args()

rng = np.random.default_rng(0)
X, y = two_moons(rng, 600, noise=0.1)  # (600, 2), (600,)
X_test, y_test = two_moons(rng, 400, noise=0.1)

try:  # the pair rule refuses an expansive step that is too long
    lipschitz_network(rng, 2, 16, 8, 2, h_C=0.5, h_E=0.4)
except ValueError as error:
    print("refused:", error)

networks = {"ResNet (explicit Euler)": resnet(rng, 2, 16, 8, 2, h=0.5),
            "1-Lipschitz (expansive, contractive) pairs": lipschitz_network(rng, 2, 16, 8, 2, h_C=0.1)}
eps_list = [0.05, 0.1, 0.2, 0.3]
figure, axes = plt.subplots(1, 2, figsize=(10, 4.5))
g0, g1 = np.meshgrid(np.linspace(-1.5, 2.5, 150), np.linspace(-1.0, 1.5, 150))
for ax, (name, net) in zip(axes, networks.items()):
    train_classifier(net, X, y, rng, steps=60 if args.smoke else 1500, batch_size=200, lr=1e-2, margin=0.3)
    logits = net(X_test)
    L_certified = theory.certified_lipschitz(net)  # product of the layers' bounds, head included
    L_empirical = np.linalg.norm(network_jacobian(net, X_test), 2, axis=(1, 2)).max()  # max ‖J(x)‖₂ on test points
    pgd = [pgd_l2(net, X_test, y_test, eps, rng, steps=20)[0].mean() for eps in eps_list]
    K = theory.pair_lipschitz(net)  # ‖c_i − c_j‖ times the body's certified constant
    certified = [theory.certified_accuracy(logits, y_test, K, eps) for eps in eps_list]
    print(f"{name}: clean {np.mean(theory.margins(logits, y_test) > 0):.3f}, L empirical {L_empirical:.3f} "
          f"<= certified {L_certified:.3g}")
    print("   eps       ", eps_list, "\n   PGD acc   ", np.round(pgd, 3), "\n   certified ", np.round(certified, 3))
    score = net(np.column_stack([g0.ravel(), g1.ravel()]))
    ax.contourf(g0, g1, (score[:, 1] - score[:, 0]).reshape(g0.shape), levels=20, cmap="RdBu", alpha=0.7)
    ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test, cmap="RdBu", s=5, edgecolors="k", linewidths=0.2)
    ax.set(title=f"{name}\nPGD acc at ε = 0.3: {pgd[-1]:.2f}", xlabel="$x_1$", ylabel="$x_2$")

args.out.mkdir(parents=True, exist_ok=True)
figure.savefig(args.out / "dynsys.png", dpi=150, bbox_inches="tight")
print(f"wrote {args.out / 'dynsys.png'}")
