"""The benchmark registry behind ``refimpl bench`` and the one timing helper every benchmark uses.

A topic registers its benchmarks in ``refimpl/<topic>/bench.py``::

    @register_bench("rd")
    def bench_rd(quick):
        rows = [...]                        # list of dicts, one per measured configuration
        return {"rows": rows, "ratios": {...}}

Speed is shown here, measured in one run against the references named by the issue (NumPy, torch,
py-pde), never asserted in unit tests. ``refimpl bench NAME`` prints the rows as a table and writes the
returned dict, with the machine's versions, to ``benchmarks/NAME.json``.
"""

import importlib
import statistics
import time

from refimpl.experiments import discover

_benches = {}


def register_bench(name):
    """Decorator registering ``function(quick: bool) -> dict`` as benchmark ``name``."""

    def decorate(function):
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


def torch_available():
    """True when torch imports (benchmarks compare against it only then); a broken install counts as absent."""
    try:
        importlib.import_module("torch")
    except ImportError:
        return False
    return True


def format_table(rows):
    """Render a list of dicts with the same keys as a plain-text table."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
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
