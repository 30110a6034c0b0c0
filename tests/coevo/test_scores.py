"""FID against the closed form for Gaussians, TVD and class frequencies, the cached real statistics."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import special_ortho_group

from refimpl.coevo.scores import (FeatureScore, LinearFeatures, class_frequencies, fid, frechet_distance,
                                  gaussian_statistics, total_variation)
from tests.helpers import arrays


def _diagonal_closed_form(mean_a, var_a, mean_b, var_b):
    """W2² of Gaussians with diagonal covariances: ‖μa − μb‖² + Σ (√a − √b)²."""
    return float(np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2))


@given(st.integers(1, 6).flatmap(lambda k: st.tuples(arrays((k,)), arrays((k,), 0.1, 4.0), arrays((k,)),
                                                     arrays((k,), 0.1, 4.0))), st.integers(0, 2**31))
def test_frechet_distance_equals_the_closed_form_in_any_rotated_frame(case, seed):
    mean_a, var_a, mean_b, var_b = case
    expected = _diagonal_closed_form(mean_a, var_a, mean_b, var_b)
    k = len(mean_a)
    rotation = special_ortho_group.rvs(k, random_state=seed) if k > 1 else np.ones((1, 1))
    rotated = [rotation @ mean_a, rotation @ np.diag(var_a) @ rotation.T,
               rotation @ mean_b, rotation @ np.diag(var_b) @ rotation.T]  # non-diagonal, non-commuting in general
    assert frechet_distance(*rotated) == pytest.approx(expected, rel=1e-7, abs=1e-9)


def test_fid_of_samples_converges_to_the_closed_form(rng):
    mean_b, var_b = np.array([1.0, -0.5, 0.0]), np.array([0.5, 2.0, 1.0])
    a = rng.standard_normal((200_000, 3))
    b = mean_b + np.sqrt(var_b) * rng.standard_normal((200_000, 3))
    assert fid(a, b) == pytest.approx(_diagonal_closed_form(np.zeros(3), np.ones(3), mean_b, var_b), rel=0.02)
    assert fid(a, a) == pytest.approx(0.0, abs=1e-8)


def test_singular_covariances_are_regularised():
    assert np.isfinite(frechet_distance(np.zeros(2), np.zeros((2, 2)), np.ones(2), np.diag([1.0, 0.0])))


def test_class_frequencies_and_total_variation():
    logits = np.eye(4)[[0, 0, 1, 3]] * 5.0
    np.testing.assert_array_equal(class_frequencies(logits, 4), [0.5, 0.25, 0.0, 0.25])
    assert total_variation([0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]) == 1.0
    assert total_variation([0.25] * 4, [0.5, 0.25, 0.0, 0.25]) == pytest.approx(0.25)


def test_feature_score_caches_the_real_statistics(rng):
    real, generated = rng.standard_normal((500, 6)), rng.standard_normal((400, 6)) + 0.3
    features = LinearFeatures(rng.standard_normal((6, 3)))
    score = FeatureScore(features, real)
    assert score(generated) == pytest.approx(fid(features(real), features(generated)), rel=1e-12)
    mean, cov = gaussian_statistics(features(real))
    np.testing.assert_array_equal(score.real_mean, mean)
    assert score.tvd(real) == 0.0


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="at least 2 samples"):
        gaussian_statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"cov_b must have shape \(k, k\) = \(2, 2\)"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="q must have shape"):
        total_variation([0.5, 0.5], [1.0, 0.0, 0.0])
