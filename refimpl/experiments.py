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
and moved to ``DIR/NAME/`` only when it succeeds, so a failed run leaves the previous results intact:
everything a run is given is checked before its staging folder exists, the staging folder is removed on
any error and on SIGINT, SIGTERM and SIGHUP, and the staging folders of a killed run (SIGKILL) are
removed by the next run into the same folder. Files and folders get the permissions the umask gives.
Each run writes ``results.json`` (measured numbers, settings, seed, versions), ``metrics.csv`` for
curves and PNG figures. :func:`write_report` collects every run into ``DIR/REPORT.md``, the source
document's claims beside our measured values.
"""

import contextlib
import csv
import dataclasses
import errno
import importlib
import importlib.util
import io
import json
import os
import pkgutil
import platform
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import refimpl
from refimpl.core.validate import check_finite_step, check_int, check_unregistered
from refimpl.data import load_mnist
from refimpl.data.mnist import ENVIRONMENT_VARIABLE, find_mnist_files

RESULTS_FILE = "results.json"
METRICS_FILE = "metrics.csv"
REPORT_FILE = "REPORT.md"
# Hidden work files carry their owner's pid, so that the next run can tell a killed run's leftovers
# (owner dead) from a concurrent run's (owner alive): ".NAME-staging-PID-RANDOM", "-retired-", "-partial-".
_WORK_FILE = re.compile(r"^\.(?P<target>.+)-(?P<kind>staging|retired|partial)-(?P<pid>\d+)-[^-]+$")
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP during a run, raised like Ctrl-C so that the run cleans up after itself."""

    def __init__(self, signum):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


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
        """Wrap a long loop: a tqdm bar on a terminal, else one :meth:`stage` line at its start and end.

        ``progress=True`` shows the bar everywhere, ``progress=False`` never (the lines stay), so that a
        log of a run without a terminal is never silent for minutes.
        """
        if self._bars():
            return tqdm(iterable, total=total, desc=desc or self.name, leave=False, dynamic_ncols=True)
        return self._stage_lines(iterable, total, f"{desc}: " if desc else "")

    def _bars(self):
        return self._progress or (self._progress is None and sys.stderr.isatty())

    def _stage_lines(self, iterable, total, label):
        total = total if total is not None else getattr(iterable, "__len__", lambda: None)()
        self.stage(f"{label}started" + (f" ({total} steps)" if total is not None else ""))
        start, count = time.perf_counter(), 0
        try:
            for item in iterable:
                count += 1
                yield item
        finally:  # also when the loop breaks early or fails (the generator is closed)
            self.stage(f"{label}{count} steps done in {time.perf_counter() - start:.1f} s")

    def stage(self, text):
        """Print one line ``NAME: text`` to stderr (the progress of a run in a log)."""
        print(f"{self.name}: {text}", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def heartbeat(self, every=60.0):
        """Context: without progress bars, a :meth:`stage` line every ``every`` seconds, so that a log stays
        alive through an experiment whose loops do not go through :meth:`progress`."""
        if self._bars():
            yield
            return
        stop, start = threading.Event(), time.perf_counter()

        def beat():
            while not stop.wait(every):
                self.stage(f"still running after {time.perf_counter() - start:.0f} s")

        thread = threading.Thread(target=beat, name=f"{self.name}-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

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

    Everything is checked before anything is created: the name, the settings, the seed, ``mnist_dir`` and
    the output folder (:func:`prepare_output_folder`). The run is staged in a hidden folder of ``out_dir``
    that is removed on any error and on SIGINT, SIGTERM or SIGHUP (:class:`Interrupted`); on success it
    replaces ``out_dir/name``.

    Parameters
    ----------
    quick : bool, use the experiment's quick settings
    seed : int >= 0, seed of the run's generator; a fixed seed gives identical results
    out_dir : path, parent folder of the run's folder
    mnist_dir : path, optional, folder of full-MNIST IDX files (default: ``$REFIMPL_MNIST_DIR``, else the
        bundled subset)
    progress : bool or None, progress bars (None: only on a terminal; without one, a line per stage)
    settings : dataclass instance, optional, overrides the quick/full settings (tests use this)

    Returns
    -------
    dict, the results document written to ``results.json``.
    """
    experiment = get_experiment(name)
    chosen = settings if settings is not None else (experiment.quick if quick else experiment.full)
    if not dataclasses.is_dataclass(chosen) or isinstance(chosen, type):
        raise TypeError(f"settings of experiment {name!r} must be a dataclass instance; got {chosen!r}")
    seed = check_int("seed", seed, minimum=0)
    check_mnist_dir(mnist_dir)
    target = Path(out_dir) / name
    with output_folder(out_dir, entries=[name]):
        staging = _work_folder(target, "staging")
        try:
            with StopSignals() as signals:
                run = Run(name, staging, seed=seed, quick=quick, mnist_dir=mnist_dir, progress=progress)
                start = time.perf_counter()
                with run.heartbeat():
                    experiment.function(run, chosen)
                run.write_results(chosen, time.perf_counter() - start)
                _replace_folder(staging, target, hold=signals.hold)
        except BaseException as error:
            if staging.exists():  # not moved onto target: this run wrote nothing
                shutil.rmtree(staging, ignore_errors=True)
                error.add_note(f"nothing was written to {target}")
            raise
    return json.loads((target / RESULTS_FILE).read_text())


def override_settings(settings, assignments):
    """A copy of the frozen ``settings`` with ``assignments`` (``["key=value", ...]``) applied.

    Each value is converted to the type of the field's current value (int, float, bool, str; a field whose
    value is None takes the string). Raises ``ValueError`` naming an unknown field or a value that does not
    convert, with the fields there are.
    """
    fields = {field.name: getattr(settings, field.name) for field in dataclasses.fields(settings)}
    changes = {}
    for assignment in assignments:
        key, equals, text = assignment.partition("=")
        if not equals or key not in fields:
            raise ValueError(f"--set {assignment!r}: expected KEY=VALUE with KEY one of {', '.join(fields)}")
        changes[key] = _convert(key, text, fields[key])
    return dataclasses.replace(settings, **changes)


def _convert(key, text, current):
    if current is None or isinstance(current, str):
        return text
    if isinstance(current, bool):
        if text.lower() not in ("true", "false"):
            raise ValueError(f"--set {key}={text!r}: expected true or false")
        return text.lower() == "true"
    if isinstance(current, (int, float)):
        try:
            return type(current)(text)
        except ValueError:
            raise ValueError(f"--set {key}={text!r}: expected a value of type {type(current).__name__}") from None
    raise ValueError(f"--set {key}: a field of type {type(current).__name__} cannot be set from the command line")


def check_mnist_dir(mnist_dir):
    """Check ``mnist_dir`` (or ``$REFIMPL_MNIST_DIR`` when it is None) names a folder with the four IDX files.

    Cheap (no file is read), so that a run is refused before it starts rather than when it reaches the data.
    """
    directory = mnist_dir if mnist_dir is not None else os.environ.get(ENVIRONMENT_VARIABLE) or None
    if directory is None:
        return None
    where = "--mnist-dir" if mnist_dir is not None else f"${ENVIRONMENT_VARIABLE}"
    if not Path(directory).is_dir():
        raise FileNotFoundError(f"MNIST directory {str(directory)!r} (from {where}) is not a folder")
    find_mnist_files(directory)
    return Path(directory)


@contextlib.contextmanager
def output_folder(folder, *, entries=(), files=()):
    """Context: ``folder`` prepared by :func:`prepare_output_folder`; the folders it had to create are
    removed again, while empty, if the block fails (a refused or interrupted command leaves nothing)."""
    created = prepare_output_folder(folder, entries=entries, files=files)
    try:
        yield Path(folder)
    except BaseException:
        _remove_empty(created)
        raise


def prepare_output_folder(folder, *, entries=(), files=()):
    """Make sure files can be written in ``folder`` before anything runs, and clean a killed run's leftovers.

    Creates ``folder`` (and missing parents), writes and removes a probe file in it, refuses an existing
    file at ``folder`` or at ``folder/ENTRY`` for each of ``entries`` (the run folders to come) and an
    existing folder at ``folder/FILE`` for each of ``files`` (the files to come), and removes the hidden
    work folders and files of runs whose process is gone (:func:`remove_stale`). Returns the folders it
    created, outermost first.

    Raises
    ------
    OSError, with a message naming the folder and the reason (not a directory, read-only, ...).
    """
    folder = Path(folder)
    missing = _make_folder(folder)
    probe = folder / f".write-probe-{os.getpid()}"
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_EXCL))
        os.unlink(probe)
    except OSError as error:
        _remove_empty(missing)
        raise type(error)(f"cannot write in output folder {folder}: {error.strerror or error}") from None
    clashes = [(folder / entry, "file", "run folder") for entry in entries
               if (folder / entry).exists() and not (folder / entry).is_dir()]
    clashes += [(folder / file, "folder", "file") for file in files if (folder / file).is_dir()]
    if clashes:
        path, found, wanted = clashes[0]
        raise FileExistsError(f"{path} is an existing {found}, where a {wanted} is to be written; "
                              "move it away or choose another output folder")
    remove_stale(folder)
    return missing


def _make_folder(folder):
    """Create ``folder`` and its missing parents, or raise an OSError naming it; returns those created."""
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"output folder {folder} is an existing file, not a folder; choose another")
    missing = [parent for parent in (folder, *folder.parents) if not parent.exists()][::-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise type(error)(f"cannot create output folder {folder}: {error.strerror or error}") from None
    return missing


def remove_stale(folder):
    """Remove the hidden work folders and files that runs killed by SIGKILL left in ``folder``.

    A work entry is stale when the process named in it no longer exists; a concurrent run's entries are
    kept. A retired results folder whose replacement never arrived is put back in place.
    """
    for path in Path(folder).iterdir():
        match = _WORK_FILE.match(path.name)
        if match is None or _alive(int(match["pid"])):
            continue
        target = path.parent / match["target"]
        if match["kind"] == "retired" and not target.exists() and (path / target.name).is_dir():
            os.replace(path / target.name, target)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, another user's
        return True
    return True


def _remove_empty(folders):
    """Remove ``folders`` (those :func:`prepare_output_folder` created) innermost first, while they are empty."""
    for created in reversed(folders):
        try:
            created.rmdir()
        except OSError:
            return


class StopSignals:
    """Context: SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted`; inside :meth:`hold` they wait.

    Only in the main thread (the only one where Python runs signal handlers) and only for signals left at
    their default action: a SIGHUP ignored by ``nohup`` stays ignored. The previous handlers are restored
    on exit.
    """

    def __enter__(self):
        self.previous, self.pending, self.holding = {}, None, False
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, *_STOP_SIGNALS):
                if signal.getsignal(signum) in (signal.SIG_DFL, signal.default_int_handler):
                    self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        return False

    def _handle(self, signum, frame):
        if not self.holding:
            raise Interrupted(signum)
        self.pending = self.pending or signum

    @contextlib.contextmanager
    def hold(self):
        """Delay the signals until the block ends (the block is then never cut in the middle)."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
            if self.pending is not None:
                raise Interrupted(self.pending)


def _work_folder(target, kind):
    """A hidden folder ``.TARGET-KIND-PID-RANDOM`` beside ``target``, with the umask's permissions."""
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}-{kind}-{os.getpid()}-", dir=target.parent))
    os.chmod(folder, 0o777 & ~_umask())
    return folder


def _umask():
    """The process's umask (reading it means setting it for an instant)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace_folder(source, target, hold=contextlib.nullcontext):
    """Move ``source`` onto ``target``, putting an existing ``target`` aside first (two renames).

    ``hold`` keeps signals from cutting between the two renames; after a SIGKILL there the retired folder
    is put back by :func:`remove_stale`. Of two runs finishing at once into the same ``target``, the last
    one wins (a rename onto a folder that appeared meanwhile is retried); neither leaves a mixed folder.
    """
    for attempt in range(3):
        retired = _work_folder(target, "retired")
        try:
            with hold():
                try:
                    if target.exists():
                        os.replace(target, retired / target.name)
                    os.replace(source, target)
                    return
                except OSError as error:
                    if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT) and attempt < 2:
                        continue  # another run moved target meanwhile: try again
                    if not target.exists() and (retired / target.name).exists():
                        os.replace(retired / target.name, target)
                    raise
        finally:
            shutil.rmtree(retired, ignore_errors=True)


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
        for claim, measured, words in claim_rows(experiment, document["results"]):
            cells = [f"`{claim.key}`", claim.statement, claim.source or "—", measured, words]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")  # a bare | ends a cell
        lines.append("")
    lines += [f"![{png.stem}]({experiment.name}/{png.name})" for png in sorted(folder.glob("*.png"))]
    return "\n".join(lines) + "\n"


def claim_rows(experiment, results):
    """``(claim, measured value as text, verdict)`` for each claim of ``experiment`` on ``results``."""
    return [(claim, _format(lookup(results, claim.key, default=None)), verdict(claim, results))
            for claim in experiment.claims]


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
    _make_folder(path.parent)
    mode = "wb" if isinstance(data, bytes) else "w"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-partial-{os.getpid()}-", dir=path.parent)
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600 whatever the umask
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
