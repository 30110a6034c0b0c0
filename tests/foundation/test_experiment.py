"""Experiment ``core`` (registered by refimpl.foundation): its measured numbers meet its claims."""

import dataclasses

from refimpl.experiments import get_experiment, run_experiment, verdict


def test_core_experiment_meets_its_claims_and_trains(tmp_path):
    experiment = get_experiment("core")
    assert experiment.function.__module__ == "refimpl.foundation.experiment"
    settings = dataclasses.replace(experiment.quick, steps=150)
    results = run_experiment("core", seed=1, out_dir=tmp_path, settings=settings, progress=False)["results"]
    for claim in experiment.claims:
        assert verdict(claim, results).startswith("agrees"), (claim.key, verdict(claim, results))
    assert set(results["gradcheck"]) >= {"affine", "relu", "softmax_cross_entropy", "wasserstein_critic"}
    for name in ("sgd", "momentum", "adam"):
        assert results["optimisers"][name]["train_accuracy"] > 0.9, name
    assert (tmp_path / "core" / "optimisers.png").exists()
