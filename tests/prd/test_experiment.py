"""The PRD experiments end to end with small settings: their numbers against theory and stated ranges."""

import dataclasses
import re

import numpy as np
import pytest

from refimpl.experiments import get_experiment, lookup, run_experiment, verdict
from refimpl.prd import experiment

THEORY = experiment.TheorySettings(n=6, d_in=4, widths=(64, 256, 1024), seeds_per_width=2, width_theorem2=64,
                                   seeds_theorem2=3, horizon=10.0, horizon_theorem2=1.0, monte_carlo_samples=4000,
                                   widths_aug=(64, 256), sizes=(6, 12), alignments=(0.0, 2.0), dependence_width=128,
                                   dependence_seeds=2, stability_weights=(0.0, 1.0), stability_rates=(0.1, 1.0),
                                   stability_problems=1, theorem3_seeds=3, ftle_seeds=2, ftle_steps=50, checkpoints=10)


@pytest.fixture(scope="module")
def theory_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prd-theory")
    return run_experiment("prd-theory", settings=THEORY, seed=3, out_dir=folder), folder


def test_gram_matrix_against_its_monte_carlo_estimate_and_its_trace(theory_run):
    results = theory_run[0]["results"]
    # every entry of H∞ is a mean of terms in [-1, 1]: 6 standard errors is a bound no correct formula misses
    assert lookup(results, "gram.mc_max_abs_error") <= 6.0 / np.sqrt(THEORY.monte_carlo_samples)
    # diag H∞ = 1/2, so trace = n/2 bounds λ_max above, and 0 < λ₀ ≤ 1/2 ≤ λ_max (inputs not parallel)
    assert 0 < lookup(results, "gram.lambda0") <= 0.5 <= lookup(results, "gram.lambda_max") <= THEORY.n / 2


def test_theorem1_slope_and_bound(theory_run):
    results = theory_run[0]["results"]
    assert -0.65 <= lookup(results, "thm1.width_slope") <= -0.35  # Theorem 1: m^(-1/2)
    # eq. 13 for every run: it holds at the run closest to its bound
    assert lookup(results, "thm1.drift_max_at_tightest_eq13") <= lookup(results, "thm1.bound_eq13_at_tightest")
    assert lookup(results, "thm1.max_ratio_to_bound_eq13") <= 1.0
    # T = 10/λ₀: the supervised residual has fallen by e^{-λ₀T/2} = e^{-5} of its start (‖y‖ ~ √n)
    assert lookup(results, "thm1.final_residual_max") < np.exp(-5.0) * 3.0 * np.sqrt(THEORY.n)


def test_theorem2_inside_its_regime_scores_its_bounds_and_refuses_outside(theory_run):
    results = theory_run[0]["results"]
    kappa, epsilon = lookup(results, "thm2.kappa"), lookup(results, "thm2.epsilon")
    for name in ("projection_0", "projection_1"):
        # the chosen L puts κμ below ε, and ε below every seed's ‖z(0) − y‖
        assert lookup(results, f"thm2.{name}.in_regime") and lookup(results, f"thm2.{name}.kappa_mu") < epsilon
        assert epsilon < lookup(results, "thm2.residual_0_min")
        for bound in ("drift_eq43", "residual_eq35"):
            assert lookup(results, f"thm2.{name}.{bound}_at_tightest") <= lookup(
                results, f"thm2.{name}.bound_{bound}_at_tightest")
    assert lookup(results, "thm2.projection_0.L") == pytest.approx(4 * lookup(results, "thm2.projection_1.L"))
    # the first pass's L = 1 is far outside the regime here: recorded as such, its bounds not scored
    assert not lookup(results, "thm2.projection_out.in_regime")
    assert lookup(results, "thm2.projection_out.kappa_mu") > epsilon
    assert lookup(results, "thm2.projection_out.bound_drift_eq43_at_tightest", default=None) is None
    assert kappa > 1
    ratios = lookup(results, "thm2.penalty.drift_ratio.per_seed")
    assert lookup(results, "thm2.penalty.drift_ratio.median") == pytest.approx(np.median(ratios))
    assert lookup(results, "thm2.penalty.drift_ratio.fraction_above_1") == pytest.approx(np.mean(np.array(ratios) > 1))
    assert lookup(results, "split.max_abs_error") <= 1e-10  # eqs. 52-55 are an identity
    claims = {claim.key: claim for claim in experiment.THEORY_CLAIMS}
    assert verdict(claims["split.max_abs_error"], results).startswith("agrees")
    assert verdict(claims["thm1.drift_max_at_tightest_eq13"], results).startswith("holds")
    assert verdict(claims["thm2.projection_0.drift_eq43_at_tightest"], results).startswith("holds")


def test_dependences_are_measured(theory_run):
    results = theory_run[0]["results"]
    lambdas = lookup(results, "thm1.lambda_sweep.lambda0")
    assert lambdas[1] < lambdas[0]  # more nearly parallel inputs: a smaller λ₀
    assert np.all(np.array(lookup(results, "thm1.lambda_sweep.decay_rate_median")) > 0)  # the residual falls
    assert lookup(results, "thm1.n_sweep.max_ratio_to_bound_eq13") <= 1.0
    assert lookup(results, "thm1.lambda_sweep.max_ratio_to_bound_eq13") <= 1.0
    assert lookup(results, "thm2.widths.projection.max_ratio_to_bound_eq43") <= 1.0
    for name in ("projection", "penalty", "frozen"):
        assert lookup(results, f"thm2.widths.{name}.exponent") < 0  # wider generators move less
    for term in ("reaction_u", "diffusion_u", "reaction_v", "diffusion_v"):
        assert len(lookup(results, f"thm3.{term}.size_in_m")) == len(THEORY.widths)


def test_stability_scan_at_true_equilibria_and_figures(theory_run):
    document, folder = theory_run
    results = document["results"]
    assert lookup(results, "stability.games") == 1
    assert lookup(results, "stability.equilibrium_max_field_norm") < 1e-10
    assert lookup(results, "stability.equilibrium_min_kink_margin") > THEORY.stability_kink_margin
    assert lookup(results, "stability.jacobian_jvp_vs_differences_max_rel") < 1e-6
    assert lookup(results, "stability.max_leakage") < 1e-10  # a homogeneous state: the blocks decouple
    # the symmetry-breaking block vanishes at a homogeneous equilibrium (module docstring of stability)
    assert lookup(results, "stability.adv_max_abs_breaking") < 1e-8
    assert lookup(results, "stability.turing_points") == 0
    assert np.array(lookup(results, "stability.max_real_breaking")).shape == (2, 2)
    assert lookup(results, "stability.ftle_adv.seeds") == THEORY.ftle_seeds
    assert {p.name for p in (folder / "prd-theory").glob("*.png")} == {"theory.png", "dependences.png",
                                                                     "stability.png"}
    assert set(document["timings"]) >= {"total", "theorem1", "theorem2", "theorem3", "stability"}


def test_every_claim_cites_a_place_in_the_paper_and_carries_no_verdict_words():
    for claim in experiment.THEORY_CLAIMS + experiment.MNIST_CLAIMS:
        assert claim.source.startswith("Rout") and re.search(r"Theorem|eqs?\. \d|Figs?\. \d|Sec\. \d", claim.source)
        for word in ("not supported", "it does not", "would agree", "NOT"):
            assert word not in claim.statement, (claim.key, word)


def test_mnist_experiment_fits_and_writes_the_paper_figures(tmp_path):
    settings = experiment.MnistSettings(n=20, m=16, initialisations=2, steps=40, synthetic_n=10, weights=(0.0,),
                                        convergence_n=20, convergence_lambda_T=0.5, convergence_initialisations=2,
                                        checkpoints=4)
    document = run_experiment("prd-mnist", settings=settings, out_dir=tmp_path)
    results = document["results"]
    for prefix in ("mnist", "synthetic"):
        # dt = 1/λ_max(H∞) is below the stability limit 2/λ_max: gradient descent on L_sup lowers the residual
        assert lookup(results, f"{prefix}.residual_sup") < lookup(results, f"{prefix}.residual_initial")
        for kind in ("sup", "aug"):
            assert lookup(results, f"{prefix}.drift_U_{kind}") > 0 and lookup(results, f"{prefix}.drift_V_{kind}") > 0
            assert 0 <= lookup(results, f"{prefix}.neuron_drift_cv_{kind}") < np.sqrt(settings.m)  # CV of m values
    # β = 0 is the supervised run itself: ratio 1 at T and at matched residual
    assert lookup(results, "mnist.weights.values") == [0.0, 1.0]
    assert lookup(results, "mnist.weights.drift_U_ratio_at_T")[0] == pytest.approx(1.0, abs=1e-10)
    assert lookup(results, "mnist.weights.drift_U_ratio_matched")[0] == pytest.approx(1.0, abs=1e-10)
    low, high = lookup(results, "mnist.fair.drift_U_ratio_matched.ci_low"), lookup(results, "mnist.fair.drift_U_ratio_matched.ci_high")
    assert low <= lookup(results, "mnist.fair.drift_U_ratio_matched.mean") <= high
    assert lookup(results, "mnist.converged.lambda0_T") >= 0.5
    assert lookup(results, "data.mnist_source")
    assert lookup(results, "setup.t_end") == pytest.approx(settings.steps * lookup(results, "setup.dt"))
    names = {p.stem for p in (tmp_path / "prd-mnist").glob("*.png")}
    assert names == {"fig1_distance", "fig3_filters", "fig4_features", "fig5_symmetry", "fig6_pattern",
                     "fig7_synthetic_without_diffusion", "fig8_synthetic_with_diffusion"}


def test_mnist_experiment_refuses_a_width_that_is_not_square(tmp_path):
    settings = dataclasses.replace(get_experiment("prd-mnist").quick, m=10)
    with pytest.raises(ValueError, match="m must be a square"):
        run_experiment("prd-mnist", settings=settings, out_dir=tmp_path)
