"""The benchmark registry behind ``refimpl bench`` and the one timing helper every benchmark uses.

A topic registers its benchmarks in ``refimpl/<topic>/bench.py``::

    @register_bench("rd")
    def bench_rd(quick):
        timing = time_call(step, repeat=5, min_seconds=1.0)     # buffers allocated before, outside
        rows = [bench_row("4096² Gray-Scott", "numba", timing, ours=True, threads=2, dtype="float64",
                          work=8 * 4096**2, work_unit="cell-steps"), ...]
        return {"rows": rows, "notes": {...}}

Every benchmark returns the same row schema (:data:`ROW_KEYS`, see :func:`bench_row`): one row per
implementation and configuration timed, ours (``ours=True``) and the references (NumPy, torch, py-pde,
CuPy) alike, all measured in the same run. The harness alone computes ratios, in one direction only
(:func:`add_speedups`): ``speedup_vs_<reference> = time_reference / time_ours`` for every pair of rows with
the same ``case``, ``dtype`` and ``threads``; > 1 means ours is faster. Speed is shown here, never asserted
in unit tests. ``refimpl bench NAME`` prints the rows as a table and writes them, with the machine's
versions, to ``benchmarks/NAME.json``.
"""

import importlib
import re
import statistics
import time

from refimpl.core.validate import check_unregistered
from refimpl.experiments import discover

_benches = {}


def register_bench(name):
    """Decorator registering ``function(quick: bool) -> dict`` as benchmark ``name``.

    A second, different function under a registered name raises ``ValueError`` (registering the same
    function again, as a module reload does, is allowed).
    """

    def decorate(function):
        if name in _benches:
            check_unregistered("benchmark", name, _benches[name], function)
        _benches[name] = function
        return function

    return decorate


def benches():
    """Every registered benchmark by name, after importing each topic's ``bench`` module."""
    discover("bench")
    return dict(sorted(_benches.items()))


def time_call(function, *, repeat=5, warmup=1, min_seconds=0.0):
    """Time ``function()``: the first call apart (it includes numba compilation), then ``repeat`` calls.

    Each timed sample repeats the call until ``min_seconds`` have passed, so short calls are measured
    over many repetitions. Returns seconds per call: ``first`` (compile + run), ``best``, ``median``.
    """
    start = time.perf_counter()
    function()
    first = time.perf_counter() - start
    for _ in range(warmup - 1):
        function()
    samples = []
    for _ in range(repeat):
        calls, start = 0, time.perf_counter()
        while True:
            function()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        samples.append(elapsed / calls)
    return {"first": first, "best": min(samples), "median": statistics.median(samples)}


ROW_KEYS = ("case", "implementation", "ours", "threads", "dtype", "seconds", "median_seconds", "first_call_seconds")


def bench_row(case, implementation, timing, *, ours, threads, dtype, work=None, work_unit=None, **extra):
    """One row of the benchmark schema.

    Parameters
    ----------
    case : str, the configuration timed (sizes, what one call does); rows of one case are compared
    implementation : str, e.g. ``"numba"``, ``"numpy"``, ``"torch"``, ``"py-pde numba"``
    timing : dict from :func:`time_call` (seconds per call: ``best``, ``median``, ``first``)
    ours : bool, True for refimpl's implementations, False for references
    threads : int, threads the implementation ran on (BLAS threads for NumPy)
    dtype : str, e.g. ``"float64"``
    work, work_unit : optional, units of work per call (``8 * 4096**2``, ``"cell-steps"``); gives ``throughput``
    extra : further plain numbers or strings describing the row (``roofline_fraction``, ``max_rel_diff``)
    """
    row = {"case": str(case), "implementation": str(implementation), "ours": bool(ours), "threads": int(threads),
           "dtype": str(dtype), "seconds": float(timing["best"]), "median_seconds": float(timing["median"]),
           "first_call_seconds": float(timing["first"])}
    if work is not None:
        row.update(work=float(work), work_unit=str(work_unit), throughput=float(work) / row["seconds"])
    row.update(extra)
    return row


def add_speedups(rows):
    """Add ``speedup_vs_<reference> = seconds_reference / seconds_ours`` to each of our rows, in place.

    A reference is any row with ``ours`` false and the same ``case``, ``dtype`` and ``threads``: ratios
    are only taken at equal thread counts and from timings of one run. Raises ``ValueError`` if a row
    lacks a key of :data:`ROW_KEYS`. Returns ``rows``.
    """
    for index, row in enumerate(rows):
        missing = [key for key in ROW_KEYS if key not in row]
        if missing:
            raise ValueError(f"benchmark row {index} lacks {missing}; every row needs {list(ROW_KEYS)} (bench_row)")
    for row in rows:
        if not row["ours"]:
            continue
        for reference in rows:
            if (not reference["ours"] and reference["case"] == row["case"] and reference["dtype"] == row["dtype"]
                    and reference["threads"] == row["threads"]):
                row[f"speedup_vs_{_slug(reference['implementation'])}"] = reference["seconds"] / row["seconds"]
    return rows


def _slug(name):
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def torch_available():
    """True when torch imports (benchmarks compare against it only then); a broken install counts as absent."""
    try:
        importlib.import_module("torch")
    except ImportError:
        return False
    return True


def format_table(rows):
    """Render a list of dicts as a plain-text table: one column per key of any row, in order of first
    appearance (a reference row has no ``speedup_vs_*`` keys; the rows after it do), blank where absent."""
    if not rows:
        return "(no rows)"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)
