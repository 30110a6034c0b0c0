"""Core building blocks, step by step: a two-layer ReLU classifier on two moons, trained with Adam.

Every gradient below is one of the hand-derived backward passes of ``refimpl.core.layers`` and
``refimpl.core.losses``; the last lines check them against central finite differences::

    python examples/core.py            # 2,000 steps, figure in figures/examples/core.png
    python examples/core.py --smoke    # 50 steps
    NUMBA_DISABLE_JIT=1 python -m pdb examples/core.py --smoke   # step into any kernel
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from refimpl.core import layers, losses, optim
from refimpl.core.gradcheck import check_gradients
from refimpl.data import two_moons

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--smoke", action="store_true", help="smallest setting")
parser.add_argument("--out", type=Path, default=Path("figures/examples"))
args = parser.parse_args()

rng = np.random.default_rng(0)
x, labels = two_moons(rng, 400, noise=0.1)  # (400, 2), (400,)
params = {"W1": rng.standard_normal((32, 2)), "b1": np.zeros(32),  # hidden layer, (m, d_in)
          "W2": rng.standard_normal((2, 32)) / np.sqrt(32), "b2": np.zeros(2)}


def loss_and_gradients(params, x=x, labels=labels):
    hidden_pre, cache1 = layers.affine_forward(x, params["W1"], params["b1"])  # (n, 32)
    hidden, cache_relu = layers.relu_forward(hidden_pre)
    logits, cache2 = layers.affine_forward(hidden, params["W2"], params["b2"])  # (n, 2)
    loss, dlogits = losses.softmax_cross_entropy(logits, labels)
    dhidden, dW2, db2 = layers.affine_backward(dlogits, cache2)
    _, dW1, db1 = layers.affine_backward(layers.relu_backward(dhidden, cache_relu), cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, logits


optimiser = optim.Adam(lr=0.01)
history = []
for step in range(50 if args.smoke else 2000):
    loss, grads, logits = loss_and_gradients(params)
    optimiser.step(params, grads)
    history.append(loss)
print(f"final loss {history[-1]:.4f}, training accuracy {np.mean(logits.argmax(1) == labels):.3f}")

# The proof: each analytic gradient against central differences (|a - n| <= atol + rtol |n| element-wise),
# on a few points whose ReLU inputs all lie clear of the kink at 0, where no finite difference can agree.
clear_of_kink = np.abs(x @ params["W1"].T + params["b1"]).min(axis=1) > 1e-3  # (n,)
few_x, few_labels = x[clear_of_kink][:16], labels[clear_of_kink][:16]
_, grads, _ = loss_and_gradients(params, few_x, few_labels)
names = list(params)
comparison = check_gradients(lambda *arrays: loss_and_gradients(dict(zip(names, arrays)), few_x, few_labels)[0],
                             [params[k] for k in names], [grads[k] for k in names])
print(f"gradient check {'passed' if comparison.passed else 'FAILED'}: max abs error {comparison.max_abs_error:.1e}")

args.out.mkdir(parents=True, exist_ok=True)
figure, axis = plt.subplots(figsize=(5, 3.5))
axis.semilogy(history)
axis.set(xlabel="Adam step", ylabel="cross-entropy", title="two-layer ReLU net on two moons")
figure.savefig(args.out / "core.png", dpi=150, bbox_inches="tight")
