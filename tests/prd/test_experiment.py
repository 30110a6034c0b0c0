"""The PRD experiments end to end with tiny settings: they run, record the promised keys and figures."""

import dataclasses

import numpy as np
import pytest

from refimpl.experiments import get_experiment, lookup, run_experiment
from refimpl.prd import experiment, model


def test_theory_experiment_records_every_key(tmp_path):
    settings = experiment.TheorySettings(n=6, d_in=4, widths=(16, 64), seeds_per_width=1, width_theorem2=16,
                                         seeds_theorem2=2, horizon=2.0, horizon_theorem2=1.0,
                                         monte_carlo_samples=2000, spectrum_width=4, spectrum_points=2,
                                         checkpoints=5)
    document = run_experiment("prd-theory", settings=settings, seed=3, out_dir=tmp_path)
    results = document["results"]
    for key in ("thm1.width_slope", "thm2.drift_ratio_aug_over_sup", "split.max_abs_error",
                "spectrum.max_real_sup", "spectrum.max_real_aug", "gram.lambda0", "bernoulli.K",
                "thm2.drift_ratio_aug_over_sup_penalty", "spectrum.critic_contribution",
                "spectrum.stationary_candidate_max_real_aug_frozen", "thm2.max_ratio_to_bound_eq43"):
        assert np.isfinite(lookup(results, key)), key
    assert lookup(results, "split.max_abs_error") < 1e-10
    for suffix in ("", "_penalty", "_frozen"):  # the recorded ratio is the mean of the per-seed ratios
        per_seed = lookup(results, f"thm2.drift_ratio_per_seed{suffix}")
        assert len(per_seed) == 2
        assert lookup(results, f"thm2.drift_ratio_aug_over_sup{suffix}") == pytest.approx(np.mean(per_seed))
    assert lookup(results, "bernoulli.rate_over_lambda0_half") == pytest.approx(
        lookup(results, "bernoulli.rate") / lookup(results, "bernoulli.lambda0_over_2"))
    over_time = {name: lookup(results, f"spectrum.max_real_{name}_over_time") for name in ("sup", "aug", "aug_frozen")}
    assert len(set(map(len, over_time.values()))) == 1  # the same (matched) times for every flow
    assert over_time["sup"][-1] == lookup(results, "spectrum.max_real_sup")
    assert {p.name for p in (tmp_path / "prd-theory").glob("*.png")} == {"theory.png", "spectrum.png"}


def test_mnist_experiment_writes_the_paper_figures(tmp_path):
    settings = experiment.MnistSettings(n=20, m=16, initialisations=1, steps=3, synthetic_n=10, checkpoints=2)
    results = run_experiment("prd-mnist", settings=settings, out_dir=tmp_path)["results"]
    for prefix in ("mnist", "synthetic"):
        for name, key in (("drift_U", "drift_ratio_U"), ("drift_V", "drift_ratio_V"),
                          ("neuron_drift_cv", "neuron_drift_cv_ratio")):
            ratio = lookup(results, f"{prefix}.{key}")
            assert np.isfinite(ratio)
            assert ratio == lookup(results, f"{prefix}.{name}_aug") / lookup(results, f"{prefix}.{name}_sup")
    assert lookup(results, "data.mnist_source")
    names = {p.stem for p in (tmp_path / "prd-mnist").glob("*.png")}
    assert names == {"fig1_distance", "fig3_filters", "fig4_features", "fig5_symmetry", "fig6_pattern",
                     "fig7_synthetic_without_diffusion", "fig8_synthetic_with_diffusion"}


def test_mnist_experiment_refuses_a_width_that_is_not_square(tmp_path):
    settings = dataclasses.replace(get_experiment("prd-mnist").quick, m=10)
    with pytest.raises(ValueError, match="m must be a square"):
        run_experiment("prd-mnist", settings=settings, out_dir=tmp_path)


def test_bump_images_are_smooth_positive_and_seeded():
    first = experiment.bump_images(np.random.default_rng(1), 4)
    assert first.shape == (4, 784) and np.all(first >= 0)
    np.testing.assert_array_equal(first, experiment.bump_images(np.random.default_rng(1), 4))
    assert np.all(np.linalg.norm(model.normalise_inputs(first), axis=1) == pytest.approx(1.0))
