r"""One generation of spatial coevolution, as pure functions of (state, neighbours' state, seed).

Lipizzaner (Schmiedlechner et al. 2018, arXiv:1811.12843) and Mustangs (Toutouh et al., GECCO 2019,
arXiv:1905.12702), in the order of the public code's ``LipizzanerGANTrainer.train``, made synchronous: every
cell reads its neighbourhood's state of the previous iteration and returns its new state.

1. **exchange**: the neighbourhood's generators and discriminators (centre first);
2. **fitness**: each individual's loss averaged over all neighbourhood opponents on fresh samples (lower is
   better); the generator loss of Mustangs is drawn anew for every pairing;
3. **selection** (``enable_selection``): a tournament of size 2 per population; the winner is copied;
4. **training**: ``n_batches`` Adam steps of the generator, each against a randomly drawn discriminator of the
   pool, the discriminator stepped every ``discriminator_every``-th batch against a randomly drawn generator;
   before each step the learning rate mutates (:func:`mutate_learning_rate`);
5. **replacement** (with selection): the trained copy replaces the cell's individual only if its fitness is
   lower (elitist);
6. **mixture**: one (1+1)-ES step on the weights of the neighbourhood's generators (:func:`evolve_mixture`).

E-GAN (Wang et al., IEEE TEVC 2019, arXiv:1803.00657) is :func:`egan_step`, a 1×1 "grid" with one
discriminator and a generator that evolves by three mutations per batch.

A cell's state is a plain dict of NumPy arrays and numbers::

    {"cell": int, "iteration": int, "mixture_weights": (m,), "mixture_score": float,
     "generator": {"params": {...}, "optimiser": Adam state_dict, "fitness": float},
     "discriminator": {...}}

All randomness of a cell in an iteration comes from ``SeedSequence([seed, cell, iteration])``.
"""

import copy
import math
from dataclasses import dataclass
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from refimpl.coevo.grid import neighbourhood
from refimpl.coevo.kernels import CellAdam
from refimpl.coevo.losses import LOSS_NAMES, _discriminator_loss, _draw_loss, _generator_loss
from refimpl.coevo.networks import (_discriminate, _discriminator_gradients, _generate, _generator_gradients,
                                    check_params, discriminator_sizes, generator_sizes, init_network)
from refimpl.core import unchecked as nn
from refimpl.core.validate import (as_float_array, check_choice, check_finite_step, check_int, check_positive,
                                   check_real, check_rng, check_shape)

# lipizzaner_step, egan_step, evaluate, train and latent are the pieces cell_step runs after its checks
__all__ = ["CellSettings", "check_settings", "check_images", "cell_rng", "init_cell", "cell_step",
           "mutate_learning_rate", "batch_indices", "tournament", "mixture_samples", "evolve_mixture",
           "egan_fitness"]

METHODS = ("lipizzaner", "egan")
EGAN_MUTATIONS = ("minimax", "bce", "mse")
"""E-GAN's three generator objectives: minimax, heuristic (the code's ``trickLogD`` = our non-saturating
"bce") and least squares (our "mse")."""


@dataclass(frozen=True)
class CellSettings:
    """Everything one cell needs; the defaults are the public code's MNIST configuration.

    ``n_batches`` Adam steps of the generator per iteration (the GECCO'19 configs use 300, the others a whole
    epoch); ``fitness_samples`` and ``score_samples`` real/generated images per fitness and per mixture score.
    E-GAN: ``egan_gamma`` γ of the fitness and ``egan_discriminator_steps`` k_D (0.002 and 3 in the authors'
    CIFAR-10 script, 1.0 and 1 in their 8-Gaussian toy; their MNIST settings are not published: k_D = 1 keeps
    the discriminator's budget near Lipizzaner's one step per two batches).
    """

    grid_side: int = 2
    method: str = "lipizzaner"
    generator_loss: str = "bce"
    latent_dim: int = 64
    hidden: int = 256
    image_dim: int = 784
    dtype: str = "float32"
    batch_size: int = 100
    n_batches: int = 100
    discriminator_every: int = 2
    learning_rate: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    mutation_probability: float = 0.5
    mutation_alpha: float = 1e-4
    enable_selection: bool = True
    tournament_size: int = 2
    fitness_samples: int = 1000
    mixture_sigma: float = 0.01
    score_samples: int = 1000
    egan_gamma: float = 0.002
    egan_discriminator_steps: int = 1
    egan_fitness_samples: int = 256
    backend: str = "numba"

    def __post_init__(self):
        check_settings(self)


def check_settings(settings):
    """Return ``settings`` if it is a :class:`CellSettings` whose values can work, else raise naming the field."""
    if not isinstance(settings, CellSettings):
        raise TypeError(f"settings must be a CellSettings; got {type(settings).__name__}")
    for name in ("grid_side", "latent_dim", "hidden", "image_dim", "batch_size", "n_batches", "discriminator_every",
                 "fitness_samples", "score_samples", "egan_discriminator_steps", "egan_fitness_samples"):
        check_int(name, getattr(settings, name), minimum=1)
    check_int("tournament_size", settings.tournament_size, minimum=2)
    check_choice("method", settings.method, METHODS)
    check_choice("generator_loss", settings.generator_loss, LOSS_NAMES)
    check_choice("dtype", settings.dtype, ("float32", "float64"))
    check_choice("backend", settings.backend, ("numpy", "numba"))
    for name in ("learning_rate", "mixture_sigma"):
        check_positive(name, getattr(settings, name))
    for name in ("mutation_alpha", "egan_gamma"):
        check_positive(name, getattr(settings, name), allow_zero=True)
    for name in ("beta1", "beta2", "mutation_probability"):
        _check_probability(name, getattr(settings, name))
    if settings.method == "egan" and settings.grid_side != 1:
        raise ValueError(f"method='egan' has one generator and one discriminator: grid_side must be 1; "
                         f"got {settings.grid_side}")
    return settings


def _check_probability(name, value):
    if not 0 <= check_real(name, value) <= 1:
        raise ValueError(f"{name} must be in [0, 1]; got {value!r}")
    return value


def check_images(images, settings, name="images"):
    """Training images as a (n, image_dim) array of the settings' dtype with values in [−1, 1]; errors name ``name``."""
    images = as_float_array(name, images, ndim=2, dtype=np.dtype(check_settings(settings).dtype))
    check_shape(name, images, (None, settings.image_dim), described="(n, image_dim)",
                context=f"with image_dim = {settings.image_dim}")
    if images.size and (images.min() < -1 or images.max() > 1):
        raise ValueError(f"{name} must lie in [-1, 1] (the generator ends in tanh); got values from "
                         f"{images.min():.3g} to {images.max():.3g}")
    needed = max(settings.fitness_samples, settings.batch_size)
    if len(images) < needed:
        raise ValueError(f"{name} must hold at least max(fitness_samples, batch_size) = {needed} images; "
                         f"got {len(images)}")
    return images


def cell_rng(seed, cell, iteration):
    """The generator of ``cell`` in ``iteration``: ``default_rng(SeedSequence([seed, cell, iteration]))``."""
    for name, value in (("seed", seed), ("cell", cell), ("iteration", iteration)):
        check_int(name, value, minimum=0)
    return _cell_rng(seed, cell, iteration)


def _cell_rng(seed, cell, iteration):
    return np.random.default_rng(np.random.SeedSequence([seed, cell, iteration]))


def init_cell(cell, settings, seed):
    """Iteration-0 state of ``cell``: fresh networks (PyTorch's default init), zero Adam moments, uniform mixture."""
    check_settings(settings)
    m = len(neighbourhood(cell, settings.grid_side))
    rng = cell_rng(seed, cell, 0)
    sizes = {"generator": generator_sizes(settings.latent_dim, settings.hidden, settings.image_dim),
             "discriminator": discriminator_sizes(settings.image_dim, settings.hidden)}
    state = {"cell": cell, "iteration": 0, "mixture_weights": np.full(m, 1.0 / m), "mixture_score": math.inf}
    for role, role_sizes in sizes.items():
        params = init_network(rng, role_sizes, settings.dtype)
        optimiser = CellAdam(settings.learning_rate, settings.beta1, settings.beta2)
        for name, array in params.items():
            optimiser.buffers[name] = {"first_moment": np.zeros_like(array), "second_moment": np.zeros_like(array)}
        state[role] = {"params": params, "optimiser": optimiser.state_dict(), "fitness": math.inf}
    return state


def mutate_learning_rate(lr, rng, lr0, alpha, probability):
    r"""The public code's ``mutate_hyperparams``: with probability ``probability``,

    .. math:: \eta \leftarrow \max(0, \eta + \alpha\,\delta), \qquad \delta \sim \mathcal N(-\eta_0/10, \eta_0^2)

    (in effect a slow drift downwards: mean change :math:`-p\alpha\eta_0/10` per step).
    """
    check_positive("lr", lr, allow_zero=True)
    check_positive("alpha", alpha, allow_zero=True)
    _check_probability("probability", probability)
    check_positive("lr0", lr0)
    return _mutate_learning_rate(lr, check_rng("rng", rng), lr0, alpha, probability)


def _mutate_learning_rate(lr, rng, lr0, alpha, probability):
    delta = rng.normal(-lr0 / 10.0, lr0)
    applied = rng.random() < probability
    return max(0.0, lr + alpha * delta) if applied else lr


def batch_indices(rng, n_data, batch_size, n_batches):
    """(n_batches, batch_size) indices into the data: consecutive slices of fresh permutations (epochs)."""
    needed = check_int("n_batches", n_batches, minimum=1) * check_int("batch_size", batch_size, minimum=1)
    check_int("n_data", n_data, minimum=1)
    rng = check_rng("rng", rng)
    order = np.concatenate([rng.permutation(n_data) for _ in range(-(-needed // n_data))])
    return order[:needed].reshape(n_batches, batch_size)


def latent(rng, n, settings):
    """n latent codes z ~ N(0, I) of shape (n, latent_dim), in the settings' dtype."""
    return rng.standard_normal((n, settings.latent_dim)).astype(settings.dtype)


def evaluate(generators, discriminators, real, rng, settings):
    r"""Fitness of every generator and discriminator against every opponent of the other list (lower is better).

    .. math:: f(G_i) = \frac1{|D|}\sum_j L_G(D_j(G_i(z))), \qquad
              f(D_j) = \frac1{|G|}\sum_i L_D(D_j(x), D_j(G_i(z)))

    with one set of ``fitness_samples`` codes z for all generators and the real images ``real``.

    Returns
    -------
    generator_fitness : list of float, one per generator
    discriminator_fitness : list of float, one per discriminator
    """
    z = latent(rng, len(real), settings)
    fakes = [_generate(g, z, settings.backend) for g in generators]
    real_logits = [_discriminate(d, real, settings.backend) for d in discriminators]
    fake_logits = [[_discriminate(d, fake, settings.backend) for d in discriminators] for fake in fakes]
    generator_fitness = [float(np.mean([_generator_loss(_draw_loss(settings.generator_loss, rng), logits)[0]
                                        for logits in row])) for row in fake_logits]
    discriminator_fitness = [float(np.mean([_discriminator_loss(real_logits[j], row[j])[0] for row in fake_logits]))
                             for j in range(len(discriminators))]
    return generator_fitness, discriminator_fitness


def tournament(fitness, rng, size):
    """Index of the fittest (lowest) of ``size`` distinct individuals drawn uniformly (all, if fewer)."""
    if not isinstance(fitness, (list, tuple, np.ndarray)) or len(fitness) < 1:
        raise ValueError(f"fitness must hold at least one individual's fitness; got {fitness!r}")
    if np.asarray(fitness).dtype.kind not in "iuf":
        raise TypeError(f"fitness must hold real numbers (inf for an unevaluated individual); got {fitness!r}")
    rng = check_rng("rng", rng)
    entrants = rng.choice(len(fitness), size=min(check_int("size", size, minimum=1), len(fitness)), replace=False)
    return int(min(entrants, key=lambda i: (fitness[i], i)))


def _optimiser(individual, settings):
    return CellAdam(settings.learning_rate, backend=settings.backend).load_state_dict(individual["optimiser"])


def train(generator, discriminator, generator_pool, discriminator_pool, data, rng, settings):
    """``n_batches`` Adam steps of ``generator`` and every ``discriminator_every``-th of ``discriminator``, in place.

    Each generator step draws its opponent uniformly from ``discriminator_pool`` (parameter dicts; the one being
    trained among them, live) and, for Mustangs, its loss; each discriminator step draws a generator of
    ``generator_pool``, fresh codes and a real batch of ``batch_size``. The learning rate of a network mutates
    before each of its steps. The individuals' optimiser states are written back at the end.
    """
    optimisers = {"generator": _optimiser(generator, settings), "discriminator": _optimiser(discriminator, settings)}
    mutation = dict(rng=rng, lr0=settings.learning_rate, alpha=settings.mutation_alpha,
                    probability=settings.mutation_probability)
    for batch, indices in enumerate(batch_indices(rng, len(data), settings.batch_size, settings.n_batches)):
        g_optimiser = optimisers["generator"]
        g_optimiser.lr = _mutate_learning_rate(g_optimiser.lr, **mutation)
        opponent = discriminator_pool[int(rng.integers(len(discriminator_pool)))]
        loss_function = partial(_generator_loss, _draw_loss(settings.generator_loss, rng))
        z = latent(rng, settings.batch_size, settings)
        loss, grads = _generator_gradients(generator["params"], opponent, z, loss_function, settings.backend)
        check_finite_step(batch + 1, settings.n_batches, generator_loss=loss)
        g_optimiser._step(generator["params"], grads)
        if batch % settings.discriminator_every == 0:
            d_optimiser = optimisers["discriminator"]
            d_optimiser.lr = _mutate_learning_rate(d_optimiser.lr, **mutation)
            opponent = generator_pool[int(rng.integers(len(generator_pool)))]
            fake = _generate(opponent, latent(rng, settings.batch_size, settings), settings.backend)
            loss, grads = _discriminator_gradients(discriminator["params"], data[indices], fake, settings.backend)
            check_finite_step(batch + 1, settings.n_batches, discriminator_loss=loss)
            d_optimiser._step(discriminator["params"], grads)
    for role, individual in (("generator", generator), ("discriminator", discriminator)):
        individual["optimiser"] = optimisers[role].state_dict()


def mixture_samples(generators, weights, n, rng, settings):
    r"""n samples of the mixture in exact proportion: generator i contributes :math:`\lceil n w_i\rceil`, shuffled,
    truncated to n (the public code's ``exact_proportion`` mode). Returns (n, image_dim)."""
    generators = _check_generators(generators, settings)
    weights = _check_weights(weights, len(generators))
    return _mixture_samples(generators, weights, check_int("n", n, minimum=1), check_rng("rng", rng), settings)


def _check_generators(generators, settings):
    """A non-empty list of generator parameter dicts of the settings' widths, or raise naming ``generators``."""
    check_settings(settings)
    if not isinstance(generators, (list, tuple)) or not generators:
        raise TypeError(f"generators must be a non-empty list of generator parameter dicts; got {generators!r:.60}")
    sizes = generator_sizes(settings.latent_dim, settings.hidden, settings.image_dim)
    for i, generator in enumerate(generators):
        if check_params(f"generators[{i}]", generator) != sizes:
            raise ValueError(f"generators[{i}] must have the settings' layer widths {sizes}; got "
                             f"{check_params(f'generators[{i}]', generator)}")
    return list(generators)


def _mixture_samples(generators, weights, n, rng, settings):
    counts = [math.ceil(n * w) for w in weights]
    parts = [_generate(g, latent(rng, c, settings), settings.backend) for g, c in zip(generators, counts) if c > 0]
    samples = np.concatenate(parts)
    return samples[rng.permutation(len(samples))[:n]]


def evolve_mixture(weights, generators, scorer, rng, settings):
    r"""One (1+1)-ES step on the mixture weights (the public code's ``mutate_mixture_weights_with_score``).

    .. math:: w' = \frac{\max(0, w + \sigma\xi)}{\|\max(0, w + \sigma\xi)\|_1}, \quad \xi \sim \mathcal N(0, I)

    accepted iff score(w') < score(w), both scored on fresh samples. With one generator only its score is taken.

    Returns
    -------
    weights : (m,), the accepted weights
    score : float, their score
    """
    generators = _check_generators(generators, settings)
    weights = _check_weights(weights, len(generators))
    if not callable(scorer):
        raise TypeError(f"scorer must be a callable images -> float; got {type(scorer).__name__}")
    return _evolve_mixture(weights, generators, scorer, check_rng("rng", rng), settings)


def _evolve_mixture(weights, generators, scorer, rng, settings):
    parent = scorer(_mixture_samples(generators, weights, settings.score_samples, rng, settings))
    if len(weights) == 1:
        return weights, parent
    candidate = np.maximum(weights + settings.mixture_sigma * rng.standard_normal(len(weights)), 0.0)
    candidate = candidate / candidate.sum() if candidate.sum() > 0 else weights
    score = scorer(_mixture_samples(generators, candidate, settings.score_samples, rng, settings))
    return (candidate, score) if score < parent else (weights, parent)


def _check_weights(weights, m):
    weights = check_shape("weights", as_float_array("weights", weights, ndim=1), (m,), described="(m,)",
                          context=f"to give one weight to each of the {m} generators")
    if weights.min() < 0 or not np.isclose(weights.sum(), 1.0):
        raise ValueError(f"weights must be non-negative and sum to 1; got {weights}")
    return weights


def lipizzaner_step(states, data, scorer, settings, rng):
    """One Lipizzaner/Mustangs iteration of the cell whose neighbourhood's states are ``states`` (centre first)."""
    own = states[0]
    generators = [s["generator"] for s in states]
    discriminators = [s["discriminator"] for s in states]
    real = data[rng.choice(len(data), settings.fitness_samples, replace=False)]
    if settings.enable_selection:
        g_fitness, d_fitness = evaluate([g["params"] for g in generators], [d["params"] for d in discriminators],
                                        real, rng, settings)
        generator = copy.deepcopy(generators[tournament(g_fitness, rng, settings.tournament_size)])
        discriminator = copy.deepcopy(discriminators[tournament(d_fitness, rng, settings.tournament_size)])
        train(generator, discriminator, [generator["params"]], [discriminator["params"]], data, rng, settings)
        opponents_g, opponents_d = generators, discriminators
    else:
        generator, discriminator = copy.deepcopy(own["generator"]), copy.deepcopy(own["discriminator"])
        train(generator, discriminator, [generator["params"]] + [g["params"] for g in generators[1:]],
              [discriminator["params"]] + [d["params"] for d in discriminators[1:]], data, rng, settings)
        opponents_g, opponents_d = [generator] + generators[1:], [discriminator] + discriminators[1:]
    generator["fitness"] = evaluate([generator["params"]], [d["params"] for d in opponents_d], real, rng, settings)[0][0]
    discriminator["fitness"] = evaluate([g["params"] for g in opponents_g], [discriminator["params"]],
                                        real, rng, settings)[1][0]
    if settings.enable_selection:
        generator = _elitist(own["generator"], g_fitness[0], generator)
        discriminator = _elitist(own["discriminator"], d_fitness[0], discriminator)
    return generator, discriminator


def _elitist(local, local_fitness, trained):
    """The trained copy if it is fitter than the cell's individual (whose fitness this iteration is given)."""
    if trained["fitness"] < local_fitness:
        return trained
    return {**local, "fitness": local_fitness}


def egan_step(states, data, scorer, settings, rng):
    """One E-GAN iteration: ``n_batches`` generations of three mutated children, the fittest surviving, each
    followed by ``egan_discriminator_steps`` discriminator steps on the survivor's samples."""
    generator = copy.deepcopy(states[0]["generator"])
    discriminator = copy.deepcopy(states[0]["discriminator"])
    d_optimiser = _optimiser(discriminator, settings)
    steps = settings.n_batches * (1 + settings.egan_discriminator_steps)
    batches = iter(batch_indices(rng, len(data), settings.batch_size, steps))
    for batch in range(settings.n_batches):
        real = data[next(batches)]
        children = [_egan_child(generator, discriminator["params"], mutation, real, rng, settings)
                    for mutation in EGAN_MUTATIONS]
        check_finite_step(batch + 1, settings.n_batches, **{f"fitness of the {mutation} child": child["fitness"]
                                                           for mutation, child in zip(EGAN_MUTATIONS, children)})
        generator = max(children, key=lambda child: child["fitness"])
        for _ in range(settings.egan_discriminator_steps):
            fake = _generate(generator["params"], latent(rng, settings.batch_size, settings), settings.backend)
            loss, grads = _discriminator_gradients(discriminator["params"], data[next(batches)], fake,
                                                   settings.backend)
            check_finite_step(batch + 1, settings.n_batches, discriminator_loss=loss)
            d_optimiser._step(discriminator["params"], grads)
    discriminator["optimiser"] = d_optimiser.state_dict()
    real = data[rng.choice(len(data), settings.fitness_samples, replace=False)]
    discriminator["fitness"] = evaluate([generator["params"]], [discriminator["params"]], real, rng, settings)[1][0]
    return generator, discriminator


def _egan_child(parent, discriminator, mutation, real, rng, settings):
    child = copy.deepcopy(parent)
    optimiser = _optimiser(child, settings)
    z = latent(rng, settings.batch_size, settings)
    _, grads = _generator_gradients(child["params"], discriminator, z, partial(_generator_loss, mutation),
                                    settings.backend)
    optimiser._step(child["params"], grads)
    child["optimiser"] = optimiser.state_dict()
    child["fitness"] = _egan_fitness(child["params"], discriminator, real, rng, settings)
    return child


def egan_fitness(generator, discriminator, real, rng, settings):
    r"""E-GAN's fitness (Wang et al. 2019, eqs. 6–8), larger is better, on ``egan_fitness_samples`` samples:

    .. math:: F = \underbrace{\mathbb E_z[\sigma(D(G(z)))]}_{F_q}
                  - \gamma \log \big\|\nabla_D L_D(x, G(z))\big\|_2

    Parameters
    ----------
    generator, discriminator : parameter dicts of the settings' widths
    real : (n, image_dim) real images, n ≥ 1
    rng : numpy.random.Generator or int seed
    settings : :class:`CellSettings`
    """
    _check_generators([generator], settings)
    _check_discriminators([discriminator], settings)
    real = as_float_array("real", real, ndim=2, dtype=np.dtype(settings.dtype))
    check_shape("real", real, (None, settings.image_dim), described="(n, image_dim)",
                context=f"with image_dim = {settings.image_dim}")
    if len(real) == 0:
        raise ValueError(f"real must hold at least one image; got shape {real.shape}")
    return _egan_fitness(generator, discriminator, real, check_rng("rng", rng), settings)


def _check_discriminators(discriminators, settings):
    sizes = discriminator_sizes(settings.image_dim, settings.hidden)
    for i, discriminator in enumerate(discriminators):
        got = check_params(f"discriminators[{i}]", discriminator)
        if got != sizes:
            raise ValueError(f"discriminators[{i}] must have the settings' layer widths {sizes}; got {got}")


def _egan_fitness(generator, discriminator, real, rng, settings):
    fake = _generate(generator, latent(rng, settings.egan_fitness_samples, settings), settings.backend)
    quality = float(np.mean(nn.sigmoid(_discriminate(discriminator, fake, settings.backend))))
    _, grads = _discriminator_gradients(discriminator, real, fake, settings.backend)
    norm = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values()))
    return quality - settings.egan_gamma * math.log(max(norm, np.finfo(np.float64).tiny))


STEPS = {"lipizzaner": lipizzaner_step, "egan": egan_step}


def check_states(states, settings):
    """Return ``states`` if it is a list of cell states (dicts as :func:`init_cell` makes) of the settings' networks."""
    if not isinstance(states, (list, tuple)) or not states:
        raise TypeError(f"states must be a non-empty list of cell states; got {type(states).__name__}")
    for i, state in enumerate(states):
        if not isinstance(state, dict) or not {"mixture_weights", "generator", "discriminator"} <= set(state):
            raise TypeError(f"states[{i}] must be a cell state (a dict as init_cell returns); got "
                            f"{type(state).__name__}")
    _check_generators([s["generator"]["params"] for s in states], settings)
    _check_discriminators([s["discriminator"]["params"] for s in states], settings)
    return states


def check_step_inputs(iteration, data, scorer, settings, seed):
    """The checks of :func:`cell_step` that do not depend on the cell; returns the data as :func:`check_images`."""
    check_settings(settings)
    check_int("iteration", iteration, minimum=1)
    check_int("seed", seed, minimum=0)
    if scorer is not None and not callable(scorer):
        raise TypeError(f"scorer must be a callable images -> float, or None; got {type(scorer).__name__}")
    return check_images(data, settings, "data")


def cell_step(cell, iteration, states, data, scorer, settings, seed):
    """The new state of ``cell`` after ``iteration``, from its neighbourhood's states of the previous one.

    A pure function: the same arguments give the same state on any machine and in any process (BLAS is held
    to one thread inside, so that the order of floating-point sums does not depend on the worker).

    Parameters
    ----------
    cell : int
    iteration : int ≥ 1
    states : list of cell states, the neighbourhood of ``cell`` in :func:`~refimpl.coevo.grid.neighbourhood` order
    data : (n, image_dim) training images in [−1, 1], of the settings' dtype
    scorer : callable ``images (n, image_dim) -> float`` (lower is better), or None to skip the mixture step
    settings : :class:`CellSettings`
    seed : int ≥ 0

    Returns
    -------
    dict, the cell's new state
    """
    data = check_step_inputs(iteration, data, scorer, settings, seed)
    expected = neighbourhood(cell, settings.grid_side)
    if not isinstance(states, (list, tuple)) or len(states) != len(expected):
        raise ValueError(f"states must hold the {len(expected)} states of cell {cell}'s neighbourhood {expected}; "
                         f"got {len(states) if isinstance(states, (list, tuple)) else type(states).__name__}")
    return _cell_step(cell, iteration, check_states(states, settings), data, scorer, settings, seed)


def _cell_step(cell, iteration, states, data, scorer, settings, seed):
    """:func:`cell_step` after its checks (the executors check a whole iteration's inputs once)."""
    rng = _cell_rng(seed, cell, iteration)
    with threadpool_limits(limits=1, user_api="blas"):
        generator, discriminator = STEPS[settings.method](states, data, scorer, settings, rng)
        weights, score = states[0]["mixture_weights"], math.inf
        if scorer is not None:
            mixture = [generator["params"]] + [s["generator"]["params"] for s in states[1:]]
            weights, score = _evolve_mixture(_check_weights(weights, len(mixture)), mixture, scorer, rng, settings)
    return {"cell": cell, "iteration": iteration, "mixture_weights": weights, "mixture_score": float(score),
            "generator": generator, "discriminator": discriminator}
