"""Both rd experiments end to end with tiny settings: results keys, figures, and a fixed seed's reproducibility."""

import dataclasses

import pytest

from refimpl.experiments import run_experiment
from refimpl.rd.experiment import GallerySettings, TuringSettings

TINY_TURING = TuringSettings(size=32, steps=300, dt=0.005, h=0.5, growth_size=16, growth_steps=100,
                             growth_modes=((0, 1), (2, 0), (3, 3), (8, 8)), backend_size=8, backend_steps=10,
                             animation=True, frames=3)


def test_rd_turing_records_the_issue_keys(tmp_path):
    document = run_experiment("rd-turing", seed=1, out_dir=tmp_path, settings=TINY_TURING)
    results = document["results"]
    for key in ("predicted_wavelength", "measured_wavelength", "mode_growth_max_rel_error"):
        assert isinstance(results["turing"][key], float)
    assert results["turing"]["mode_growth_max_rel_error"] < 1e-4
    assert results["turing"]["modes_growing"] >= 1 and results["turing"]["modes_decaying"] >= 1
    assert results["backends"]["max_abs_diff"] < 1e-10
    assert (tmp_path / "rd-turing" / "turing.png").exists() and (tmp_path / "rd-turing" / "pattern.gif").exists()
    again = run_experiment("rd-turing", seed=1, out_dir=tmp_path / "again",
                           settings=dataclasses.replace(TINY_TURING, animation=False))
    assert again["results"] == results


def test_rd_turing_refuses_a_model_without_a_band(tmp_path):
    with pytest.raises(ValueError, match="not Turing-unstable"):
        run_experiment("rd-turing", out_dir=tmp_path, settings=dataclasses.replace(TINY_TURING, D_v=1.0))


def test_rd_gallery_records_every_preset(tmp_path):
    settings = GallerySettings(presets=("coral", "mitosis"), size=24, steps=50, seed_square=0.3)
    results = run_experiment("rd-gallery", out_dir=tmp_path, settings=settings)["results"]["gallery"]
    assert set(results) >= {"coral", "mitosis", "max_trivial_state_growth_rate", "patterned"}
    assert results["max_trivial_state_growth_rate"] < 0
    assert (tmp_path / "rd-gallery" / "gallery.png").exists()
