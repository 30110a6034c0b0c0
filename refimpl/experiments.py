"""The experiment contract: a registry of named experiments and the :class:`Run` each one receives.

A topic registers its experiments in ``refimpl/<topic>/experiment.py``::

    @dataclass(frozen=True)
    class Settings:
        steps: int = 2000

    @register_experiment("tutorial", quick=Settings(steps=200), full=Settings(),
                         claims=[Claim("mnist.cnn.test_accuracy", "≈ 0.95 (slides)", expected=(0.9, 1.0))])
    def tutorial(run, settings):
        run.record("mnist.cnn.test_accuracy", accuracy)
        run.save_figure(fig, "loss_surface")

:func:`run_experiment` gives the function a :class:`Run` that owns the seed (a
``numpy.random.Generator``), the output folder and the results. The run is staged in a hidden folder
and moved to ``DIR/NAME/`` only when it succeeds, so a failed run leaves the previous results intact.
Each run writes ``results.json`` (measured numbers, settings, seed, versions), ``metrics.csv`` for
curves and PNG figures. :func:`write_report` collects every run into ``DIR/REPORT.md``, the source
document's claims beside our measured values.
"""

import csv
import dataclasses
import importlib
import importlib.util
import io
import json
import os
import pkgutil
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import refimpl
from refimpl.core.validate import check_finite_step, check_int, check_unregistered
from refimpl.data import load_mnist

RESULTS_FILE = "results.json"
METRICS_FILE = "metrics.csv"
REPORT_FILE = "REPORT.md"


@dataclass(frozen=True)
class Claim:
    """A statement of a source document, and the results key where this run puts its measured number.

    Parameters
    ----------
    key : str, dotted results key of the measured value (``"mnist.cnn.test_accuracy"``)
    statement : str, what the source states, in a few words (``"≈ 0.95 test accuracy"``)
    source : str, where it is stated: the paper (with equation, theorem or figure), the slides or the
        public code; never internal notes or a tracker number
    expected : (low, high), optional, the range of the measured value that agrees with the statement
    at_most, at_least : float or str, optional, a one-sided bound (a number, or the dotted results key of a
        bound computed in the same run); the verdict says whether it holds and by how much, never that
        the bound was "reproduced"

    The verdict column of REPORT.md is computed from the measured numbers (:func:`verdict`); a claim with
    neither a range nor a bound is reported as "measured" without a verdict word.
    """

    key: str
    statement: str
    source: str = ""
    expected: tuple = None
    at_most: object = None
    at_least: object = None


@dataclass(frozen=True)
class Experiment:
    name: str
    function: object
    quick: object
    full: object
    description: str
    claims: tuple = ()


_experiments = {}


def register_experiment(name, *, quick, full, claims=(), description=None):
    """Decorator registering ``function(run, settings)`` as experiment ``name``.

    ``quick`` and ``full`` are frozen dataclass instances of the experiment's settings; ``--quick``
    selects the first. The description defaults to the first line of the function's docstring.
    """
    for label, settings in (("quick", quick), ("full", full)):
        if not dataclasses.is_dataclass(settings):
            raise TypeError(f"{label} settings of experiment {name!r} must be a dataclass instance")

    def decorate(function):
        if name in _experiments:
            check_unregistered("experiment", name, _experiments[name].function, function)
        summary = description or (function.__doc__ or name).strip().splitlines()[0]
        _experiments[name] = Experiment(name, function, quick, full, summary, tuple(claims))
        return function

    return decorate


def discover(module_name):
    """Import ``refimpl.<topic>.<module_name>`` for every topic that has one (they register themselves)."""
    for topic in pkgutil.iter_modules(refimpl.__path__):
        full_name = f"refimpl.{topic.name}.{module_name}"
        if topic.ispkg and importlib.util.find_spec(full_name) is not None:
            importlib.import_module(full_name)


def experiments():
    """Every registered experiment by name, after importing each topic's ``experiment`` module."""
    discover("experiment")
    return dict(sorted(_experiments.items()))


def get_experiment(name):
    registry = experiments()
    if name not in registry:
        raise KeyError(f"no experiment named {name!r}; known: {', '.join(registry) or 'none'}")
    return registry[name]


class Run:
    """What an experiment receives: seed and generator, output folder, results, figures and progress.

    Attributes
    ----------
    name : str
    folder : pathlib.Path, where files of this run are written (a staging folder while it runs)
    seed : int
    rng : numpy.random.Generator, seeded with ``seed``; the only source of randomness of a run
    quick : bool
    mnist_dir : str or None, a folder of full-MNIST IDX files, or None for the bundled subset
    results : dict, nested; filled with :meth:`record`
    """

    def __init__(self, name, folder, *, seed=0, quick=False, mnist_dir=None, progress=None):
        self.name = name
        self.folder = Path(folder)
        self.seed = check_int("seed", seed, minimum=0)
        self.rng = np.random.default_rng(self.seed)
        self.quick = quick
        self.mnist_dir = mnist_dir
        self.results = {}
        self.timings = {}
        self._progress = progress

    def record(self, key, value):
        """Store ``value`` under the dotted ``key`` (``"mnist.cnn.test_accuracy"``) of the results."""
        *parents, leaf = key.split(".")
        node = self.results
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _plain(value)

    def record_timing(self, key, seconds):
        """Store a wall-clock time (seconds) under ``key`` of the ``timings`` block of ``results.json``.

        Times live apart from the measured results, so that two runs with the same seed have identical
        ``results`` and differ only in ``timings`` (and the determinism tests compare everything else).
        """
        self.timings[key] = round(float(seconds), 3)

    def lookup(self, key):
        """The value recorded under the dotted ``key``."""
        return lookup(self.results, key)

    def load_mnist(self, *, n_train=None, n_test=None):
        """MNIST for this run (full IDX files from ``mnist_dir`` or the bundled subset), recording its source
        under ``data.mnist_source`` so that every result says which data it came from."""
        split = load_mnist(self.mnist_dir, n_train=n_train, n_test=n_test)
        self.record("data.mnist_source", split.source)
        return split

    def write_metrics(self, columns, filename=METRICS_FILE):
        """Write curves to CSV: ``columns`` maps a column name to a sequence (all of equal length)."""
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"metric columns must have equal lengths; got {lengths}")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(zip(*(map(_plain, values) for values in columns.values())))
        atomic_write(self.folder / filename, buffer.getvalue())

    def save_figure(self, figure, name):
        """Save a matplotlib figure as ``NAME.png`` at 150 dpi and close it; returns the path."""
        import matplotlib.pyplot as plt

        path = self.folder / f"{name}.png"
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
        plt.close(figure)
        atomic_write(path, buffer.getvalue())
        return path

    def progress(self, iterable, *, total=None, desc=None):
        """Wrap a long loop in a tqdm bar; shown only on a terminal unless the run was told otherwise."""
        return tqdm(iterable, total=total, desc=desc or self.name, disable=self._progress_disabled(),
                    leave=False, dynamic_ncols=True)

    def _progress_disabled(self):
        return None if self._progress is None else not self._progress

    def check_finite(self, step, total, **values):
        """Stop the run with ``FloatingPointError`` naming the step if a value is NaN or infinite."""
        check_finite_step(step, total, **values)

    def write_results(self, settings, elapsed_seconds):
        """Write ``results.json``: the measured results, settings, seed, versions and, apart, the timings."""
        document = {
            "experiment": self.name,
            "quick": self.quick,
            "seed": self.seed,
            "settings": _plain(dataclasses.asdict(settings)),
            "versions": versions(),
            "results": self.results,
            "timings": {"total": round(elapsed_seconds, 3), **self.timings},
        }
        atomic_write(self.folder / RESULTS_FILE, json.dumps(document, indent=2, sort_keys=False) + "\n")


def run_experiment(name, *, quick=False, seed=0, out_dir="figures", mnist_dir=None, progress=None,
                   settings=None):
    """Run experiment ``name`` and move its files into ``out_dir/name`` when it succeeds.

    Parameters
    ----------
    quick : bool, use the experiment's quick settings
    seed : int, seed of the run's generator; a fixed seed gives identical results
    out_dir : path, parent folder of the run's folder
    mnist_dir : path, optional, folder of full-MNIST IDX files (default: bundled subset)
    progress : bool or None, show progress bars (None: only on a terminal)
    settings : dataclass instance, optional, overrides the quick/full settings (tests use this)

    Returns
    -------
    dict, the results document written to ``results.json``.
    """
    experiment = get_experiment(name)
    chosen = settings if settings is not None else (experiment.quick if quick else experiment.full)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_dir))
    run = Run(name, staging, seed=seed, quick=quick, mnist_dir=mnist_dir, progress=progress)
    start = time.perf_counter()
    try:
        experiment.function(run, chosen)
        run.write_results(chosen, time.perf_counter() - start)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, Exception) and hasattr(error, "add_note"):  # add_note: Python >= 3.11
            error.add_note(f"nothing was written to {out_dir / name}")
        raise
    _replace_folder(staging, out_dir / name)
    return json.loads((out_dir / name / RESULTS_FILE).read_text())


def _replace_folder(source, target):
    """Move ``source`` to ``target``, replacing an existing ``target`` with two renames."""
    if target.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
        os.replace(target, retired / target.name)
        os.replace(source, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(source, target)


def write_report(out_dir="figures", names=None):
    """Write ``out_dir/REPORT.md`` from the ``results.json`` of each experiment that has run."""
    out_dir = Path(out_dir)
    registry = experiments()
    sections = ["# refimpl: reproduction report\n",
                "Each section puts what the source document claims beside what this run measured. "
                "Generated by `refimpl reproduce`; every number comes from the run recorded in "
                "that experiment's `results.json`.\n"]
    for name in names or registry:
        results_path = out_dir / name / RESULTS_FILE
        if not results_path.exists():
            sections.append(f"## {name}\n\nNot run: {results_path} does not exist.\n")
            continue
        sections.append(_report_section(registry[name], json.loads(results_path.read_text()), out_dir / name))
    path = out_dir / REPORT_FILE
    atomic_write(path, "\n".join(sections))
    return path


def _report_section(experiment, document, folder):
    mode = "quick" if document["quick"] else "full"
    lines = [f"## {experiment.name}\n", f"{experiment.description}\n",
             f"Setting: {mode}, seed {document['seed']}, {document['timings']['total']:.1f} s.\n"]
    if experiment.claims:
        lines += ["| quantity | claim | source | measured | verdict |", "|---|---|---|---|---|"]
        for claim in experiment.claims:
            measured = lookup(document["results"], claim.key, default=None)
            cells = [f"`{claim.key}`", claim.statement, claim.source or "—", _format(measured),
                     verdict(claim, document["results"])]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")  # a bare | ends a cell
        lines.append("")
    lines += [f"![{png.stem}]({experiment.name}/{png.name})" for png in sorted(folder.glob("*.png"))]
    return "\n".join(lines) + "\n"


def verdict(claim, results):
    """The verdict of ``claim`` on ``results``, in words computed from the numbers.

    A range gives "agrees" or "differs"; a one-sided bound gives "holds" or "violated" with the margin
    (the measured value as a fraction of the bound); no range and no bound gives "measured".
    """
    measured = lookup(results, claim.key, default=None)
    if measured is None:
        return "not measured"
    values = np.ravel(np.asarray(measured, dtype=float))
    if claim.expected is not None:
        low, high = claim.expected
        inside = bool(np.all((values >= low) & (values <= high)))
        return f"agrees: within [{low:g}, {high:g}]" if inside else f"**differs**: outside [{low:g}, {high:g}]"
    for bound, holds, relation in ((claim.at_most, np.less_equal, "≤"), (claim.at_least, np.greater_equal, "≥")):
        if bound is None:
            continue
        limit = lookup(results, bound, default=None) if isinstance(bound, str) else bound
        if limit is None:
            return f"bound {bound!r} not measured"
        limit = np.ravel(np.asarray(limit, dtype=float))
        ok = bool(np.all(holds(values, limit)))
        named = f"{bound}" if isinstance(bound, str) else f"{float(limit[0]):g}"
        margin = _margin(values, limit)
        return (f"holds: {relation} {named}{margin}" if ok else f"**violated**: not {relation} {named}{margin}")
    return "measured (no range or bound stated)"


def _margin(values, limit):
    """`` (measured/bound up to X)`` when the bound is a finite non-zero number, else empty."""
    limit = np.broadcast_to(limit, values.shape)
    usable = np.isfinite(limit) & (limit != 0)
    if not np.any(usable):
        return ""
    ratio = values[usable] / limit[usable]
    return f" (measured/bound {np.min(ratio):.3g}…{np.max(ratio):.3g})" if ratio.size > 1 else \
        f" (measured/bound {ratio[0]:.3g})"


def _format(value):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and len(value) <= 8:
        return ", ".join(_format(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_format(v)}" for k, v in value.items())
    return str(value)


def lookup(results, key, default=KeyError):
    """The value under a dotted ``key`` of nested dicts; ``default`` when given and absent."""
    node = results
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            if default is KeyError:
                raise KeyError(f"results have no {key!r} (missing at {part!r})")
            return default
        node = node[part]
    return node


def atomic_write(path, data):
    """Write ``data`` (str or bytes) to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, mode) as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def versions():
    """Versions of Python, the platform and the packages a result depends on."""
    import matplotlib
    import numba
    import scipy

    return {"refimpl": refimpl.__version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "numpy": np.__version__, "numba": numba.__version__, "scipy": scipy.__version__,
            "matplotlib": matplotlib.__version__}


def _plain(value):
    """Convert NumPy scalars and arrays (also inside dicts and lists) to JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep them visible as strings
    return value
