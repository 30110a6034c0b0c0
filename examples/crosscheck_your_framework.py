"""Check your own PyTorch module against refimpl's golden vectors.

You write a layer in your framework; refimpl has the same function with hand-derived gradients, proven by
finite differences. ``refimpl vectors export DIR`` writes, for every function it cross-checks, the inputs,
the value and every gradient in float64 (``DIR/<case>.npz``) and a ``DIR/manifest.json`` saying what each
case computes. Reading them needs only NumPy, so this check runs wherever your module runs.

Here three modules a reader might write are checked: a dense layer (case ``core.affine``), a softmax
cross-entropy (``core.softmax_cross_entropy``) and the loss of a two-layer ReLU generator
(``core.two_layer_squared_error_gradient[numpy]``). Replace them by yours::

    python examples/crosscheck_your_framework.py            # vectors of 10 seeds
    python examples/crosscheck_your_framework.py --smoke    # one seed
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from refimpl.crosscheck import vectors

TOLERANCE = 1e-10


# --------------------------------------------------------------------------------------- your modules
class DenseLayer(torch.nn.Module):
    """y = x wᵀ + b, with parameters named as the golden case names its inputs (w, b)."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(d_out, d_in, dtype=torch.float64))
        self.b = torch.nn.Parameter(torch.zeros(d_out, dtype=torch.float64))

    def forward(self, x):
        return x @ self.w.T + self.b


class SoftmaxCrossEntropy(torch.nn.Module):
    """Mean cross-entropy of integer labels under the softmax of the logits (no parameters)."""

    def forward(self, logits, labels):
        log_probabilities = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        return -log_probabilities[torch.arange(len(labels)), labels].mean()


class TwoLayerReLUGenerator(torch.nn.Module):
    """The generator X ↦ s·relu(X Uᵀ) Vᵀ; ``forward`` returns its squared-error loss ½‖· − Y‖²."""

    def __init__(self, d_in, m, d_out):
        super().__init__()
        self.U = torch.nn.Parameter(torch.zeros(m, d_in, dtype=torch.float64))
        self.V = torch.nn.Parameter(torch.zeros(d_out, m, dtype=torch.float64))

    def forward(self, X, Y, scale):
        return 0.5 * ((scale * torch.relu(X @ self.U.T) @ self.V.T - Y) ** 2).sum()


# the golden case each module implements -> how to build it from that case's input shapes (manifest)
YOUR_MODULES = {
    "core.affine": lambda shapes: DenseLayer(d_in=shapes["w"][1], d_out=shapes["w"][0]),
    "core.softmax_cross_entropy": lambda shapes: SoftmaxCrossEntropy(),
    "core.two_layer_squared_error_gradient[numpy]": lambda shapes: TwoLayerReLUGenerator(
        d_in=shapes["U"][1], m=shapes["U"][0], d_out=shapes["V"][0]),
}


# ----------------------------------------------------------------- the check: NumPy and your framework
def relative_error(ours, reference):
    """The manifest's ``error_measure``: |a − b| / (|b| + 1e-2·max(1, max|b|)), the largest element."""
    scale = max(1.0, float(np.max(np.abs(reference)))) if reference.size else 1.0
    return float(np.max(np.abs(ours - reference) / (np.abs(reference) + 1e-2 * scale), initial=0.0))


def check_module(directory, entry, module):
    """Largest relative error of each output of ``module`` against one golden case (an ``entry`` of the manifest).

    Inputs that are parameters of ``module`` are loaded into it; the others are passed to ``forward`` by name.
    The gradients are those of Σ value ⊙ cotangent (or Σ value when the case has no cotangent).
    """
    with np.load(Path(directory) / entry["file"]) as arrays:
        inputs = {k.removeprefix("input."): arrays[k] for k in arrays.files if k.startswith("input.")}
        expected = {k.removeprefix("output."): arrays[k] for k in arrays.files if k.startswith("output.")}
    parameters = dict(module.named_parameters())
    with torch.no_grad():
        for name, parameter in parameters.items():
            parameter.copy_(torch.from_numpy(inputs[name]))
    arguments = {name: torch.tensor(array, requires_grad=name in entry["wrt"]) for name, array in inputs.items()
                 if name not in parameters and name != entry["cotangent"]}
    value = module(**arguments)
    weight = torch.ones_like(value) if entry["cotangent"] is None else torch.from_numpy(inputs[entry["cotangent"]])
    leaves = [parameters[name] if name in parameters else arguments[name] for name in entry["wrt"]]
    gradients = torch.autograd.grad((value * weight).sum(), leaves)
    ours = {"value": value.detach().numpy(), **{f"grad_{n}": g.numpy() for n, g in zip(entry["wrt"], gradients)}}
    return {name: relative_error(ours[name], expected[name]) for name in expected}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one seed")
    parser.add_argument("--out", type=Path, default=Path("figures/examples"))
    args = parser.parse_args()
    seeds = range(1 if args.smoke else 10)

    worst = {}
    for seed in seeds:
        with tempfile.TemporaryDirectory() as directory:
            vectors.export(directory, seed=seed, topic="core")  # or a directory someone gave you
            manifest = json.loads((Path(directory) / "manifest.json").read_text())
            for name, build in YOUR_MODULES.items():
                entry = manifest["cases"][name]
                module = build({input_name: spec["shape"] for input_name, spec in entry["inputs"].items()})
                errors = check_module(directory, entry, module)
                worst[name] = max(worst.get(name, 0.0), *errors.values())
                print(f"seed {seed}  {name:48s} " + "  ".join(f"{k} {v:.1e}" for k, v in errors.items()))

    args.out.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(8, 2.8))
    names = list(worst)
    floor = 1e-17  # where an exact agreement (error 0) is drawn on the log axis
    axis.barh(names, [max(worst[n], floor) for n in names], color="tab:blue")
    for row, name in enumerate(names):
        axis.annotate(f" {worst[name]:.1e}" if worst[name] else " 0 (exact)", (max(worst[name], floor), row),
                      va="center")
    axis.axvline(TOLERANCE, color="tab:red", linestyle="--", label=f"tolerance {TOLERANCE:g}")
    axis.set_xscale("log")
    axis.set_xlim(floor / 10, 1e-8)
    axis.set_xlabel(f"largest relative error, value and gradients ({len(seeds)} seed(s))")
    axis.set_title("your torch modules against refimpl's golden vectors")
    axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(args.out / "crosscheck_your_framework.png", dpi=150)
    failed = [name for name in names if worst[name] > TOLERANCE]
    print("every module agrees with the golden vectors" if not failed else f"disagree: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    if main():  # exit non-zero only on a disagreement: the docs gallery runs this file in its own process
        sys.exit(1)
