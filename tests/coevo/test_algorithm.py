"""One iteration of a cell: learning-rate mutation, tournament, mixture ES, training budget, purity."""

import math

import numpy as np
import pytest

from refimpl.coevo.algorithm import (batch_indices, cell_step, check_settings, evolve_mixture, init_cell,
                                     mixture_samples, mutate_learning_rate, tournament)
from refimpl.coevo.checkpoint import flatten
from refimpl.coevo.grid import neighbourhood
from tests.coevo.conftest import assert_same_state, replace


def _neighbourhood_states(cell, settings, seed=0):
    return [init_cell(c, settings, seed) for c in neighbourhood(cell, settings.grid_side)]


def test_learning_rate_mutation_is_the_public_codes_drift():
    rng, lr0, alpha = np.random.default_rng(0), 2e-4, 1e-4
    changes = np.array([mutate_learning_rate(lr0, rng, lr0, alpha, 0.5) - lr0 for _ in range(20000)])
    applied = changes[changes != 0]
    assert len(applied) / len(changes) == pytest.approx(0.5, abs=0.02)
    assert applied.mean() == pytest.approx(alpha * -lr0 / 10, rel=0.15)  # δ ~ N(−lr0/10, lr0)
    assert applied.std() == pytest.approx(alpha * lr0, rel=0.05)
    assert mutate_learning_rate(1e-12, rng, 1.0, 1.0, 1.0) >= 0.0  # clipped at 0
    assert mutate_learning_rate(lr0, rng, lr0, alpha, 0.0) == lr0


def test_tournament_of_two_returns_the_fitter_and_the_worst_never_wins():
    rng = np.random.default_rng(1)
    assert all(tournament([0.3, 0.1], rng, 2) == 1 for _ in range(20))
    wins = [tournament([0.5, 0.1, 0.9], rng, 2) for _ in range(3000)]
    assert 2 not in wins
    assert wins.count(1) / len(wins) == pytest.approx(2 / 3, abs=0.03)


def test_batches_cover_the_data_once_per_epoch():
    indices = batch_indices(np.random.default_rng(2), 30, 10, 6)
    assert indices.shape == (6, 10)
    assert sorted(indices[:3].ravel()) == list(range(30)) == sorted(indices[3:].ravel())


def _constant_generators(tiny, values):
    """Generators whose output is the constant tanh(v) in every pixel (zero last-layer weights)."""
    generators = []
    for value in values:
        params = init_cell(0, tiny, 0)["generator"]["params"]
        params["w3"][:] = 0
        params["b3"][:] = np.arctanh(value)
        generators.append(params)
    return generators


def test_mixture_samples_in_exact_proportion(tiny):
    generators = _constant_generators(tiny, [0.5, -0.5, 0.0])
    samples = mixture_samples(generators, np.array([0.5, 0.25, 0.25]), 100, np.random.default_rng(3), tiny)
    first_pixel = np.round(samples[:, 0], 6)
    assert [np.sum(first_pixel == v) for v in (0.5, -0.5, 0.0)] == [50, 25, 25]


@pytest.mark.parametrize("favoured", [0, 1])
def test_mixture_es_accepts_only_improvements(tiny, favoured):
    generators = _constant_generators(tiny, [0.5, -0.5, -0.5])
    sign = 1 if favoured == 1 else -1  # lower score = more weight on generator `favoured`
    rng, weights = np.random.default_rng(4), np.full(3, 1 / 3)
    scores = []
    for _ in range(60):
        weights, score = evolve_mixture(weights, generators, lambda x: sign * float(x.mean()), rng,
                                        replace(tiny, score_samples=200, mixture_sigma=0.05))
        scores.append(score)
    assert weights.sum() == pytest.approx(1) and weights.min() >= 0
    assert (weights[0] > 0.45) if favoured == 0 else (weights[0] < 0.2)
    assert scores[-1] <= scores[0]


def test_training_budget_and_state_layout(tiny, images, scorer):
    settings = replace(tiny, enable_selection=False)
    state = cell_step(0, 1, _neighbourhood_states(0, settings), images, scorer, settings, seed=0)
    assert state["generator"]["optimiser"]["t"] == settings.n_batches  # one G step per batch
    assert state["discriminator"]["optimiser"]["t"] == settings.n_batches // settings.discriminator_every
    assert state["iteration"] == 1 and len(state["mixture_weights"]) == 3
    assert all(math.isfinite(state[r]["fitness"]) for r in ("generator", "discriminator"))
    assert state["generator"]["optimiser"]["lr"] != settings.learning_rate  # mutated
    assert all(isinstance(v, np.ndarray) for v in flatten(state).values())


@pytest.mark.parametrize("changes", [{}, {"enable_selection": False, "generator_loss": "mustangs"},
                                     {"grid_side": 1, "method": "egan"}, {"dtype": "float64", "backend": "numpy"}])
def test_cell_step_is_a_pure_function_of_its_arguments(tiny, images, scorer, changes):
    settings = replace(tiny, **changes)
    states = _neighbourhood_states(0, settings)
    first, second = (cell_step(0, 1, states, images, scorer, settings, seed=5) for _ in range(2))
    other_seed = cell_step(0, 1, states, images, scorer, settings, seed=6)
    assert_same_state(first, second)
    assert not np.array_equal(first["generator"]["params"]["w1"], other_seed["generator"]["params"]["w1"])
    for state, fresh in zip(states, _neighbourhood_states(0, settings)):
        assert_same_state(state, fresh)  # the inputs are not modified


def test_elitist_replacement_keeps_the_cell_unless_the_trained_copy_is_fitter(tiny, images):
    settings = replace(tiny, grid_side=1)
    states = _neighbourhood_states(0, settings)
    outcomes = set()
    for seed in range(6):
        state = cell_step(0, 1, states, images, None, settings, seed=seed)
        kept = np.array_equal(state["generator"]["params"]["w1"], states[0]["generator"]["params"]["w1"])
        assert kept == (state["generator"]["optimiser"]["t"] == 0)  # kept: the untrained individual, whole
        outcomes.add(kept)
    assert False in outcomes  # training is accepted at least sometimes


@pytest.mark.parametrize("field, value, message", [
    ("grid_side", 0, "grid_side must be >= 1"), ("generator_loss", "wgan", "generator_loss must be one of"),
    ("tournament_size", 1, "tournament_size must be >= 2"), ("method", "egan", "grid_side must be 1"),
    ("batch_size", 0, "batch_size must be >= 1"), ("mutation_probability", 1.5, r"must be in \[0, 1\]")])
def test_settings_that_cannot_work_are_refused(tiny, field, value, message):
    with pytest.raises(ValueError, match=message):
        check_settings(replace(tiny, **{field: value}))


def test_cell_step_refuses_a_wrong_neighbourhood(tiny, images):
    with pytest.raises(ValueError, match="must hold the 3 states"):
        cell_step(0, 1, _neighbourhood_states(0, tiny)[:2], images, None, tiny, seed=0)


def test_bad_input_of_the_pieces_names_the_parameter(tiny):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="probability must be in"):
        mutate_learning_rate(2e-4, rng, 2e-4, 1e-4, 2.0)
    with pytest.raises(ValueError, match="fitness must hold at least one"):
        tournament([], rng, 2)
    generators = _constant_generators(tiny, [0.5, -0.5])
    with pytest.raises(ValueError, match=r"weights must have shape \(m,\) = \(2,\)"):
        mixture_samples(generators, np.full(3, 1 / 3), 10, rng, tiny)
    with pytest.raises(ValueError, match="non-negative and sum to 1"):
        evolve_mixture(np.array([0.7, 0.7]), generators, lambda x: 0.0, rng, tiny)


def test_egan_budget_one_child_step_per_generation_and_k_d_discriminator_steps(tiny, images):
    settings = replace(tiny, grid_side=1, method="egan", egan_discriminator_steps=3)
    state = cell_step(0, 1, _neighbourhood_states(0, settings), images, None, settings, seed=0)
    assert state["generator"]["optimiser"]["t"] == settings.n_batches  # the survivor of each generation
    assert state["discriminator"]["optimiser"]["t"] == 3 * settings.n_batches
    assert math.isfinite(state["generator"]["fitness"])  # E-GAN's fitness of the last survivor (higher is better)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numba_and_numpy_backends_give_the_same_cell_to_the_bit(tiny, images, scorer, dtype):
    states = {b: cell_step(0, 1, _neighbourhood_states(0, replace(tiny, dtype=dtype)), images.astype(dtype), scorer,
                           replace(tiny, dtype=dtype, backend=b), seed=2) for b in ("numpy", "numba")}
    assert_same_state(states["numpy"], states["numba"])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("method, quantity", [("lipizzaner", "discriminator_loss"),
                                              ("egan", "fitness of the minimax child")])
def test_a_diverging_cell_stops_naming_the_step_and_the_quantity(tiny, images, backend, method, quantity):
    # an absurd learning rate overflows float32 in the first Adam step: the next loss is nan
    settings = replace(tiny, grid_side=1, method=method, learning_rate=1e36, mutation_probability=0.0,
                       backend=backend)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=f"{quantity} became nan at step 1 of 4"):
        cell_step(0, 1, [init_cell(0, settings, 0)], images, None, settings, seed=0)


def test_cell_step_refuses_bad_data_and_seed_by_name(tiny, images):
    states = _neighbourhood_states(0, tiny)
    with pytest.raises(ValueError, match="data must be finite"):
        cell_step(0, 1, states, np.where(images > 0.9, np.nan, images), None, tiny, seed=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        cell_step(0, 1, states, images, None, tiny, seed=-1)
