"""Experiment ``core``: the building blocks of :mod:`refimpl.core` measured (gradient checks, twins, optimisers).

1. Every layer and loss of :mod:`refimpl.core` against central finite differences at random float64
   points (ReLU-type inputs kept off the kink): the worst relative error of each.
2. The numba twin of the two-layer squared-error gradient against its NumPy reference.
3. A two-layer ReLU classifier (2 → hidden → 2, softmax cross-entropy) trained on two moons with SGD,
   momentum and Adam from the same initialisation: loss curves and decision boundaries.
"""

from dataclasses import dataclass

import numpy as np

from refimpl.core import layers, losses, optim
from refimpl.core.gradcheck import check_gradients
from refimpl.core.kernels import two_layer_squared_error_gradient
from refimpl.data import two_moons
from refimpl.experiments import Claim, register_experiment


@dataclass(frozen=True)
class Settings:
    steps: int = 2000
    hidden: int = 32
    n_points: int = 400
    learning_rates: tuple = (("sgd", 0.5), ("momentum", 0.1), ("adam", 0.01))


def _gradient_cases(rng):
    """(name, function of arrays, arrays, analytic gradients, dout) for every layer and loss."""
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    off_kink = np.where(np.abs(x) < 0.05, 0.5, x)
    w, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    dout_affine = rng.standard_normal((5, 3))
    labels = rng.integers(0, 4, size=5)
    targets = rng.random((5, 4))
    real, fake = rng.standard_normal(6), rng.standard_normal(6)
    cases = [("affine", lambda x, w, b: layers.affine_forward(x, w, b)[0], [x, w, b],
              layers.affine_backward(dout_affine, layers.affine_forward(x, w, b)[1]), dout_affine)]
    for name, forward, backward, point in [
        ("relu", layers.relu_forward, layers.relu_backward, off_kink),
        ("leaky_relu", layers.leaky_relu_forward, layers.leaky_relu_backward, off_kink),
        ("tanh", layers.tanh_forward, layers.tanh_backward, x),
        ("sigmoid", layers.sigmoid_forward, layers.sigmoid_backward, x),
        ("softmax", layers.softmax_forward, layers.softmax_backward, x),
    ]:
        cases.append((name, lambda z, f=forward: f(z)[0], [point], [backward(dout, forward(point)[1])], dout))
    for name, loss in [("squared_error", lambda z: losses.squared_error(z, targets)),
                       ("softmax_cross_entropy", lambda z: losses.softmax_cross_entropy(z, labels)),
                       ("binary_cross_entropy", lambda z: losses.binary_cross_entropy_with_logits(z, targets))]:
        cases.append((name, lambda z, f=loss: f(z)[0], [x], [loss(x)[1]], None))
    for name, loss in [("least_squares_discriminator", losses.least_squares_discriminator_loss),
                       ("gan_discriminator", losses.gan_discriminator_loss),
                       ("wasserstein_critic", losses.wasserstein_critic_loss)]:
        cases.append((name, lambda r, f, g=loss: g(r, f)[0], [real, fake], list(loss(real, fake)[1:]), None))
    for name, loss in [("least_squares_generator", losses.least_squares_generator_loss),
                       ("non_saturating_generator", losses.non_saturating_generator_loss),
                       ("minimax_generator", losses.minimax_generator_loss),
                       ("wasserstein_generator", losses.wasserstein_generator_loss)]:
        cases.append((name, lambda f, g=loss: g(f)[0], [fake], [loss(fake)[1]], None))
    return cases


def _two_layer_classifier(params, x, labels=None):
    """Logits of 2 → hidden → 2; with labels, also the loss and gradients of every parameter."""
    hidden_pre, cache1 = layers.affine_forward(x, params["W1"], params["b1"])
    hidden, cache_relu = layers.relu_forward(hidden_pre)
    logits, cache2 = layers.affine_forward(hidden, params["W2"], params["b2"])
    if labels is None:
        return logits
    loss, dlogits = losses.softmax_cross_entropy(logits, labels)
    dhidden, dW2, db2 = layers.affine_backward(dlogits, cache2)
    _, dW1, db1 = layers.affine_backward(layers.relu_backward(dhidden, cache_relu), cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def _train(run, settings, optimiser, initial, points, labels):
    params = {k: v.copy() for k, v in initial.items()}
    history = []
    for step in run.progress(range(settings.steps), total=settings.steps, desc=type(optimiser).__name__):
        loss, grads = _two_layer_classifier(params, points, labels)
        run.check_finite(step, settings.steps, loss=loss)
        optimiser.step(params, grads)
        history.append(loss)
    return params, history


@register_experiment(
    "core", quick=Settings(steps=300), full=Settings(),
    claims=[Claim("gradcheck.max_rel_error", "relative error below 1e-7: the analytic gradient is right",
                  source="CS231n course notes, Neural Networks Part 3 (cs231n.github.io), \"Gradient checks\"",
                  expected=(0.0, 1e-7)),
            Claim("twins.two_layer_max_abs_diff", "the numba twin equals the NumPy reference up to rounding",
                  source="refimpl.core.kernels: both twins compute the same products with NumPy's BLAS",
                  expected=(0.0, 1e-9))],
)
def core_experiment(run, settings):
    """Core building blocks: gradient checks of every layer and loss, twin agreement, SGD/momentum/Adam."""
    errors = {}
    for name, function, arrays, analytic, dout in _gradient_cases(run.rng):
        errors[name] = check_gradients(function, arrays, analytic, dout=dout).max_rel_error
        run.record(f"gradcheck.{name}", errors[name])
    run.record("gradcheck.max_rel_error", max(errors.values()))

    X, Y = run.rng.standard_normal((64, 20)), run.rng.standard_normal((64, 3))
    U, V = run.rng.standard_normal((16, 20)), run.rng.standard_normal((3, 16))
    reference = two_layer_squared_error_gradient(X, Y, U, V, 0.25, backend="numpy")
    twin = two_layer_squared_error_gradient(X, Y, U, V, 0.25, backend="numba")
    run.record("twins.two_layer_max_abs_diff",
               max(abs(reference[0] - twin[0]), *(np.max(np.abs(a - b)) for a, b in zip(reference[1:], twin[1:]))))

    points, labels = two_moons(run.rng, settings.n_points, noise=0.1)
    initial = {"W1": run.rng.standard_normal((settings.hidden, 2)) * np.sqrt(2.0 / 2),
               "b1": np.zeros(settings.hidden),
               "W2": run.rng.standard_normal((2, settings.hidden)) * np.sqrt(1.0 / settings.hidden),
               "b2": np.zeros(2)}
    curves, trained = {}, {}
    for name, lr in settings.learning_rates:
        trained[name], curves[name] = _train(run, settings, optim.OPTIMISERS[name](lr), initial, points, labels)
        accuracy = np.mean(np.argmax(_two_layer_classifier(trained[name], points), axis=1) == labels)
        run.record(f"optimisers.{name}.final_loss", curves[name][-1])
        run.record(f"optimisers.{name}.train_accuracy", accuracy)
    run.write_metrics({"step": list(range(settings.steps)), **{f"loss_{k}": v for k, v in curves.items()}})
    run.save_figure(_optimiser_figure(curves, trained, points, labels), "optimisers")


def _optimiser_figure(curves, trained, points, labels):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 1 + len(trained), figsize=(4 * (1 + len(trained)), 3.6))
    for name, curve in curves.items():
        axes[0].semilogy(curve, label=name)
    axes[0].set(xlabel="step", ylabel="training loss (cross-entropy)", title="two moons")
    axes[0].legend()
    grid_x, grid_y = np.meshgrid(np.linspace(-1.5, 2.5, 200), np.linspace(-1.0, 1.5, 200))
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    for axis, (name, params) in zip(axes[1:], trained.items()):
        prediction = np.argmax(_two_layer_classifier(params, grid), axis=1).reshape(grid_x.shape)
        axis.contourf(grid_x, grid_y, prediction, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
        axis.scatter(points[:, 0], points[:, 1], c=labels, cmap="coolwarm", s=6)
        axis.set(xlabel="$x_1$", ylabel="$x_2$", title=f"decision boundary, {name}")
    figure.tight_layout()
    return figure
