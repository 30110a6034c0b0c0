"""Golden vectors: export writes one float64 .npz per case and a manifest that NumPy alone can read; check
re-verifies a directory and catches a changed, a corrupted or a missing file."""

import argparse
import hashlib
import io
import json

import numpy as np
import pytest

from refimpl.crosscheck import vectors
from refimpl.crosscheck.registry import cases


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    directory = tmp_path_factory.mktemp("vectors")
    vectors.export(directory, seed=2, topic="core")
    return directory


def _copy(exported, tmp_path):
    for path in exported.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    return tmp_path


def test_every_core_case_is_written_with_its_manifest_entry(exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    assert set(manifest["cases"]) == set(cases("core")) and manifest["seed"] == 2
    assert {"refimpl_version", "tolerance", "error_measure", "usage"} <= set(manifest)
    for name, entry in manifest["cases"].items():
        with np.load(exported / entry["file"], allow_pickle=False) as arrays:  # NumPy alone reads them
            for kind in ("inputs", "outputs"):
                for key, spec in entry[kind].items():
                    array = arrays[f"{kind[:-1]}.{key}"]
                    assert list(array.shape) == spec["shape"] and str(array.dtype) == spec["dtype"]
            assert arrays["output.value"].dtype == np.float64
        assert entry["equation"] and entry["topic"] == "core"
        assert set(entry["outputs"]) == {"value", *(f"grad_{k}" for k in entry["wrt"])}
    assert "dynsys.mass_rk-rk4-tanh.npz" == vectors.file_name("dynsys.mass_rk[rk4,tanh]")


def test_the_stored_gradients_are_refimpl_s_own_on_the_stored_inputs(exported):
    case = cases()["core.affine"]
    inputs, outputs = vectors.load(exported / "core.affine.npz")
    np.testing.assert_array_equal(outputs["grad_w"], inputs["dout"].T @ inputs["x"])
    np.testing.assert_array_equal(inputs["x"], case.draw(2)["x"])


def test_an_exported_directory_checks_clean(exported, capsys):
    assert vectors.check(exported) == 0
    assert "0 failed" in capsys.readouterr().out


def test_a_corrupted_npz_is_caught_by_its_checksum(exported, tmp_path, capsys):
    directory = _copy(exported, tmp_path)
    path = directory / "core.tanh.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert vectors.check(directory) == 1
    assert "core.tanh" in capsys.readouterr().out.split("checksum mismatch")[0].splitlines()[-1]


def test_a_changed_value_with_a_matching_checksum_is_caught_by_recomputation(exported, tmp_path, capsys):
    directory = _copy(exported, tmp_path)
    inputs, outputs = vectors.load(directory / "core.sigmoid.npz")
    outputs["grad_x"] = outputs["grad_x"] * (1 + 1e-8)
    buffer = io.BytesIO()
    np.savez(buffer, **{f"input.{k}": v for k, v in inputs.items()}, **{f"output.{k}": v for k, v in outputs.items()})
    (directory / "core.sigmoid.npz").write_bytes(buffer.getvalue())
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["cases"]["core.sigmoid"]["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(manifest))
    assert vectors.check(directory) == 1
    failing = [line for line in capsys.readouterr().out.splitlines() if "FAIL" in line]
    assert len(failing) == 1 and failing[0].startswith("core.sigmoid")


def test_a_missing_file_an_unknown_case_and_a_missing_manifest_fail(exported, tmp_path, capsys):
    directory = _copy(exported, tmp_path)
    (directory / "core.relu.npz").unlink()
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["cases"]["core.from_the_future"] = dict(manifest["cases"]["core.affine"])
    (directory / "manifest.json").write_text(json.dumps(manifest))
    assert vectors.check(directory) == 1
    output = capsys.readouterr().out
    assert "missing file" in output and "unknown case" in output
    with pytest.raises(FileNotFoundError, match="no manifest.json in"):
        vectors.check(tmp_path / "nowhere")


def test_the_parser_exports_and_checks(tmp_path):
    parser = argparse.ArgumentParser()
    vectors.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["vectors", "export", str(tmp_path), "--seed", "1", "--topic", "rd"])
    assert args.handler(args) == 0 and json.loads((tmp_path / "manifest.json").read_text())["seed"] == 1
    args = parser.parse_args(["vectors", "check", str(tmp_path)])
    assert args.handler(args) == 0
    with pytest.raises(SystemExit):
        parser.parse_args(["vectors"])
