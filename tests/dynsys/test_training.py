"""Loss and attack gradients against finite differences, the attack and certificate against each other,
and the ``dynsys`` experiment end to end with tiny settings."""

import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refimpl.core.gradcheck import assert_gradients
from refimpl.dynsys import model, theory, training
from refimpl.dynsys.experiment import QUICK
from refimpl.experiments import lookup, run_experiment
from tests.dynsys.cases import hinge_cases, preactivations
from tests.helpers import off_kinks


@given(hinge_cases())
def test_multiclass_hinge_gradient_matches_finite_differences(case):
    logits, labels, margin = case
    _, dlogits = training.multiclass_hinge(logits, labels, margin)
    assert_gradients(lambda z: training.multiclass_hinge(z, labels, margin)[0], [logits], [dlogits])


@settings(max_examples=15)
@given(st.integers(0, 2**32 - 1))
def test_attack_input_gradient_matches_finite_differences(seed):
    rng = np.random.default_rng(seed)
    net = model.lipschitz_network(rng, 3, 4, 2, 3)
    X, y = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    logits, caches = net.forward(X)
    others = logits.copy()
    others[np.arange(4), y] = -np.inf
    assume(off_kinks(*preactivations(caches)) and np.all(np.diff(np.sort(others, axis=1)[:, -2:]) > 1e-3))
    _, dx = training.margin_input_gradient(net, X, y)
    assert_gradients(lambda X: training.margin_input_gradient(net, X, y)[0].sum(), [X], [dx])


@settings(max_examples=10)
@given(st.integers(0, 2**32 - 1), st.floats(0.05, 0.5))
def test_pgd_accuracy_is_at_least_certified_accuracy(seed, eps):
    """A certified point cannot be broken by any attack; PGD must also find no perturbation beyond ε."""
    rng = np.random.default_rng(seed)
    net = model.lipschitz_network(rng, 2, 6, 2, 2)
    X = rng.standard_normal((80, 2))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)
    training.train_classifier(net, X, y, rng, steps=40, batch_size=40, lr=0.05, margin=0.5)
    logits = net(X)
    certified = theory.certified_radii(logits, y, theory.pair_lipschitz(net)) > eps
    robust, X_adv = training.pgd_l2(net, X, y, eps, rng, steps=20, restarts=2)
    assert np.all(robust[certified])
    assert np.all(np.linalg.norm(X_adv - X, axis=1) <= eps * (1 + 1e-12))
    assert np.all(theory.margins(net(X_adv[~robust]), y[~robust]) <= 0)


def test_pgd_finds_adversarial_examples_on_an_unconstrained_resnet(rng):
    """The attack is not vacuous: on a ResNet with a large Jacobian it breaks correctly classified points."""
    net = model.resnet(rng, 2, 8, 3, 2, h=1.0)
    X = rng.standard_normal((100, 2))
    y = (X[:, 0] > 0).astype(int)
    training.train_classifier(net, X, y, rng, steps=150, batch_size=50, lr=0.02, margin=0.3)
    robust, _ = training.pgd_l2(net, X, y, 0.3, rng, steps=20)
    assert robust.mean() < training.accuracy(net, X, y) - 0.05


@pytest.mark.parametrize("y, error, message", [
    (np.array([0, 1, 2, 1]), ValueError, r"y must hold class labels in 0 \.\. 1 \(2 classes\); got values from 0 to 2"),
    (np.array([0, -1, 1, 1]), ValueError, "got values from -1 to 1"),
    (np.array([0, 1, 1]), ValueError, r"y must have shape \(n,\) = \(4,\) to match the inputs with n = 4; got \(3,\)"),
    (np.array([0.0, 1.0, 1.0, 0.0]), TypeError, "y must hold integer class labels; got dtype float64"),
])
def test_bad_labels_are_refused_with_clear_messages(rng, y, error, message):
    net = model.resnet(rng, 2, 3, 1, 2)
    X = rng.standard_normal((4, 2))
    with pytest.raises(error, match=message):
        training.train_classifier(net, X, y, rng, steps=2, batch_size=2, lr=0.1, margin=0.5)
    with pytest.raises(error, match=message):
        training.pgd_l2(net, X, y, 0.1, rng, steps=2)
    with pytest.raises(error, match=message):
        training.accuracy(net, X, y)


def test_nan_loss_stops_training_naming_the_step(rng):
    net = model.resnet(rng, 2, 3, 1, 2)
    X, y = np.full((4, 2), 1e300), np.array([0, 1, 0, 1])
    net.layers[0].params["W"][...] = 1e10
    with pytest.raises(FloatingPointError, match="at step 0 of 5"), np.errstate(all="ignore"):
        training.train_classifier(net, X, y, rng, steps=5, batch_size=4, lr=0.1, margin=0.5)


TINY = dataclasses.replace(QUICK, seeds=2, toy_train=60, toy_test=40, toy_width=4, toy_depth=2, toy_steps=5,
                           mnist_train=60, mnist_test=20, mnist_width=8, mnist_depth=1, mnist_steps=5, pgd_steps=2,
                           ddn_steps=3, attack_points=10, power_iterations=2, vp_depth=3, mass_steps=20)


def test_experiment_runs_end_to_end_with_tiny_settings(tmp_path):
    document = run_experiment("dynsys", quick=True, seed=0, out_dir=tmp_path, settings=TINY)
    results = document["results"]
    for key in ("vp.max_abs_logdet", "mass.max_drift", "lipschitz.empirical_max", "lipschitz.certified",
                "splitting.order", "hamiltonian.max_symplectic_error", "mnist.best_certified_at_largest_eps"):
        assert np.isfinite(lookup(results, key))
    for model_name in TINY.models:
        for key in ("pgd_accuracy", "empirical_accuracy", "certified_accuracy", "sd.certified_accuracy"):
            assert len(lookup(results, f"mnist.{model_name}.{key}")) == len(TINY.mnist_eps)
        certified = np.array(lookup(results, f"mnist.{model_name}.per_seed.certified_accuracy_attacked"))
        assert np.all(certified <= np.array(lookup(results, f"mnist.{model_name}.per_seed.empirical_accuracy")))
        assert document["timings"][f"mnist.{model_name}.seed_1.train_seconds"] > 0
    assert lookup(results, "lipschitz.empirical_max") <= lookup(results, "lipschitz.certified") <= 1 + 1e-9
    for name in ("structure", "decision_boundaries", "accuracy_vs_eps", "certified_radii", "adversarial_digits"):
        assert (tmp_path / "dynsys" / f"{name}.png").exists()
    again = run_experiment("dynsys", quick=True, seed=0, out_dir=tmp_path / "again", settings=TINY)
    assert again["results"] == results  # wall-clock times live in the timings block, apart
