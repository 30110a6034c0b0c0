"""The "three pillars" tutorial (seed 001) in a few steps: fit a line by gradient descent with step 1/β,
check the descent lemma, train a two-layer network on MNIST and look at its loss surface.

    python examples/tutorial.py            # a minute or so
    python examples/tutorial.py --smoke    # seconds
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from refimpl.core.classifier import train_classifier  # noqa: E402
from refimpl.data import load_mnist, noisy_line  # noqa: E402
from refimpl.tutorial import (TwoLayerNet, closed_form, descent_lemma_violations,  # noqa: E402
                              filter_normalized_direction, gradient_descent, loss_slice)

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--smoke", action="store_true", help="smallest setting, a few seconds")
parser.add_argument("--out", default="figures/examples", help="folder for the figure")
args = parser.parse_args()
rng = np.random.default_rng(0)

# 1. y ≈ 5x + 2: GD with η = 1/β, β the largest eigenvalue of the Hessian (computed from x)
x, y = noisy_line(rng)
trace = gradient_descent(x, y, theta_0=[0.0, 0.0], steps=300)
m, c = trace.thetas[-1]
print(f"GD: m = {m:.4f}, c = {c:.4f}; closed form {closed_form(x, y).round(4)}; β = {trace.beta:.3f}")
violations = descent_lemma_violations(trace.loss_changes, trace.grad_norms_sq, trace.beta,
                                      gradient_floor=trace.gradient_floor)
print(f"steps breaking L(θ_t+1) <= L(θ_t) - ‖∇L‖²/(2β): {violations}")

# 2. M2 σ(M1 x + c1) + c2 on the bundled MNIST subset
n_train = 500 if args.smoke else None
x_train, y_train, x_test, y_test = load_mnist(n_train=n_train, n_test=200 if args.smoke else None).flat()
network = TwoLayerNet(hidden=100)
params = network.init_params(rng)
losses = train_classifier(network, params, x_train, y_train, rng, epochs=2 if args.smoke else 10).epoch_losses
print(f"two-layer net: training loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
      f"test accuracy {network.accuracy(params, x_test, y_test):.3f}")

# 3. the loss along a filter-normalised random direction (Li et al. 2018)
alphas = np.linspace(-1.0, 1.0, 9 if args.smoke else 41)
direction = filter_normalized_direction(params, rng)
slice_ = loss_slice(lambda p: network.mean_loss(p, x_train[:500], y_train[:500]), params, direction, alphas)

figure, (ax_gd, ax_slice) = plt.subplots(1, 2, figsize=(10, 4))
ax_gd.semilogy(trace.grad_norms_sq, label="‖∇L(θ_t)‖²")
ax_gd.set(xlabel="GD step t", ylabel="squared gradient norm", title="linear fit, η = 1/β")
ax_gd.legend()
ax_slice.plot(alphas, slice_)
ax_slice.set(xlabel="α", ylabel="training cross-entropy", title="two-layer net: L(θ* + αδ)")
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
figure.savefig(out / "tutorial.png", dpi=150, bbox_inches="tight")
print("wrote", out / "tutorial.png")
