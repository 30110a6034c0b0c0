"""Golden vectors: every cross-check case's inputs, value and gradients as float64 ``.npz`` files that any
framework can check itself against, with NumPy alone.

::

    refimpl vectors export DIR [--seed S]      # DIR/manifest.json and one DIR/<case>.npz per case
    refimpl vectors check DIR                  # recompute every stored case with refimpl (exit 1 on a mismatch)

Reading a case needs only NumPy and the standard library::

    manifest = json.load(open("DIR/manifest.json"))
    entry = manifest["cases"]["core.affine"]
    arrays = np.load("DIR/" + entry["file"])
    x, w, b, dout = (arrays["input." + name] for name in ("x", "w", "b", "dout"))
    arrays["output.value"], arrays["output.grad_x"]       # y = x wᵀ + b and ∂⟨y, dout⟩/∂x

``output.grad_<name>`` is the gradient of :math:`\\langle \\mathrm{value}, w \\rangle` with respect to input
``<name>``, with :math:`w` the input named by the entry's ``cotangent``, or of the sum of ``value`` when the
cotangent is null (a scalar loss).
"""

import hashlib
import io
import json
from pathlib import Path

import numpy as np

import refimpl
from refimpl.crosscheck.command import ERROR_MEASURE, format_table
from refimpl.crosscheck.registry import TOLERANCE, cases, relative_error

MANIFEST = "manifest.json"
FORMAT = "refimpl golden vectors, version 1"
USAGE = ("np.load(<file>): inputs under 'input.<name>', refimpl's value under 'output.value' and, for each name "
         "in 'wrt', the gradient under 'output.grad_<name>': of sum(value * input.<cotangent>), or of sum(value) "
         "when the cotangent is null")


def file_name(case_name):
    """``dynsys.mass_rk[rk4,tanh]`` -> ``dynsys.mass_rk-rk4-tanh.npz`` (no brackets or commas in paths)."""
    return case_name.replace("[", "-").replace("]", "").replace(",", "-") + ".npz"


def _npz_bytes(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _described(arrays):
    return {name: {"shape": list(np.shape(a)), "dtype": str(np.asarray(a).dtype)} for name, a in arrays.items()}


def export(directory, seed=0, topic=None):
    """Write one ``.npz`` per registered case (of ``topic``, if given) and ``manifest.json`` into
    ``directory``, every file atomically. Returns the path of the manifest."""
    from refimpl.experiments import atomic_write

    directory = Path(directory)
    entries = {}
    for name, case in cases(topic).items():
        inputs = case.draw(seed)
        outputs = case.run_refimpl(inputs)
        data = _npz_bytes({**{f"input.{k}": v for k, v in inputs.items()},
                           **{f"output.{k}": v for k, v in outputs.items()}})
        atomic_write(directory / file_name(name), data)
        entries[name] = {"file": file_name(name), "topic": case.topic, "equation": case.equation,
                         "wrt": list(case.wrt), "cotangent": case.cotangent, "inputs": _described(inputs),
                         "outputs": _described(outputs), "sha256": hashlib.sha256(data).hexdigest()}
    manifest = {"format": FORMAT, "refimpl_version": refimpl.__version__, "seed": seed, "tolerance": TOLERANCE,
                "error_measure": ERROR_MEASURE, "usage": USAGE, "cases": entries}
    path = atomic_write(directory / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(entries)} cases and {MANIFEST} to {directory}")
    return path


def load(path):
    """``(inputs, outputs)`` of one ``.npz`` golden-vector file, as dicts keyed without the prefixes."""
    with np.load(path, allow_pickle=False) as arrays:
        inputs = {key.removeprefix("input."): arrays[key] for key in arrays.files if key.startswith("input.")}
        outputs = {key.removeprefix("output."): arrays[key] for key in arrays.files if key.startswith("output.")}
    return inputs, outputs


def check_entry(directory, name, entry, registered):
    """One row: the stored case ``name`` re-verified (checksum, readable arrays, recomputed by refimpl)."""
    row = {"case": name, "file": entry["file"]}
    path = Path(directory) / entry["file"]
    if name not in registered:
        return {**row, "status": "unknown case (not in this version of refimpl)", "passed": False}
    if not path.exists():
        return {**row, "status": "missing file", "passed": False}
    if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
        return {**row, "status": "checksum mismatch: the file changed since it was exported", "passed": False}
    case = registered[name]
    try:
        inputs, stored = load(path)
        ours = case.run_refimpl(inputs)
        errors = {key: relative_error(ours[key], stored[key]) for key in case.output_names()}
    except Exception as error:  # an unreadable or incomplete file fails its row, the others still run
        return {**row, "status": f"unreadable: {type(error).__name__}: {error}", "passed": False}
    worst = max(errors.values())
    passed = bool(worst <= TOLERANCE)
    return {**row, "max_relative_error": float(worst), "status": "pass" if passed else "FAIL", "passed": passed}


def check(directory):
    """Re-verify every case of ``directory/manifest.json`` against the library; print a table and return
    the exit status (0 when every stored case agrees to ``TOLERANCE``, 1 otherwise)."""
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    if not manifest_path.exists():
        raise FileNotFoundError(f"no {MANIFEST} in {directory}; write one with `refimpl vectors export {directory}`")
    manifest = json.loads(manifest_path.read_text())
    registered = cases()
    rows = [check_entry(directory, name, entry, registered) for name, entry in manifest["cases"].items()]
    print(format_table(rows, [("case", "case"), ("max rel. error", "max_relative_error"), ("result", "status")]))
    failed = sum(not row["passed"] for row in rows)
    absent = sorted(set(registered) - set(manifest["cases"]))
    print(f"{len(rows)} stored cases (refimpl {manifest['refimpl_version']}, seed {manifest['seed']}), {failed} failed"
          + (f"; {len(absent)} registered cases are not in this directory" if absent else ""))
    return 0 if failed == 0 else 1


def _export_command(args):
    export(args.directory, args.seed, args.topic)
    return 0


def add_parser(subparsers):
    """Add ``vectors export DIR`` and ``vectors check DIR`` to the ``refimpl`` command line."""
    parser = subparsers.add_parser("vectors", help="export or check golden vectors (.npz + manifest.json)",
                                   description=__doc__.splitlines()[0])
    actions = parser.add_subparsers(dest="vectors_command", metavar="ACTION", required=True)
    exporting = actions.add_parser("export", help="write every case's inputs, value and gradients to DIR")
    exporting.add_argument("directory", type=Path, metavar="DIR")
    exporting.add_argument("--seed", type=int, default=0, help="seed of the drawn shapes and values (default 0)")
    exporting.add_argument("--topic", default=None, help="only the cases of this topic")
    exporting.set_defaults(handler=_export_command)
    checking = actions.add_parser("check", help="recompute every case stored in DIR with refimpl")
    checking.add_argument("directory", type=Path, metavar="DIR")
    checking.set_defaults(handler=lambda args: check(args.directory))
    return parser
