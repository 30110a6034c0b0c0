"""The ``coevo`` experiment end to end at a tiny setting (a linear feature map instead of the CNN), and its parts."""

import dataclasses

import numpy as np
import pytest

from refimpl.coevo.measure import METHODS, method_settings, rank_correlation, ranking_agreement, separation
from refimpl.experiments import get_experiment, run_experiment, verdict

TINY = dict(features="linear", iterations=2, n_batches=3, hidden=8, latent_dim=4, seeds=1, fitness_samples=50,
            score_samples=50, real_samples=200, final_samples=200, n_train=400)


def test_tiny_run_records_every_method_and_writes_figures(tmp_path):
    experiment = get_experiment("coevo")
    settings = dataclasses.replace(experiment.quick, **TINY)
    document = run_experiment("coevo", quick=True, seed=3, out_dir=tmp_path, settings=settings)
    results = document["results"]
    assert sorted(results["methods"]) == sorted(METHODS)
    for name in METHODS:
        assert len(results["methods"][name]["fid"]) == 1
        assert np.sum(results["methods"][name]["class_frequencies"]) == pytest.approx(1.0)
        assert f"{name}.seed3" in document["timings"]
    assert 0.0 <= results["ranking"]["good_below_poor"] <= 1.0
    for claim in experiment.claims:
        assert not verdict(claim, results).startswith("not measured"), claim.key
    folder = tmp_path / "coevo"
    assert {p.name for p in folder.glob("*.png")} == {"fid_curves.png", "final_fid_tvd.png", "samples.png",
                                                      "class_histograms.png", "mixture_weights_lr.png"}


def test_methods_map_to_their_settings():
    base = get_experiment("coevo").quick
    from refimpl.coevo.measure import base_settings

    cell = base_settings(4, 8, 3, 50, 50, False)
    assert method_settings("GAN-BCE", cell, 3).grid_side == 1
    assert method_settings("E-GAN", cell, 3).method == "egan"
    assert (method_settings("Mustangs", cell, 3).grid_side, method_settings("Mustangs", cell, 3).generator_loss) \
        == (3, "mustangs")
    assert base.grid_side == 2 and get_experiment("coevo").full.grid_side == 3
    with pytest.raises(ValueError, match="method must be one of"):
        method_settings("WGAN", cell, 2)


def test_ranking_agreement_counts_ordered_pairs():
    medians = {"a": 1.0, "b": 2.0, "x": 1.5, "y": 3.0}
    assert ranking_agreement(medians, ["a", "b"], ["x", "y"]) == 0.75


def test_separation_counts_pairs_apart_on_every_seed():
    fids = {"a": [1.0, 2.0], "b": [1.0, 4.0], "x": [3.0, 5.0], "y": [2.5, 6.0]}
    # a lies below x and y on every seed (its 2.0 below y's 2.5); b's 4.0 overlaps both
    assert separation(fids, ["a", "b"], ["x", "y"]) == 0.5
    # while every median is ordered
    assert ranking_agreement({k: float(np.median(v)) for k, v in fids.items()}, ["a", "b"], ["x", "y"]) == 1.0


def test_rank_correlation_is_spearman_over_common_keys():
    ours, theirs = {"a": 10.0, "b": 30.0, "c": 20.0, "ours only": 0.0}, {"a": 1, "b": 2, "c": 3}
    assert rank_correlation(ours, theirs) == pytest.approx(0.5)  # ranks (1, 3, 2) against (1, 2, 3)
    assert rank_correlation(theirs, theirs) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 2 common keys"):
        rank_correlation({"a": 1.0}, theirs)
