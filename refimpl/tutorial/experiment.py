"""Experiment ``tutorial``: the four function approximators of seed 001 and the loss surface.

1. the linear fit by GD (step 1/β), SGD and minibatch SGD against the closed form, with the descent
   lemma and the iteration-complexity bound checked at every step;
2. the one-layer, two-layer and convolutional networks on MNIST (bundled 4,000/1,000 split, or full
   MNIST with ``--mnist-dir``), trained by core's :func:`~refimpl.core.classifier.train_classifier`;
3. the filter-normalised loss surface around the trained two-layer network (Li et al. 2018);
4. central-difference checks of every network's hand gradient on real digits (narrow versions, every
   parameter), and the numba CNN against the NumPy reference.
"""

import time
from dataclasses import dataclass

import numpy as np

from refimpl.core.classifier import count_params, train_classifier
from refimpl.core.gradcheck import check_gradients
from refimpl.data import noisy_line
from refimpl.experiments import Claim, register_experiment
from refimpl.tutorial import landscape, model, theory


@dataclass(frozen=True)
class TutorialSettings:
    line_points: int = 21  # x = −10, −9, …, 10 as on the slides
    line_noise: float = 1.0
    theta_0: tuple = (0.0, 0.0)  # starting (m, c)
    gd_steps: int = 1000
    sgd_epochs: int = 100
    minibatch_size: int = 5
    epsilon: float = 1e-3  # target ‖∇L‖ of the iteration-complexity check
    n_train: int = None  # None: every training image of the chosen MNIST
    n_test: int = None
    batch_size: int = 64
    one_layer_epochs: int = 30
    one_layer_lr: float = 0.5  # plain SGD
    two_layer_epochs: int = 30
    cnn_epochs: int = 15
    momentum_lr: float = 0.05  # SGD with momentum 0.9 for the two deeper networks
    hidden: int = 100
    cnn_filters: int = 8
    backend: str = "numba"
    surface_points: int = 31
    surface_range: float = 1.0
    surface_samples: int = 2000
    gradient_checks: bool = True  # central differences on real digits (every parameter of narrow nets)


QUICK = TutorialSettings(gd_steps=500, sgd_epochs=50, one_layer_epochs=10, two_layer_epochs=10, cnn_epochs=8,
                         surface_points=21, surface_samples=1000)

SLIDES = "the tutorial slides (L. Rout, AAAI-21, 'Three Pillars of Deep Learning')"
LECUN_1998 = "LeCun, Bottou, Bengio & Haffner 1998, Proc. IEEE 86(11), Fig. 9 (full MNIST)"

CLAIMS = [
    Claim("linear.descent_lemma_violations", "with step 1/β, L(m_{t+1}) ≤ L(m_t) − ‖∇L(m_t)‖²/(2β) at every step",
          source=f"{SLIDES}, 'Linear Function Approximation', gradient descent under β-smoothness", at_most=0),
    Claim("linear.stationarity_violations", "min_t ‖∇L(m_t)‖² ≤ 2β(L(m_0) − L*)/T for every T: T = O(1/ε²)",
          source=f"{SLIDES}, 'Iteration Complexity'", at_most=0),
    Claim("linear.closed_form_gap", "gradient descent with step 1/β converges to the least-squares minimiser",
          source="Nesterov 2004, Introductory Lectures on Convex Optimization, Thm. 2.1.14", expected=(0.0, 1e-6)),
    Claim("mnist.one_layer.params", "one-layer network: 10×784 + 10 = 7,850 trainable parameters",
          source=f"{SLIDES}, 'One Layer Neural Network Function Approximator'", expected=(7850, 7850)),
    Claim("mnist.one_layer.test_accuracy", "a linear classifier: 12.0 % test error (accuracy 0.88)",
          source=LECUN_1998, expected=(0.86, 0.90)),
    Claim("mnist.two_layer.test_accuracy", "a two-layer network, 300 hidden units: 4.7 % test error (accuracy 0.953)",
          source=LECUN_1998, expected=(0.94, 0.97)),
    Claim("mnist.cnn.test_accuracy", "a small CNN (LeNet-1): 1.7 % test error (accuracy 0.983)",
          source=LECUN_1998, expected=(0.97, 0.995)),
]


@register_experiment("tutorial", quick=QUICK, full=TutorialSettings(), claims=CLAIMS)
def tutorial(run, settings):
    """Three pillars tutorial (seed 001): linear GD/SGD with the descent lemma, MNIST nets, loss surface."""
    _linear(run, settings)
    x_train, y_train, x_test, y_test = run.load_mnist(n_train=settings.n_train, n_test=settings.n_test).flat()
    run.record("data.mnist_n_train", len(x_train))
    run.record("data.mnist_n_test", len(x_test))
    networks = {
        "one_layer": (model.OneLayerNet(), settings.one_layer_epochs, "sgd", settings.one_layer_lr),
        "two_layer": (model.TwoLayerNet(hidden=settings.hidden), settings.two_layer_epochs, "momentum",
                      settings.momentum_lr),
        "cnn": (model.three_layer_convnet(filters=settings.cnn_filters, hidden=settings.hidden,
                                          backend=settings.backend), settings.cnn_epochs, "momentum",
                settings.momentum_lr),
    }
    trained, curves = {}, {}
    for name, (network, epochs, optimizer, lr) in networks.items():
        params = network.init_params(run.rng)
        start = time.perf_counter()
        curves[name] = train_classifier(
            network, params, x_train, y_train, run.rng, epochs=epochs, batch_size=settings.batch_size,
            optimizer=optimizer, lr=lr, progress=lambda it, name=name: run.progress(it, total=epochs, desc=name),
            on_step=run.check_finite).epoch_losses
        run.record_timing(f"mnist.{name}.train_seconds", time.perf_counter() - start)
        run.record(f"mnist.{name}.params", count_params(params))
        run.record(f"mnist.{name}.final_train_loss", curves[name][-1])
        run.record(f"mnist.{name}.train_accuracy", network.accuracy(params, x_train, y_train))
        run.record(f"mnist.{name}.test_accuracy", network.accuracy(params, x_test, y_test))
        trained[name] = (network, params)
    run.record("mnist.cnn.backend", settings.backend)
    _plot_training(run, curves)
    _loss_surface(run, settings, *trained["two_layer"], x_train, y_train, x_test, y_test)
    if settings.gradient_checks:  # last, so that switching it off leaves every other number unchanged
        _gradient_checks(run, x_train[:8], y_train[:8])


def _gradient_checks(run, x, labels):
    """Central differences against the hand gradients of narrow versions of the three networks on
    real digits (every parameter, float64), and the numba CNN against the NumPy reference."""
    networks = {"one_layer": model.OneLayerNet(),
                "two_layer": model.TwoLayerNet(hidden=4),
                "cnn": model.three_layer_convnet(filters=2, filter_size=3, hidden=4, backend="numpy")}
    worst_abs = worst_rel = 0.0
    for name, network in networks.items():
        params = network.init_params(run.rng)
        # nonzero biases: on MNIST's blank background a zero bias puts whole feature maps on the ReLU kink
        params = {k: v + 0.05 * run.rng.standard_normal(v.shape) for k, v in params.items()}
        names = sorted(params)
        grads = network.loss(params, x, labels)[1]
        comparison = check_gradients(lambda *arrays, network=network, names=names: network.mean_loss(
            dict(zip(names, arrays)), x, labels), [params[k] for k in names], [grads[k] for k in names])
        run.record(f"gradient_check.{name}.max_abs_error", comparison.max_abs_error)
        run.record(f"gradient_check.{name}.max_rel_error", comparison.max_rel_error)
        run.record(f"gradient_check.{name}.passed", comparison.passed)
        worst_abs, worst_rel = max(worst_abs, comparison.max_abs_error), max(worst_rel, comparison.max_rel_error)
    run.record("gradient_check.largest_abs_error", worst_abs)
    run.record("gradient_check.largest_rel_error", worst_rel)
    numba_cnn = model.three_layer_convnet(backend="numba")
    params = numba_cnn.init_params(run.rng)
    numba_grads = numba_cnn.loss(params, x, labels)[1]
    numpy_grads = model.three_layer_convnet(backend="numpy").loss(params, x, labels)[1]
    run.record("gradient_check.cnn_numba_vs_numpy_max_abs_difference",
               max(float(np.max(np.abs(numba_grads[k] - numpy_grads[k]))) for k in params))


def _linear(run, settings):
    x, y = noisy_line(run.rng, settings.line_points, noise=settings.line_noise)
    theta_star = model.closed_form(x, y)
    loss_star = model.linear_loss(theta_star, x, y)[0]
    gd = model.gradient_descent(x, y, settings.theta_0, settings.gd_steps)
    sgd = model.minibatch_sgd(x, y, settings.theta_0, run.rng, settings.sgd_epochs, batch_size=1)
    minibatch = model.minibatch_sgd(x, y, settings.theta_0, run.rng, settings.sgd_epochs,
                                    batch_size=settings.minibatch_size)
    excess_0 = model.linear_excess_loss(gd.thetas[0], theta_star, x)
    bound = theory.stationarity_bound(excess_0, gd.beta, np.arange(1, len(gd.grad_norms_sq) + 1))
    reached = np.flatnonzero(gd.grad_norms_sq <= settings.epsilon**2)
    gaps = theory.descent_lemma_gaps(gd.loss_changes, gd.grad_norms_sq, gd.beta)
    record = {
        "beta": gd.beta, "hessian_eigenvalues": np.linalg.eigvalsh(theory.hessian(x)), "step_size": gd.step_size,
        "closed_form.m": theta_star[0], "closed_form.c": theta_star[1], "closed_form.loss": loss_star,
        "gd.m": gd.thetas[-1, 0], "gd.c": gd.thetas[-1, 1], "gd.steps": settings.gd_steps,
        "final_loss": gd.losses[-1],
        "closed_form_gap": model.linear_excess_loss(gd.thetas[-1], theta_star, x),
        "parameter_gap": np.linalg.norm(gd.thetas[-1] - theta_star),
        "descent_lemma_violations": theory.descent_lemma_violations(gd.loss_changes, gd.grad_norms_sq, gd.beta,
                                                                    gradient_floor=gd.gradient_floor),
        "descent_lemma_largest_gap": gaps.max(),
        "stationarity_violations": theory.stationarity_violations(gd.grad_norms_sq, excess_0, gd.beta,
                                                                  gradient_floor=gd.gradient_floor),
        "gradient_floor": gd.gradient_floor,
        "epsilon": settings.epsilon,
        "bound_iterations_for_epsilon": theory.iterations_for_stationarity(settings.epsilon, excess_0, gd.beta),
        "measured_iterations_for_epsilon": int(reached[0]) if reached.size else None,
        "sgd.step_size": sgd.step_size, "sgd.final_loss": sgd.losses[-1],
        "sgd.closed_form_gap": model.linear_excess_loss(sgd.thetas[-1], theta_star, x),
        "minibatch.batch_size": settings.minibatch_size, "minibatch.final_loss": minibatch.losses[-1],
        "minibatch.closed_form_gap": model.linear_excess_loss(minibatch.thetas[-1], theta_star, x),
    }
    for key, value in record.items():
        run.record(f"linear.{key}", value)
    run.write_metrics({"step": np.arange(len(gd.losses)), "loss": gd.losses, "grad_norm_sq": gd.grad_norms_sq,
                       "min_grad_norm_sq": np.minimum.accumulate(gd.grad_norms_sq),
                       "stationarity_bound": bound})
    _plot_linear(run, x, y, theta_star, gd, sgd, minibatch, bound)


def _plot_linear(run, x, y, theta_star, gd, sgd, minibatch, bound):
    import matplotlib.pyplot as plt

    figure, ((ax_fit, ax_loss), (ax_lemma, ax_grad)) = plt.subplots(2, 2, figsize=(12, 9), layout="constrained")
    ax_fit.scatter(x, y, s=14, color="k", label="data")
    for label, theta in (("closed form", theta_star), ("GD", gd.thetas[-1]), ("SGD", sgd.thetas[-1]),
                         ("minibatch SGD", minibatch.thetas[-1])):
        ax_fit.plot(x, model.linear_model(theta[0], theta[1], x), label=f"{label}: m={theta[0]:.3f}, c={theta[1]:.3f}")
    ax_fit.set(xlabel="x", ylabel="y", title="f(m, c, x) = m x + c")
    ax_fit.legend(fontsize=7)
    loss_star = model.linear_loss(theta_star, x, y)[0]
    for label, trace in (("GD (η = 1/β)", gd), ("SGD (η = 1/β₁)", sgd), ("minibatch SGD", minibatch)):
        excess = [model.linear_excess_loss(theta, theta_star, x) for theta in trace.thetas]
        ax_loss.semilogy(np.arange(len(excess)), np.maximum(excess, 1e-300), label=label)
    ax_loss.set(xlabel="update t", ylabel="L(θ_t) − L*", title=f"excess loss (L* = {loss_star:.4f})")
    ax_loss.legend(fontsize=8)
    steps = np.arange(len(gd.grad_norms_sq))
    ax_lemma.semilogy(steps[:-1], -gd.loss_changes, label="decrease L(θ_t) − L(θ_t+1)")
    ax_lemma.semilogy(steps[:-1], gd.grad_norms_sq[:-1] / (2 * gd.beta), "k:", label="guarantee ‖∇L(θ_t)‖²/(2β)")
    ax_lemma.set(xlabel="GD step t", ylabel="loss decrease", title="descent lemma, step by step")
    ax_lemma.legend(fontsize=8)
    ax_grad.semilogy(steps, gd.grad_norms_sq, label="‖∇L(θ_t)‖²")
    ax_grad.semilogy(steps, np.minimum.accumulate(gd.grad_norms_sq), "--", label="min over s ≤ t of ‖∇L(θ_s)‖²")
    ax_grad.semilogy(steps, bound, "k:", label="2β(L(θ₀) − L*)/(t + 1)")
    ax_grad.set(xlabel="GD step t", ylabel="squared gradient norm", title="iteration complexity bound")
    ax_grad.legend(fontsize=8)
    run.save_figure(figure, "linear_descent")


def _plot_training(run, curves):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(5.5, 4))
    for name, losses in curves.items():
        accuracy = run.lookup(f"mnist.{name}.test_accuracy")
        ax.semilogy(np.arange(1, len(losses) + 1), losses, marker="o", ms=3, label=f"{name} (test acc {accuracy:.3f})")
    ax.set(xlabel="epoch", ylabel="mean training cross-entropy", title="MNIST training")
    ax.legend(loc="lower left")
    run.save_figure(figure, "mnist_training")


def _loss_surface(run, settings, network, params, x_train, y_train, x_test, y_test):
    import matplotlib.pyplot as plt

    samples = min(settings.surface_samples, len(x_train))
    x_loss, y_loss = x_train[:samples], y_train[:samples]

    def train_loss(p):
        return network.mean_loss(p, x_loss, y_loss)

    def test_loss(p):
        return network.mean_loss(p, x_test, y_test)

    delta = landscape.filter_normalized_direction(params, run.rng)
    eta = landscape.filter_normalized_direction(params, run.rng)
    alphas = np.linspace(-settings.surface_range, settings.surface_range, settings.surface_points)
    surface = landscape.loss_surface(train_loss, params, delta, eta, alphas, alphas)
    slice_train = landscape.loss_slice(train_loss, params, delta, alphas)
    slice_test = landscape.loss_slice(test_loss, params, delta, alphas)
    centre = len(alphas) // 2
    run.record("loss_surface.samples", samples)
    run.record("loss_surface.centre_loss", surface[centre, centre])
    run.record("loss_surface.grid_min", surface.min())
    run.record("loss_surface.grid_max", surface.max())
    run.record("loss_surface.slice_argmin_alpha", alphas[np.argmin(slice_train)])
    figure, (ax_contour, ax_slice) = plt.subplots(1, 2, figsize=(11, 4.5))
    levels = np.geomspace(surface.min(), surface.max(), 25)
    contour = ax_contour.contour(alphas, alphas, surface, levels=levels, cmap="viridis")
    ax_contour.clabel(contour, contour.levels[::4], fontsize=7, fmt="%.2f")
    ax_contour.plot(0, 0, "r*", ms=10, label="trained θ*")
    ax_contour.set(xlabel="α (direction δ)", ylabel="β (direction η)",
                   title="two-layer net: L(θ* + αδ + βη), filter-normalised")
    ax_contour.legend(loc="upper right")
    ax_slice.plot(alphas, slice_train, label=f"train ({samples} images)")
    ax_slice.plot(alphas, slice_test, label=f"test ({len(x_test)} images)")
    ax_slice.set(xlabel="α", ylabel="cross-entropy", title="1-D slice L(θ* + αδ)")
    ax_slice.legend()
    run.save_figure(figure, "loss_surface")
