"""Experiment ``dynsys``: structure checks of the flow-map networks, and certified robustness of an unconstrained
ResNet, the seed's 1-Lipschitz network (fixed steps and hinge loss as first built; learned steps and the
certificate-aware loss), and the 1-Lipschitz baselines CPL, SLL and MaxMin on two moons, a 1-turn spiral and
MNIST: clean accuracy, the empirical robust accuracy under L2-PGD and DDN (an upper bound on the true robust
accuracy) and the certified accuracy (a lower bound), over several seeds.

Cost of the full setting, sized from short measurements (1 December 2026, the shared 2-core machine, one BLAS
thread; 60 training steps per model, batch 128, width 128, 4 blocks, scaled to one epoch of full MNIST = 469
steps): ResNet 8.5 s, seed network (fixed steps) 15 s, seed network (learned steps) 16 s, CPL 13.5 s, SLL 5 s,
MaxMin 7 s per epoch, 65 s for all six models. The full setting trains 10 epochs (``mnist_steps`` = 4,690) for
3 seeds: ≈ 33 min. The attacks (PGD-50 at three radii and DDN-100 on 500 test points per model and seed,
≈ 250 forward and backward passes of 500 points) measured ≈ 3 min per seed under load, ≈ 9 min in all; the
2-D sets (6 models × 2 sets × 3 seeds × 2,000 steps) ≈ 6 min and the structure checks ≈ 1 min: about 50 min in
all, an hour with another job on the second core. Measured (the committed full run, 1 December 2026, alone on
the machine with BLAS pinned to one thread): 1,350 s in all, 1,027 s of it MNIST (training 38-84 s per model and
seed; the attacks and certificates the rest), 74 s moons, 65 s spirals. Its certified losses flatten after the
radius warm-up (MNIST, mean over an epoch: 1.67 at epoch 4, 1.61 at epoch 10), so longer training was not run.
Wider is not better at this budget: ``--set mnist_width=256`` (3.1 × the parameters, 4,282 s beside one other
job) certified 0.084-0.091 at ε = 1.58 where width 128 certifies 0.096-0.108. A probe of the full setting
for one model (MaxMin, one seed, 10 epochs of full MNIST at learning rate 1e-3, 82 s of training) reached clean
0.741 and certified 0.481 / 0.310 / 0.112 at ε = 0.5 / 1.0 / 1.58 on the 10,000 test images. The quick setting (bundled 4,000/1,000 MNIST
subset, 600 steps at 3e-3, 2 seeds) ran in 4.5 min at a load average of 7–10.
"""

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
    models: tuple = ("resnet", "lipschitz_old", "lipschitz_new", "cpl", "sll", "groupsort")
    # 2-D sets
    toy_train: int = 1000
    toy_test: int = 1000
    toy_width: int = 16
    toy_depth: int = 8  # ResNet steps, (expansive, contractive) pairs, CPL/SLL/MaxMin layers
    toy_steps: int = 2000
    toy_batch: int = 256
    toy_lr: float = 1e-2
    toy_margin: float = 0.3  # hinge margin of the first training (ResNet, seed network with fixed steps)
    toy_train_eps: float = 0.3  # target radius of the certificate-aware loss
    toy_eps: tuple = (0.05, 0.1, 0.2, 0.3)
    toy_curve_eps: float = 0.5  # the accuracy-vs-ε curves run from 0 to here
    spiral_turns: float = 1.0
    # MNIST (pixels in [0, 1], L2 radii in pixel units); None: every image of the split
    mnist_train: int = None
    mnist_test: int = None
    mnist_width: int = 128
    mnist_depth: int = 4
    mnist_steps: int = 4690  # 10 epochs of the 60,000 training images
    mnist_batch: int = 128
    mnist_lr: float = 1e-3  # at 3e-3 the certified loss fell apart after 2 epochs (MaxMin, 5 epochs: clean 0.58)
    mnist_margin: float = 1.0
    mnist_train_eps: float = 0.75  # at 1.58 (and 1.0) the short runs fell to the uniform prediction (loss ≈ log 10)
    mnist_eps: tuple = (0.5, 1.0, 1.58)
    mnist_curve_eps: float = 2.5
    # both
    temperature: float = 1.0  # of the certificate-aware cross-entropy (the free head sets the scale)
    warmup: float = 0.3  # fraction of the steps over which its radius grows from 0
    h_resnet: float = 0.5
    h_C: float = 0.1  # the seed network's fixed step (h_E the largest the pair rule allows)
    h_C_learned: float = 0.1  # the starting h_C of the learned pairs (from 0.5 they fell to ≈ 0.19 and fit worse)
    attack_points: int = 500  # test points attacked (PGD and DDN); clean and certified use all
    pgd_steps: int = 50
    pgd_restarts: int = 1  # DDN beside PGD is the stronger second attack
    ddn_steps: int = 100
    power_iterations: int = 50
    # structure checks
    vp_dim: int = 6
    vp_depth: int = 20
    mass_dim: int = 5
    mass_steps: int = 1000
    mass_h: float = 0.05
    splitting_steps: tuple = (0.08, 0.04, 0.02, 0.01)


QUICK = Settings(seeds=2, toy_train=600, toy_test=500, toy_steps=600, mnist_train=4000, mnist_test=1000,
                 mnist_steps=600, mnist_lr=3e-3, attack_points=300, pgd_steps=20, pgd_restarts=1, ddn_steps=50, power_iterations=20)

MODEL_LABELS = {"resnet": "ResNet", "lipschitz_old": "seed 1-Lip (fixed h, hinge)",
                "lipschitz_new": "seed 1-Lip (learned h, certified loss)", "cpl": "CPL", "sll": "SLL",
                "groupsort": "MaxMin + orthogonal"}
HINGE_MODELS = ("resnet", "lipschitz_old")  # trained as in the first pass; the others with the certified loss

SLIDES = "the dynamical-systems slides (D. Murari, 'Dynamical systems' based neural networks')"
CELLEDONI = "Celledoni, Murari, Owren, Schönlieb & Sherry 2023, SIAM J. Sci. Comput. 45(6), arXiv 2210.02373"
SHERRY = "Sherry, Celledoni, Ehrhardt, Murari, Owren & Schönlieb 2024, Physica D 463, arXiv 2306.17332"
GLORO = ("Leino, Wang & Fredrikson 2021, 'Globally-Robust Neural Networks', ICML; MNIST ε = 1.58 row of the "
         "results table on the GloRo project page (github.com/cmu-transparency/gloronet)")

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
    Claim("lipschitz.certified", "‖N(x) − N(y)‖ ≤ ‖x − y‖ for the body when √(1 − h_C + h_C²)(1 + h_E) ≤ 1",
          source=f"{SLIDES}, 'Lipschitz-constrained networks'; {SHERRY}", at_most=1.0 + 1e-9),
    Claim("lipschitz.empirical_max", "the Lipschitz constant of the trained body is at most the certified one",
          source=f"{SLIDES}, 'Lipschitz-constrained networks' (a measured max‖J‖ is a lower bound on it)",
          at_most="lipschitz.certified"),
    Claim("mnist.lipschitz_new.certified_accuracy_attacked", "a certified point cannot be broken by any attack: "
          "certified accuracy ≤ empirical robust accuracy (PGD and DDN), at each ε",
          source="Tsuzuku, Sato & Sugiyama 2018, NeurIPS, Prop. 1 (arXiv 1802.04034)",
          at_most="mnist.lipschitz_new.empirical_accuracy"),
    Claim("mnist.best_certified_at_largest_eps", "GloRo net, 4 conv + 3 dense layers (4C3F): 62.8 % verified "
          "robust accuracy at ε = 1.58 on MNIST (our best dense CPU model beside it)", source=GLORO,
          expected=(0.618, 0.638)),
    Claim("mnist.lipschitz_old.pgd_accuracy", "non-expansive networks are designed to be robust to adversarial "
                                              "perturbations, at some cost in clean accuracy",
          source=f"{SHERRY}, experiments"),
    Claim("mnist.resnet.pgd_accuracy", "a perturbation of small L2 norm (‖δ‖₂ = 0.3) changes an unconstrained "
                                       "network's label", source=f"{SLIDES}, 'Adversarial examples'"),
]


@register_experiment("dynsys", quick=QUICK, full=Settings(), claims=CLAIMS)
def dynsys(run, settings):
    """Dynamical-systems networks: structure checks, and certified robustness of the 1-Lipschitz networks beside
    a ResNet and the CPL, SLL and MaxMin baselines (seed 004)."""
    _structure(run, settings)
    models = {}
    for name, make, box in (("moons", _moons, None), ("spirals", _spirals, None), ("mnist", _mnist, (0.0, 1.0))):
        models[name] = _compare(run, settings, name, make, box)
    lipschitz = [name for name in settings.models if name != "resnet"]
    run.record("lipschitz.empirical_max", max(run.lookup(f"{d}.{m}.empirical_lipschitz")
                                              for d in models for m in lipschitz))
    run.record("lipschitz.certified", max(run.lookup(f"{d}.{m}.certified_lipschitz") for d in models for m in lipschitz))
    run.record("mnist.best_certified_at_largest_eps",
               max(run.lookup(f"mnist.{m}.certified_accuracy")[-1] for m in settings.models))
    run.save_figure(_boundary_figure(models), "decision_boundaries")
    run.save_figure(_accuracy_figure(run, settings), "accuracy_vs_eps")
    run.save_figure(_radius_figure(run, settings), "certified_radii")
    run.save_figure(_adversarial_figure(models["mnist"], settings, run.rng), "adversarial_digits")


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
# Six models, the same training loop and the same certificate
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
    builders = {
        "resnet": lambda rng, d_in, k: model.resnet(rng, d_in, width, depth, k, h=settings.h_resnet),
        "lipschitz_old": lambda rng, d_in, k: model.lipschitz_network(rng, d_in, width, depth, k, h_C=settings.h_C),
        "lipschitz_new": lambda rng, d_in, k: model.learned_lipschitz_network(rng, d_in, width, depth, k,
                                                                              h_C=settings.h_C_learned),
        "cpl": lambda rng, d_in, k: model.cpl_network(rng, d_in, width, depth, k),
        "sll": lambda rng, d_in, k: model.sll_network(rng, d_in, width, depth, k),
        "groupsort": lambda rng, d_in, k: model.groupsort_network(rng, d_in, width, depth, k),
    }
    return {name: builders[name] for name in settings.models}


def _hyper(settings, toy, name):
    """The training arguments of model ``name``: hinge for the first-pass models, else the certified loss."""
    prefix = "toy" if toy else "mnist"
    common = {key: getattr(settings, f"{prefix}_{key}") for key in ("steps", "batch", "lr")}
    common["batch_size"] = common.pop("batch")
    if name in HINGE_MODELS:
        return {**common, "loss": "hinge", "margin": getattr(settings, f"{prefix}_margin")}
    return {**common, "loss": "certified", "eps": getattr(settings, f"{prefix}_train_eps"),
            "temperature": settings.temperature, "warmup": settings.warmup}


def _compare(run, settings, dataset, make_data, box):
    """Train every model on every seed; record mean ± sd of the accuracies, the worst Lipschitz constants, the
    parameter counts and the first seed's certified radii and curves."""
    toy = dataset != "mnist"
    X, y, X_test, y_test = make_data(run, settings)
    eps_list = settings.toy_eps if toy else settings.mnist_eps
    curve_eps = np.linspace(0.0, settings.toy_curve_eps if toy else settings.mnist_curve_eps, 26)
    run.record(f"{dataset}.eps", eps_list)
    run.record(f"{dataset}.curve_eps", curve_eps)
    first_models, curves = {}, {}
    for name, build in _builders(settings, toy).items():
        hyper, per_seed = _hyper(settings, toy, name), []
        for seed, rng in enumerate(run.rng.spawn(settings.seeds)):
            net = build(rng, X.shape[1], int(y.max()) + 1)
            start = time.perf_counter()
            losses = training.train_classifier(net, X, y, rng, on_step=run.check_finite, **hyper)
            run.record_timing(f"{dataset}.{name}.seed_{seed}.train_seconds", time.perf_counter() - start)
            per_seed.append(_evaluate(net, X_test, y_test, eps_list, curve_eps, rng, settings, box))
            if seed == 0:
                first_models[name], curves[f"{name}_loss"] = net, losses
                run.record(f"{dataset}.{name}.parameters", sum(p.size for p in net.parameters().values()))
                run.record(f"{dataset}.{name}.certified_radii", per_seed[0].pop("certified_radii"))
                _record_learned_steps(run, f"{dataset}.{name}", net)
            else:
                per_seed[-1].pop("certified_radii")
        _record_seeds(run, f"{dataset}.{name}", per_seed)
    run.write_metrics({"step": np.arange(len(losses)), **curves}, filename=f"{dataset}_loss.csv")
    first_models["data"] = (X_test, y_test)
    return first_models


def _record_learned_steps(run, prefix, net):
    """The (h_C, h_E) of every learned pair after training (first seed), where the network has any."""
    steps = [theory.pair_rule_steps(layer.params["theta"][0])[:2] for layer in net.layers
             if layer.kind == "lipschitz_pair"]
    if steps:
        run.record(f"{prefix}.learned_h_C", [h_C for h_C, _ in steps])
        run.record(f"{prefix}.learned_h_E", [h_E for _, h_E in steps])


def _record_seeds(run, prefix, per_seed):
    """Mean and sd over seeds (the worst for Lipschitz constants), and every seed's value."""
    for key in per_seed[0]:
        values = np.array([result[key] for result in per_seed])
        worst = key in ("empirical_lipschitz", "certified_lipschitz")
        run.record(f"{prefix}.{key}", values.max(axis=0) if worst else values.mean(axis=0))
        if not worst:
            run.record(f"{prefix}.sd.{key}", values.std(axis=0, ddof=1) if len(values) > 1 else 0.0 * values[0])
        run.record(f"{prefix}.per_seed.{key}", values)


def _evaluate(net, X, y, eps_list, curve_eps, rng, settings, box):
    """Clean and certified accuracy on every test point; PGD and DDN on the first ``attack_points``.

    The empirical robust accuracy at ε counts a point robust when it is classified correctly, PGD at ε does not
    break it and DDN found no adversarial example of norm ≤ ε: an upper bound on the true robust accuracy. The
    certified accuracy of the same points is recorded beside it (``certified_accuracy_attacked``)."""
    logits = net(X)
    radii = theory.certified_radii(logits, y, theory.pair_lipschitz(net))
    attacked = slice(0, settings.attack_points)
    X_attack, y_attack = X[attacked], y[attacked]
    correct = theory.margins(logits[attacked], y_attack) > 0
    pgd = [training.pgd_l2(net, X_attack, y_attack, eps, rng, steps=settings.pgd_steps,
                           restarts=settings.pgd_restarts, box=box)[0] for eps in eps_list]
    ddn_norms, _ = training.ddn_l2(net, X_attack, y_attack, steps=settings.ddn_steps, box=box)
    body = model.Network(net.layers[:-1])
    return {
        "clean_accuracy": float(np.mean(theory.margins(logits, y) > 0)),
        "pgd_accuracy": [float(robust.mean()) for robust in pgd],
        "empirical_accuracy": [float(np.mean(correct & robust & (ddn_norms > eps)))
                               for robust, eps in zip(pgd, eps_list)],
        "certified_accuracy": [float(np.mean(radii > eps)) for eps in eps_list],
        "certified_accuracy_attacked": [float(np.mean(radii[attacked] > eps)) for eps in eps_list],
        "empirical_curve": [float(np.mean(correct & (ddn_norms > eps))) for eps in curve_eps],
        "certified_curve": [float(np.mean(radii > eps)) for eps in curve_eps],
        "certified_lipschitz": theory.body_lipschitz(net),
        "empirical_lipschitz": float(training.empirical_lipschitz(body, X_attack, rng,
                                                                  n_iter=settings.power_iterations).max()),
        "certified_radii": radii,
    }


# ---------------------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------------------

BOUNDARY_MODELS = ("resnet", "lipschitz_old", "lipschitz_new")


def _boundary_figure(models):
    import matplotlib.pyplot as plt

    names = [name for name in BOUNDARY_MODELS if name in models["moons"]]
    figure, axes = plt.subplots(2, len(names), figsize=(4.5 * len(names), 8.5), squeeze=False)
    for row, dataset in zip(axes, ("moons", "spirals")):
        X, y = models[dataset]["data"]
        low, high = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
        g0, g1 = np.meshgrid(np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200))
        grid = np.column_stack([g0.ravel(), g1.ravel()])
        for ax, name in zip(row, names):
            logits = models[dataset][name](grid)
            score = (logits[:, 1] - logits[:, 0]).reshape(g0.shape)
            limit = np.abs(score).max()
            ax.contourf(g0, g1, score, levels=20, cmap="RdBu", vmin=-limit, vmax=limit, alpha=0.7)
            ax.contour(g0, g1, score, levels=[0.0], colors="k", linewidths=1.5)
            ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", s=6, edgecolors="k", linewidths=0.2)
            accuracy = training.accuracy(models[dataset][name], X, y)
            ax.set(title=f"{dataset}, {MODEL_LABELS[name]}\ntest accuracy {accuracy:.3f}", xlabel="$x_1$",
                   ylabel="$x_2$")
    figure.suptitle("Decision boundaries (colour: logit difference $z_1 - z_0$; black: boundary)")
    return figure


DATASETS = ("moons", "spirals", "mnist")


def _accuracy_figure(run, settings):
    """Clean / empirical (DDN, attacked points) / certified accuracy against ε, all models, one panel per set."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for ax, dataset in zip(axes, DATASETS):
        eps = run.lookup(f"{dataset}.curve_eps")
        for index, name in enumerate(settings.models):
            colour = f"C{index}"
            ax.plot(eps, run.lookup(f"{dataset}.{name}.empirical_curve"), "--", color=colour)
            ax.plot(eps, run.lookup(f"{dataset}.{name}.certified_curve"), "-", color=colour,
                    label=MODEL_LABELS[name])
            ax.plot([0.0], [run.lookup(f"{dataset}.{name}.clean_accuracy")], "o", color=colour)
        ax.set(xlabel="L2 radius ε", ylabel="accuracy", ylim=(0, 1.02),
               title=f"{dataset} (mean of {settings.seeds} seeds)")
        ax.legend(fontsize=7)
    figure.suptitle("Certified accuracy (solid, a lower bound), empirical accuracy under DDN (dashed, an upper "
                    "bound, attacked points), clean accuracy (dot)")
    return figure


def _radius_figure(run, settings):
    """Distribution of the certified radii of the test points (first seed), per model and data set."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(17, 4.5))
    for ax, dataset in zip(axes, DATASETS):
        radii = {name: np.asarray(run.lookup(f"{dataset}.{name}.certified_radii")) for name in settings.models}
        finite = np.concatenate([r[np.isfinite(r)] for r in radii.values()])
        bins = np.linspace(0.0, max(float(np.quantile(finite, 0.995)), 1e-3), 40)
        for index, (name, r) in enumerate(radii.items()):
            ax.hist(np.clip(r[r > 0], 0.0, bins[-1]), bins=bins, histtype="step", color=f"C{index}",
                    label=f"{MODEL_LABELS[name]} (median {np.median(r):.3g})")
        ax.set(xlabel="certified L2 radius (correctly classified test points)", ylabel="points",
               title=f"{dataset}, seed 0", yscale="log")
        ax.legend(fontsize=7)
    return figure


def _adversarial_figure(models, settings, rng):
    """For each model, a test digit that both classify correctly and its adversarial example at the smallest
    ε that breaks it (PGD): the ε list, then 2, 3, 4, 5 if the list is not enough. If none does, the panel
    shows the last PGD iterate and says "not broken up to ε = 5"."""
    import matplotlib.pyplot as plt

    X, y = models["data"]
    both = np.flatnonzero((theory.margins(models["resnet"](X), y) > 0) &
                          (theory.margins(models["lipschitz_new"](X), y) > 0))
    index = both[:1] if len(both) else np.array([0])
    figure, axes = plt.subplots(2, 3, figsize=(8, 5.8))
    for row, name in zip(axes, ("resnet", "lipschitz_new")):
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
    figure.suptitle("L2-PGD adversarial examples on MNIST")
    return figure
