"""``refimpl crosscheck``: every registered case recomputed in each framework's float64 autograd.

::

    refimpl crosscheck                          # torch and JAX, every topic, seed 0 -> ./crosscheck.json
    refimpl crosscheck --framework jax --topic prd --seed 3 --out figures

Each case draws its inputs from the seed, computes its value and hand-derived gradients in refimpl and
again by the framework's autograd from the reference forward pass, and passes when the largest relative
error (:func:`refimpl.crosscheck.registry.relative_error`) of every array is at most 1e-10. A framework that
is not installed is reported as skipped, not as a failure. The exit status is 1 when any case fails.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from refimpl import bench
from refimpl.crosscheck import frameworks
from refimpl.crosscheck.registry import TOLERANCE, cases, relative_error, shapes

FRAMEWORK_CHOICES = ("all", *frameworks.FRAMEWORKS)
RESULT_FILE = "crosscheck.json"
ERROR_MEASURE = "max over elements of |ours - reference| / (|reference| + 1e-2 max(1, max|reference|))"


def check_case(case, framework, seed):
    """One row of the table: ``case`` recomputed in ``framework`` on the inputs drawn from ``seed``.

    Returns a dict with the case, its topic, the framework, the input shapes, the relative error of each
    output (``errors``), the largest one and the output it comes from, and ``passed``; a reference that
    raises gives a failed row with the error message.
    """
    inputs = case.draw(seed)
    row = {"case": case.name, "topic": case.topic, "framework": framework, "shapes": shapes(inputs)}
    if framework not in case.references:
        return {**row, "status": "no reference", "passed": True}
    try:
        ours = case.run_refimpl(inputs)
        theirs = frameworks.evaluate(framework, case, inputs)
        errors = {name: relative_error(ours[name], theirs[name]) for name in case.output_names()}
    except Exception as error:  # a broken case is reported in its row, the others still run
        return {**row, "status": "error", "error": f"{type(error).__name__}: {error}", "passed": False}
    worst = max(errors, key=lambda name: errors[name])
    passed = bool(errors[worst] <= TOLERANCE)
    return {**row, "status": "pass" if passed else "FAIL", "errors": {k: _number(v) for k, v in errors.items()},
            "max_relative_error": _number(errors[worst]), "worst_output": worst, "passed": passed}


def run(framework="all", topic=None, seed=0, out=Path("."), progress=None):
    """Cross-check every registered case (of ``topic``, if given) in ``framework`` ("all", "torch", "jax").

    Prints the table and a summary per framework, writes ``out/crosscheck.json`` atomically and returns
    the exit status: 0 when every case that ran passed, 1 otherwise. ``progress`` forces the progress bar
    on or off (default: shown on a terminal only).
    """
    if framework not in FRAMEWORK_CHOICES:
        raise ValueError(f"framework must be one of {', '.join(FRAMEWORK_CHOICES)}; got {framework!r}")
    selected = cases(topic)
    requested = tuple(frameworks.FRAMEWORKS) if framework == "all" else (framework,)
    installed = [name for name in requested if frameworks.available(name)]
    jobs = [(case, name) for name in installed for case in selected.values()]
    disable = not sys.stderr.isatty() if progress is None else not progress
    rows = [check_case(case, name, seed)
            for case, name in tqdm(jobs, desc="crosscheck", disable=disable, leave=False, dynamic_ncols=True)]
    summary = {name: _summary(name, rows) for name in requested}
    print(format_table(rows, [("case", "case"), ("framework", "framework"), ("shapes", "shapes"),
                              ("max rel. error", "max_relative_error"), ("result", "status")]))
    for name, entry in summary.items():
        print(_summary_line(name, entry))
    document = {"seed": seed, "topic": topic, "tolerance": TOLERANCE, "error_measure": ERROR_MEASURE,
                "versions": _versions(), "frameworks": summary, "cases": rows}
    path = _write_json(Path(out) / RESULT_FILE, document)
    print(f"wrote {path}")
    return 0 if all(row["passed"] for row in rows) else 1


def _summary(framework, rows):
    if not frameworks.available(framework):
        return {"status": "skipped", "reason": f"{framework} is not installed", "version": None}
    mine = [row for row in rows if row["framework"] == framework and row["status"] != "no reference"]
    measured = [row for row in mine if "max_relative_error" in row]
    worst = max(measured, key=lambda row: float(row["max_relative_error"]), default=None)
    return {"status": "ran", "version": frameworks.version(framework), "cases": len(mine),
            "failed": sum(not row["passed"] for row in mine),
            "worst_relative_error": None if worst is None else worst["max_relative_error"],
            "worst_case": None if worst is None else worst["case"]}


def _summary_line(framework, entry):
    if entry["status"] == "skipped":
        return f"{framework}: skipped ({entry['reason']})"
    worst = entry["worst_relative_error"]
    worst_text = "" if worst is None else f", worst relative error {float(worst):.2e} ({entry['worst_case']})"
    return f"{framework} {entry['version']}: {entry['cases']} cases, {entry['failed']} failed{worst_text}"


def _number(value):
    """A float for JSON: non-finite values (a shape mismatch is an infinite error) become strings."""
    return float(value) if np.isfinite(value) else str(value)


def _versions():
    from refimpl.experiments import versions

    return {**versions(), **{name: frameworks.version(name) for name in frameworks.FRAMEWORKS}}


def _write_json(path, document):
    from refimpl.experiments import atomic_write

    return atomic_write(path, json.dumps(document, indent=2) + "\n")


def format_table(rows, columns):
    """A plain-text table of ``rows`` (dicts); ``columns`` is a list of (heading, key); floats in %.2e, and an
    error message beside its status."""
    def cell(row, key):
        value = row.get(key, "")
        if key == "status" and row.get("error"):
            return f"{value}: {row['error']}"
        return f"{value:.2e}" if isinstance(value, float) else str(value)

    return bench.format_table([{heading: cell(row, key) for heading, key in columns} for row in rows])


def add_parser(subparsers):
    """Add the ``crosscheck`` command to the ``refimpl`` command line (``subparsers`` of argparse)."""
    parser = subparsers.add_parser("crosscheck", help="recompute every gradient in torch/JAX float64 autograd",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=FRAMEWORK_CHOICES, default="all",
                        help="the framework to check against (default: all that are installed)")
    parser.add_argument("--topic", default=None, help="only the cases of this topic (core, tutorial, prd, ...)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the drawn shapes and values (default 0)")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder of crosscheck.json (default: .)")
    parser.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    parser.set_defaults(handler=lambda args: run(args.framework, args.topic, args.seed, args.out,
                                                 progress=False if args.no_progress else None))
    return parser


def main(argv=None):
    """``python -m refimpl.crosscheck.command [options]``, the same as ``refimpl crosscheck``."""
    parser = argparse.ArgumentParser(prog="refimpl")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["crosscheck", *(sys.argv[1:] if argv is None else argv)])
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
