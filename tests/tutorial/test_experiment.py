"""The ``tutorial`` experiment end to end with tiny settings: keys, figures, claims, reproducibility."""

import dataclasses

from refimpl.experiments import get_experiment, lookup, run_experiment
from refimpl.tutorial.experiment import QUICK

TINY = dataclasses.replace(QUICK, gd_steps=60, sgd_epochs=2, n_train=200, n_test=100, one_layer_epochs=1,
                           two_layer_epochs=1, cnn_epochs=1, hidden=8, cnn_filters=2, surface_points=3,
                           surface_samples=50)

KEYS = ["linear.final_loss", "linear.closed_form_gap", "linear.descent_lemma_violations",
        "linear.stationarity_violations", "linear.beta", "linear.sgd.final_loss", "linear.minibatch.final_loss",
        "mnist.one_layer.test_accuracy", "mnist.two_layer.test_accuracy", "mnist.cnn.test_accuracy",
        "mnist.cnn.params", "mnist.one_layer.params", "loss_surface.centre_loss"]


def _without_timings(results):
    return {k: ({kk: vv for kk, vv in v.items() if kk != "train_seconds"} if isinstance(v, dict) else v)
            for k, v in results.items()}


def test_tutorial_runs_end_to_end_and_is_reproducible(tmp_path):
    document = run_experiment("tutorial", seed=3, out_dir=tmp_path / "a", settings=TINY)
    results = document["results"]
    for key in KEYS:
        lookup(results, key)
    for claim in get_experiment("tutorial").claims:  # every claim of the report has a measured number
        lookup(results, claim.key)
    assert results["linear"]["descent_lemma_violations"] == 0
    assert results["linear"]["stationarity_violations"] == 0
    assert results["mnist"]["one_layer"]["params"] == 7850
    assert results["mnist"]["n_train"] == 200
    for figure in ("linear_descent", "mnist_training", "loss_surface"):
        assert (tmp_path / "a" / "tutorial" / f"{figure}.png").stat().st_size > 10_000
    assert (tmp_path / "a" / "tutorial" / "metrics.csv").exists()
    assert results["gradient_check"]["largest_rel_error"] < 1e-4
    assert all(results["gradient_check"][name]["passed"] for name in ("one_layer", "two_layer", "cnn"))
    # the gradient checks run last and draw their own parameters: skip them in the rerun
    again = run_experiment("tutorial", seed=3, out_dir=tmp_path / "b",
                           settings=dataclasses.replace(TINY, gradient_checks=False))["results"]
    assert _without_timings(again["mnist"]) == _without_timings(results["mnist"])
    assert again["linear"] == results["linear"] and again["loss_surface"] == results["loss_surface"]
