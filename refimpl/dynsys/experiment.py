"""Experiment ``dynsys``: structure checks of the flow-map networks, and an unconstrained ResNet against a
1-Lipschitz network on two moons, a 1-turn spiral and the bundled MNIST subset (clean, L2-PGD and certified
accuracy, empirical against certified Lipschitz constants), over several seeds."""

import time
from dataclasses import dataclass

import numpy as np

from refimpl.core.fitting import loglog_slope
from refimpl.data import load_mnist, spirals, two_moons
from refimpl.dynsys import kernels, model, splitting, theory, training
from refimpl.experiments import Claim, register_experiment


@dataclass(frozen=True)
class Settings:
    seeds: int = 3
    # 2-D sets
    toy_train: int = 1000
    toy_test: int = 1000
    toy_width: int = 16
    toy_depth: int = 8  # ResNet steps, and (expansive, contractive) pairs of the 1-Lipschitz net
    toy_steps: int = 2000
    toy_batch: int = 256
    toy_lr: float = 1e-2
    toy_margin: float = 0.3
    toy_eps: tuple = (0.05, 0.1, 0.2, 0.3)
    spiral_turns: float = 1.0
    # MNIST subset (pixels in [0, 1], L2 radii in pixel units)
    mnist_train: int = 4000
    mnist_test: int = 1000
    mnist_width: int = 64
    mnist_depth: int = 2
    mnist_steps: int = 3000
    mnist_batch: int = 128
    mnist_lr: float = 3e-3
    mnist_margin: float = 1.0
    mnist_eps: tuple = (0.1, 0.3, 0.5, 1.0, 1.58)
    # both
    h_resnet: float = 0.5
    h_C: float = 0.1  # h_E is the largest the pair rule allows (0.0483); small h_C contracts least
    pgd_steps: int = 50
    pgd_restarts: int = 2
    power_iterations: int = 50
    # structure checks
    vp_dim: int = 6
    vp_depth: int = 20
    mass_dim: int = 5
    mass_steps: int = 1000
    mass_h: float = 0.05
    splitting_steps: tuple = (0.08, 0.04, 0.02, 0.01)


QUICK = Settings(seeds=2, toy_train=600, toy_test=500, toy_steps=800, mnist_train=2000, mnist_test=500,
                 mnist_steps=800, pgd_steps=20, pgd_restarts=1, power_iterations=20)

SLIDES = "the dynamical-systems slides (D. Murari, 'Dynamical systems' based neural networks')"
CELLEDONI = "Celledoni, Murari, Owren, Schönlieb & Sherry 2023, SIAM J. Sci. Comput. 45(6), arXiv 2210.02373"
SHERRY = "Sherry, Celledoni, Ehrhardt, Murari, Owren & Schönlieb 2024, Physica D 463, arXiv 2306.17332"

CLAIMS = [
    Claim("vp.max_abs_logdet", "the step x' = x + hΣ(Av + a), v' = v + hΣ(Bx' + b) preserves volume: det J = 1",
          source=f"{SLIDES}, 'volume preservation' example; {CELLEDONI}", expected=(0.0, 1e-10)),
    Claim("mass.max_drift", "ẋ = (A_θ(x) − A_θ(x)ᵀ)𝟙 preserves 𝟙ᵀx, and Runge-Kutta methods keep linear invariants",
          source=f"{SLIDES}, 'Mass-preserving networks'; Hairer, Lubich & Wanner 2006, GNI, Thm. IV.1.5",
          expected=(0.0, 1e-9)),
    Claim("hamiltonian.max_symplectic_error", "symplectic Euler steps of a Hamiltonian field satisfy JᵀΩJ = Ω",
          source="Hairer, Lubich & Wanner 2006, Geometric Numerical Integration, Thm. VI.3.3; " + CELLEDONI,
          expected=(0.0, 1e-10)),
    Claim("splitting.order", "f = ∇U + X_S: Φ_f^h = Φ_∇U^{h/2} ∘ Φ_X_S^h ∘ Φ_∇U^{h/2} + O(h³) (local order 3)",
          source=f"{SLIDES}, 'Can we still accurately approximate functions?'; {CELLEDONI}", expected=(2.75, 3.5)),
    Claim("lipschitz.certified", "‖N(x) − N(y)‖ ≤ ‖x − y‖ when √(1 − h_C + h_C²)(1 + h_E) ≤ 1",
          source=f"{SLIDES}, 'Lipschitz-constrained networks'; {SHERRY}", at_most=1.0 + 1e-9),
    Claim("lipschitz.empirical_max", "the Lipschitz constant of the trained network is at most the certified one",
          source=f"{SLIDES}, 'Lipschitz-constrained networks' (a measured max‖J‖ is a lower bound on it)",
          at_most="lipschitz.certified"),
    Claim("mnist.lipschitz.pgd_accuracy", "non-expansive networks are designed to be robust to adversarial "
                                          "perturbations, at some cost in clean accuracy",
          source=f"{SHERRY}, experiments"),
    Claim("mnist.resnet.pgd_accuracy", "a perturbation of small L2 norm (‖δ‖₂ = 0.3) changes an unconstrained "
                                       "network's label", source=f"{SLIDES}, 'Adversarial examples'"),
]


@register_experiment("dynsys", quick=QUICK, full=Settings(), claims=CLAIMS)
def dynsys(run, settings):
    """Dynamical-systems networks: structure checks and ResNet vs 1-Lipschitz robustness (seed 004)."""
    _structure(run, settings)
    toy_models = {}
    for name, make in (("moons", _moons), ("spirals", _spirals)):
        toy_models[name] = _compare(run, settings, name, make, box=None)
    mnist_models = _compare(run, settings, "mnist", _mnist, box=(0.0, 1.0))
    empirical = [run.lookup(f"{d}.lipschitz.empirical_lipschitz") for d in ("moons", "spirals", "mnist")]
    certified = [run.lookup(f"{d}.lipschitz.certified_lipschitz") for d in ("moons", "spirals", "mnist")]
    run.record("lipschitz.empirical_max", max(empirical))
    run.record("lipschitz.certified", max(certified))
    run.save_figure(_boundary_figure(toy_models), "decision_boundaries")
    run.save_figure(_robustness_figure(run, settings), "robustness")
    run.save_figure(_adversarial_figure(mnist_models, settings, run.rng), "adversarial_digits")


# ---------------------------------------------------------------------------------------------------------------
# Structure: determinant, linear invariant, symplecticity, Strang order
# ---------------------------------------------------------------------------------------------------------------

def _structure(run, settings):
    import matplotlib.pyplot as plt  # lazily: listing experiments must not load matplotlib

    rng = run.rng
    vp = model.volume_preserving_network(rng, settings.vp_dim, settings.vp_depth, h=0.5)
    J = model.network_jacobian(vp, rng.standard_normal((200, settings.vp_dim)))
    run.record("vp.max_abs_logdet", np.abs(np.linalg.slogdet(J)[1]).max())
    run.record("vp.max_condition_number", np.linalg.cond(J).max())
    resnet_J = model.network_jacobian(model.Network(model.resnet(rng, settings.vp_dim, settings.vp_dim,
                                                                 settings.vp_depth, 1, h=0.5).layers[1:-1]),
                                      rng.standard_normal((200, settings.vp_dim)))
    run.record("vp.resnet_max_abs_logdet", np.abs(np.linalg.slogdet(resnet_J)[1]).max())

    d = settings.mass_dim
    x, U, u = rng.standard_normal((20, d)), rng.standard_normal((d * d, d)) / np.sqrt(d), rng.standard_normal(d * d)
    drifts = {}
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for method in model.RK_TABLEAUS:
        _, sums = kernels.mass_rollout(x, U, u, settings.mass_h, settings.mass_steps, method)
        drift = np.abs(sums - sums[0]).max(axis=1)
        drifts[method] = drift.max()
        left.semilogy(np.arange(1, len(drift)), np.maximum(drift[1:], 1e-17), label=method)
    run.record("mass.drift", drifts)
    run.record("mass.max_drift", max(drifts.values()))
    euler_step = model.resnet(rng, d, d, 1, 1, h=settings.mass_h, activation_name="tanh").layers[1]
    unconstrained = model.Network([euler_step] * settings.mass_steps)(x)  # same length, no structure
    run.record("mass.resnet_drift", np.abs(unconstrained.sum(axis=1) - x.sum(axis=1)).max())
    left.set(xlabel="step", ylabel="max |𝟙ᵀx_t − 𝟙ᵀx_0|", title=f"mass-preserving field, d = {d}, h = {settings.mass_h}")
    left.legend()

    ham = model.hamiltonian_network(rng, settings.vp_dim, settings.vp_depth, h=0.5)
    J = model.network_jacobian(ham, rng.standard_normal((200, settings.vp_dim)))
    k = settings.vp_dim // 2
    omega = np.block([[np.zeros((k, k)), np.eye(k)], [-np.eye(k), np.zeros((k, k))]])
    run.record("hamiltonian.max_symplectic_error", np.abs(J.transpose(0, 2, 1) @ omega @ J - omega).max())

    A, b = rng.standard_normal((3, 3)) / np.sqrt(3), rng.standard_normal(3)
    C, c = rng.standard_normal((9, 3)) / 3, rng.standard_normal(9)
    steps = np.array(settings.splitting_steps)
    errors = splitting.strang_local_errors(lambda y: splitting.gradient_field(y, A, b),
                                           lambda y: splitting.sphere_field(y, C, c), rng.standard_normal((10, 3)), steps)
    run.record("splitting.steps", steps)
    run.record("splitting.local_errors", errors)
    run.record("splitting.order", loglog_slope(steps, errors))
    right.loglog(steps, errors, "o-", label="Strang local error")
    right.loglog(steps, errors[0] * (steps / steps[0]) ** 3, "k--", label="slope 3")
    right.set_xticks(steps, labels=[f"{h:g}" for h in steps], minor=False)
    right.minorticks_off()
    right.set(xlabel="h", ylabel="max ‖Strang(h)x − Φ_f^h x‖", title="gradient + sphere-preserving splitting")
    right.legend()
    run.save_figure(figure, "structure")


# ---------------------------------------------------------------------------------------------------------------
# ResNet vs 1-Lipschitz network
# ---------------------------------------------------------------------------------------------------------------

def _moons(run, settings):
    rng = run.rng
    return (*two_moons(rng, settings.toy_train, noise=0.1), *two_moons(rng, settings.toy_test, noise=0.1))


def _spirals(run, settings):
    make = lambda n: spirals(run.rng, n, turns=settings.spiral_turns, noise=0.05)  # noqa: E731
    return (*make(settings.toy_train), *make(settings.toy_test))


def _mnist(run, settings):
    split = load_mnist(run.mnist_dir, n_train=settings.mnist_train, n_test=settings.mnist_test)
    run.record("mnist.source", split.source)
    return split.flat()


def _builders(settings, toy):
    width, depth = (settings.toy_width, settings.toy_depth) if toy else (settings.mnist_width, settings.mnist_depth)
    return {
        "resnet": lambda rng, d_in, k: model.resnet(rng, d_in, width, depth, k, h=settings.h_resnet),
        "lipschitz": lambda rng, d_in, k: model.lipschitz_network(rng, d_in, width, depth, k, h_C=settings.h_C),
    }


def _compare(run, settings, dataset, make_data, box):
    """Train both models on every seed; record mean accuracies and the worst Lipschitz constants."""
    toy = dataset != "mnist"
    X, y, X_test, y_test = make_data(run, settings)
    eps_list = settings.toy_eps if toy else settings.mnist_eps
    hyper = dict(steps=settings.toy_steps if toy else settings.mnist_steps,
                 batch_size=settings.toy_batch if toy else settings.mnist_batch,
                 lr=settings.toy_lr if toy else settings.mnist_lr,
                 margin=settings.toy_margin if toy else settings.mnist_margin)
    run.record(f"{dataset}.eps", eps_list)
    first_models, curves = {}, {}
    for name, build in _builders(settings, toy).items():
        per_seed = []
        for seed, rng in enumerate(run.rng.spawn(settings.seeds)):
            net = build(rng, X.shape[1], int(y.max()) + 1)
            start = time.perf_counter()
            losses = training.train_classifier(net, X, y, rng, on_step=run.check_finite, **hyper)
            run.record_timing(f"{dataset}.{name}.seed_{seed}.train_seconds", time.perf_counter() - start)
            per_seed.append(_evaluate(net, X_test, y_test, eps_list, rng, settings, box))
            if seed == 0:
                first_models[name], curves[f"{name}_loss"] = net, losses
        for key in per_seed[0]:
            values = np.array([result[key] for result in per_seed])
            worst = key in ("empirical_lipschitz", "certified_lipschitz")
            run.record(f"{dataset}.{name}.{key}", values.max(axis=0) if worst else values.mean(axis=0))
            run.record(f"{dataset}.{name}.per_seed.{key}", values)
    for key in ("clean_accuracy", "pgd_accuracy", "certified_accuracy"):
        difference = np.subtract(run.lookup(f"{dataset}.lipschitz.{key}"), run.lookup(f"{dataset}.resnet.{key}"))
        run.record(f"{dataset}.lipschitz_minus_resnet.{key}", difference)
    run.write_metrics({"step": np.arange(hyper["steps"]), **curves}, filename=f"{dataset}_loss.csv")
    first_models["data"] = (X_test, y_test)
    return first_models


def _evaluate(net, X, y, eps_list, rng, settings, box):
    logits = net(X)
    lipschitz = theory.certified_lipschitz(net)
    pgd = [training.pgd_l2(net, X, y, eps, rng, steps=settings.pgd_steps, restarts=settings.pgd_restarts,
                           box=box)[0].mean() for eps in eps_list]
    return {
        "clean_accuracy": training.accuracy(net, X, y),
        "pgd_accuracy": pgd,
        "certified_accuracy": [theory.certified_accuracy(logits, y, lipschitz, eps) for eps in eps_list],
        "certified_lipschitz": lipschitz,
        "empirical_lipschitz": training.empirical_lipschitz(net, X, rng, n_iter=settings.power_iterations).max(),
    }


# ---------------------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------------------

def _boundary_figure(toy_models):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(9, 8.5))
    for row, (dataset, models) in zip(axes, toy_models.items()):
        X, y = models["data"]
        low, high = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
        g0, g1 = np.meshgrid(np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200))
        grid = np.column_stack([g0.ravel(), g1.ravel()])
        for ax, name in zip(row, ("resnet", "lipschitz")):
            logits = models[name](grid)
            score = (logits[:, 1] - logits[:, 0]).reshape(g0.shape)
            limit = np.abs(score).max()
            ax.contourf(g0, g1, score, levels=20, cmap="RdBu", vmin=-limit, vmax=limit, alpha=0.7)
            ax.contour(g0, g1, score, levels=[0.0], colors="k", linewidths=1.5)
            ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", s=6, edgecolors="k", linewidths=0.2)
            accuracy = training.accuracy(models[name], X, y)
            ax.set(title=f"{dataset}, {name}: test accuracy {accuracy:.3f}", xlabel="$x_1$", ylabel="$x_2$")
    figure.suptitle("Decision boundaries (colour: logit difference $z_1 - z_0$; black: boundary)")
    return figure


def _robustness_figure(run, settings):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, dataset in zip(axes, ("moons", "spirals", "mnist")):
        eps = [0.0, *run.lookup(f"{dataset}.eps")]
        for name, colour in (("resnet", "C0"), ("lipschitz", "C3")):
            clean = run.lookup(f"{dataset}.{name}.clean_accuracy")
            ax.plot(eps, [clean, *run.lookup(f"{dataset}.{name}.pgd_accuracy")], "o-", color=colour,
                    label=f"{name}, L2-PGD")
            ax.plot(eps, [clean, *run.lookup(f"{dataset}.{name}.certified_accuracy")], "s--", color=colour,
                    label=f"{name}, certified")
        ax.set(xlabel="L2 radius ε", ylabel="accuracy", title=f"{dataset} (mean of {settings.seeds} seeds)", ylim=(0, 1.02))
        ax.legend(fontsize=8)
    return figure


def _adversarial_figure(models, settings, rng):
    """For each model, a test digit that both classify correctly and its adversarial example at the smallest
    ε that breaks it (PGD): the ε list, then 2, 3, 4, 5 if the list is not enough. If none does, the panel
    shows the last PGD iterate and says "not broken up to ε = 5"."""
    import matplotlib.pyplot as plt

    X, y = models["data"]
    both = np.flatnonzero((theory.margins(models["resnet"](X), y) > 0) & (theory.margins(models["lipschitz"](X), y) > 0))
    index = both[:1] if len(both) else np.array([0])
    figure, axes = plt.subplots(2, 3, figsize=(8, 5.8))
    for row, name in zip(axes, ("resnet", "lipschitz")):
        net = models[name]
        for eps in (*settings.mnist_eps, 2.0, 3.0, 4.0, 5.0):
            robust, X_adv = training.pgd_l2(net, X[index], y[index], eps, rng, steps=settings.pgd_steps, box=(0.0, 1.0))
            if not robust[0]:
                break
        broken = not robust[0]
        adversarial = X_adv[0]
        prediction = int(net(adversarial[None]).argmax())
        delta = adversarial - X[index[0]]
        images = (X[index[0]], adversarial, delta)
        titles = (f"clean: label {y[index[0]]}, predicted {int(net(X[index]).argmax())}",
                  f"‖δ‖₂ = {np.linalg.norm(delta):.2f} (ε = {eps}): predicted {prediction}" if broken else
                  f"not broken up to ε = {eps}: ‖δ‖₂ = {np.linalg.norm(delta):.2f}, predicted {prediction}",
                  "perturbation δ")
        for ax, image, title in zip(row, images, titles):
            limit = max(np.abs(image).max(), 1e-12) if image is delta else 1.0
            ax.imshow(image.reshape(28, 28), cmap="RdBu_r" if image is delta else "gray",
                      vmin=-limit if image is delta else 0.0, vmax=limit)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
        row[0].text(-4, 14, name, rotation=90, va="center", ha="right", fontsize=11)
    figure.suptitle("L2-PGD adversarial examples on the bundled MNIST subset")
    return figure
